import Foundation
import Testing
@_spi(Diagnostics) import SpinePlanModel

/// The oneDNN network against PyTorch on the committed fixture.
@Suite(.enabled(if: ModelFiles.haveWeights, "no weights in Sources/SpinePlanModel/Weights"))
struct NetworkParityTests {
    @Test("f32 logits match PyTorch to 1e-4 relative error (max|a−b| / max|b|)")
    func f32Parity() async throws {
        let fixture = try ParityFixture.load(from: ModelFiles.fixtures)
        let localizer = try await Localizer.load(weights: ModelFiles.weights, precision: .f32, inputSizeDHW: fixture.size,
                                                 logger: ModelFiles.logger)
        #expect(localizer.path == .f32)
        let output = try await localizer.forwardChannelsFirst(fixture.input)
        let logits = output.logits
        let error = ParityFixture.relativeError(logits, reference: fixture.logits)
        #expect(error <= 1e-4, "relative logit error \(error)")
        let probabilityError = ParityFixture.relativeError(output.probabilities, reference: fixture.probabilities)
        #expect(probabilityError <= 1e-4, "relative probability error \(probabilityError)")
        #expect(fixture.argmaxAgreement(output.probabilities, fixture.probabilities) >= 0.999)
        // The production path's channels-last probabilities are the same numbers in the other layout.
        let channelsLast = try await localizer.forward(fixture.input)
        let voxels = fixture.voxels
        var worst: Float = 0
        for v in stride(from: 0, to: voxels, by: 7) {
            for c in 0..<fixture.classes { worst = max(worst, abs(channelsLast[v * fixture.classes + c] - output.probabilities[c * voxels + v])) }
        }
        #expect(worst == 0)
    }

    // CI machines differ: where the CPU has AVX512-BF16 or AMX the bf16 path must agree with PyTorch; where it has
    // neither, asking for bf16 must fail with its own code rather than run on reference kernels. Never a skip.
    @Test("bf16 argmax agrees with PyTorch on at least 99.5 % of voxels, or bf16 is refused where the CPU lacks it")
    func bf16Agreement() async throws {
        let fixture = try ParityFixture.load(from: ModelFiles.fixtures)
        guard Localizer.preferredPrecision == .bf16 else {
            let error = await #expect(throws: ModelError.self) {
                _ = try await Localizer.load(weights: ModelFiles.weights, precision: .bf16, inputSizeDHW: fixture.size,
                                             logger: ModelFiles.logger)
            }
            #expect(error?.code == .unsupportedPrecision, "\(String(describing: error))")
            return
        }
        let localizer = try await Localizer.load(weights: ModelFiles.weights, precision: .bf16, inputSizeDHW: fixture.size,
                                                 logger: ModelFiles.logger)
        #expect(localizer.path == .bf16)
        let output = try await localizer.forwardChannelsFirst(fixture.input)
        let agreement = fixture.argmaxAgreement(output.probabilities, fixture.probabilities)
        #expect(agreement >= 0.995, "argmax agreement \(agreement)")
        // bf16 has an 8-bit mantissa: logits should still be close in scale, which catches layout bugs that argmax misses.
        let error = ParityFixture.relativeError(output.logits, reference: fixture.logits)
        #expect(error < 0.05, "relative logit error \(error)")
    }

    @Test("auto precision picks bf16 exactly when the CPU supports it")
    func autoPrecision() async throws {
        let fixture = try ParityFixture.load(from: ModelFiles.fixtures)
        let localizer = try await Localizer.load(weights: ModelFiles.weights, precision: .auto, inputSizeDHW: fixture.size,
                                                 logger: ModelFiles.logger)
        #expect(localizer.path == Localizer.preferredPrecision)
        #expect(localizer.modelName.hasPrefix("\(localizer.sidecar.name)@"))
    }

    @Test("an input size that is not a multiple of the total stride is refused")
    func badInputSize() async throws {
        let error = await #expect(throws: ModelError.self) {
            _ = try await Localizer.load(weights: ModelFiles.weights, precision: .f32, inputSizeDHW: SIMD3(3, 30, 30),
                                         logger: ModelFiles.logger)
        }
        #expect(error?.code == .badInput)
    }
}

extension NetworkParityTests {
    @Test("the compiled convolutions' FLOPs equal the count from the architecture, layer by layer")
    func flops() async throws {
        let fixture = try ParityFixture.load(from: ModelFiles.fixtures)
        let localizer = try await Localizer.load(weights: ModelFiles.weights, precision: .f32, inputSizeDHW: fixture.size,
                                                 logger: ModelFiles.logger)
        let expected = localizer.architecture.layerFlops(depth: fixture.size.x, height: fixture.size.y, width: fixture.size.z)
        let steps = try await localizer.profile(fixture.input).filter { $0.flops > 0 }
        // A layer runs as one convolution step named after it, or as several named `<layer>.<part>`
        // (`up0.matmul`, `dec0.block.0.up` + `dec0.block.0.skip`), in architecture order.
        var remaining = steps[...]
        for layer in expected {
            var parts = 0
            var flops = 0.0
            while let step = remaining.first, step.name == layer.name || step.name.hasPrefix(layer.name + ".") {
                flops += step.flops
                parts += 1
                remaining = remaining.dropFirst()
            }
            #expect(parts >= 1, "no convolution step for \(layer.name)")
            #expect(abs(flops - layer.flops) <= 1e-9 * layer.flops, "\(layer.name): \(flops) vs \(layer.flops)")
        }
        #expect(remaining.isEmpty, "convolution steps that belong to no layer: \(remaining.map(\.name))")
    }
}

extension NetworkParityTests {
    // Every CI machine has at least AVX2, for which oneDNN 2.6.3 has JIT kernels of every primitive the network uses.
    @Test("no primitive of the production-size network falls back to oneDNN's reference kernels",
          arguments: [Precision.bf16, .f32])
    func noReferenceKernels(precision: Precision) async throws {
        // bf16 on a CPU without AVX512-BF16 or AMX must be refused at load, not run on reference kernels.
        if precision == .bf16 && Localizer.preferredPrecision != .bf16 {
            await #expect(throws: ModelError.self) { _ = try await Localizer.load(weights: ModelFiles.weights, precision: .bf16, logger: ModelFiles.logger) }
            return
        }
        // A PReLU post-op or a strided channel slice, for example, silently selects `ref:any` (30–1000× slower).
        let localizer = try await Localizer.load(weights: ModelFiles.weights, precision: precision, logger: ModelFiles.logger)
        let size = localizer.inputSize
        let steps = try await localizer.profile([Float](repeating: 0.5, count: size.x * size.y * size.z))
        let reference = steps.filter { $0.implementation.hasPrefix("ref") || $0.implementation == "?" }
        #expect(reference.isEmpty, "\(reference.map { "\($0.name): \($0.implementation)" })")
        #expect(steps.count > 0)
    }
}
