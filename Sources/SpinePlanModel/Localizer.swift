import Dispatch
import Foundation
import Logging
import SpinePlanGeometry

/// The spine localizer: a V-Net on oneDNN that segments a sagittal localizer stack into named levels.
///
/// Loading validates the weights and builds every primitive once; all oneDNN work then runs on one dedicated
/// inference thread, with pre- and post-processing as Dispatch stages around it.
public final class Localizer: Sendable {
    /// `name@version` from the sidecar.
    public let modelName: String
    /// The precision actually in use (never `.auto`).
    public let path: Precision
    public let sidecar: ModelSidecar
    public let architecture: VNetArchitecture
    /// Input size (D, H, W) the primitives were built for.
    public let inputSize: SIMD3<Int>
    /// Milliseconds from the start of `load` to ready: file reading, validation, primitive creation, one warm-up pass.
    public let loadMilliseconds: Double
    let preprocessor: Preprocessor
    let postprocessor: Postprocessor
    /// Owns the compiled network; every run goes through its one queue, so runs are serialised in arrival order.
    private let thread: InferenceThread<CompiledVNet>
    private let logger: Logger

    private init(weights: ModelWeights, precision: Precision, inputSize: SIMD3<Int>, steps: Int,
                 thread: InferenceThread<CompiledVNet>, loadMilliseconds: Double, logger: Logger) {
        modelName = weights.modelName
        path = precision
        sidecar = weights.sidecar
        architecture = weights.architecture
        self.inputSize = inputSize
        primitiveCount = steps
        self.loadMilliseconds = loadMilliseconds
        let shape = weights.sidecar.inputGrid.shapeDHW
        preprocessor = Preprocessor(modelGrid: ModelGrid(shape: SIMD3(shape[2], shape[1], shape[0]),
                                                         inPlaneSpacing: weights.sidecar.inputGrid.inPlaneSpacingMillimetres))
        postprocessor = Postprocessor(classNames: weights.sidecar.classes)
        self.thread = thread
        self.logger = logger
    }

    /// oneDNN primitives built at load.
    let primitiveCount: Int

    deinit {
        thread.submit { network in
            network?.destroy()
            network = nil
        }
        thread.stop()
    }

    /// The weights shipped inside the package (`Sources/SpinePlanModel/Weights`), if present.
    public static var bundledWeightsPath: String? {
        Bundle.module.path(forResource: "spineplan-vnet", ofType: "safetensors", inDirectory: "Weights")
    }

    /// The precision `.auto` resolves to on this CPU.
    public static var preferredPrecision: Precision { DNNL.hasNativeBF16 ? .bf16 : .f32 }

    /// oneDNN's effective instruction set on this CPU (for logs and benchmarks).
    public static var instructionSet: String { DNNL.isaName }

    /// Loads and validates `weights` and its sidecar and builds the network for the sidecar's input grid.
    public static func load(weights: String, precision: Precision = .auto, logger: Logger) async throws(ModelError) -> Localizer {
        try await load(weights: weights, precision: precision, inputSizeDHW: nil, logger: logger)
    }

    /// As `load(weights:precision:logger:)`, for an input size other than the sidecar's (parity fixtures).
    @_spi(Diagnostics) public static func load(weights path: String, precision: Precision, inputSizeDHW: SIMD3<Int>?,
                             logger: Logger) async throws(ModelError) -> Localizer {
        let start = DispatchTime.now().uptimeNanoseconds
        let thread = InferenceThread<CompiledVNet>()
        let built: (weights: ModelWeights, precision: Precision, size: SIMD3<Int>, steps: Int)
        do {
            built = try await thread.run { (network: inout CompiledVNet?) throws(ModelError) in
                let weights = try ModelWeights.load(weights: path)
                let chosen: Precision
                switch precision {
                case .auto: chosen = preferredPrecision
                case .bf16:
                    guard DNNL.hasNativeBF16 else {
                        throw ModelError(.unsupportedPrecision, "bf16 was requested but this CPU (\(DNNL.isaName)) has neither AVX512-BF16 nor AMX")
                    }
                    chosen = .bf16
                case .f32: chosen = .f32
                }
                let grid = weights.sidecar.inputGrid.shapeDHW
                let size = inputSizeDHW ?? SIMD3(grid[0], grid[1], grid[2])
                let total = weights.architecture.totalStride
                guard size.x > 0, size.y > 0, size.z > 0, size % total == .zero else {
                    throw ModelError(.badInput, "input size \(size) is not a multiple of the network's total stride \(total)")
                }
                let compiled = try CompiledVNet(weights: weights, precision: chosen, size: size)
                network = compiled
                return (weights, compiled.precision, compiled.size, compiled.steps.count)
            }
        } catch {
            thread.stop()
            throw error
        }
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let localizer = Localizer(weights: built.weights, precision: built.precision, inputSize: built.size, steps: built.steps,
                                  thread: thread, loadMilliseconds: milliseconds, logger: logger)
        logger.info("localizer model loaded", metadata: [
            "model": "\(localizer.modelName)", "precision": "\(localizer.path.rawValue)", "isa": "\(DNNL.isaName)",
            "primitives": "\(built.steps)", "load_ms": "\(Int(milliseconds.rounded()))",
        ])
        if ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil {
            // libgomp reads this only at process start, so it cannot be set from here.
            logger.notice("OMP_WAIT_POLICY is unset: OpenMP threads spin at barriers, which is slow on a shared or busy host; set OMP_WAIT_POLICY=passive")
        }
        return localizer
    }

    /// Segments one sagittal localizer stack, in acquisition order. Slices that are not one parallel stack throw
    /// `.badInput`.
    ///
    /// The whole run is one job on the inference thread, so runs are serialised in arrival order: preprocessing
    /// spreads over both cores, and nothing may compete with the network for them.
    public func segment(sagittal slices: [LocalizerImage]) async throws(ModelError) -> LocalizerResult {
        let preprocessor = preprocessor
        let postprocessor = postprocessor
        let inputSize = inputSize
        let result = try await thread.run { (network: inout CompiledVNet?) throws(ModelError) in
            let network = try Self.loaded(network)
            let t0 = DispatchTime.now().uptimeNanoseconds
            let prepared = try preprocessor.prepare(slices)
            guard prepared.grid.size == SIMD3(inputSize.z, inputSize.y, inputSize.x) else {
                throw ModelError(.badInput, "the model grid \(prepared.grid.size) does not match the network input \(inputSize)")
            }
            let t1 = DispatchTime.now().uptimeNanoseconds
            let probabilities = try network.forward(prepared.values)
            let t2 = DispatchTime.now().uptimeNanoseconds
            let segmentation = postprocessor.segmentation(probabilities: probabilities, grid: prepared.grid)
            let t3 = DispatchTime.now().uptimeNanoseconds
            let timings = LocalizerResult.Timings(preprocessMilliseconds: Double(t1 - t0) / 1e6,
                                                  inferenceMilliseconds: Double(t2 - t1) / 1e6,
                                                  postprocessMilliseconds: Double(t3 - t2) / 1e6)
            return LocalizerResult(segmentation: segmentation, grid: prepared.grid, timings: timings)
        }
        logger.debug("localizer run", metadata: [
            "preprocess_ms": "\(result.timings.preprocessMilliseconds)", "inference_ms": "\(result.timings.inferenceMilliseconds)",
            "postprocess_ms": "\(result.timings.postprocessMilliseconds)",
        ])
        return result
    }

    private static func loaded(_ network: CompiledVNet?) throws(ModelError) -> CompiledVNet {
        guard let network else { throw ModelError(.engineFailure, "the network has been released") }
        return network
    }

    /// The network's outputs in PyTorch's layout, for parity checks.
    @_spi(Diagnostics) public struct Output: Sendable {
        /// `[classes, D, H, W]`.
        public var probabilities: [Float]
        /// `[classes, D, H, W]`.
        public var logits: [Float]
    }

    /// Runs the network alone on the inference thread, as `segment` does: softmax probabilities channels-last,
    /// `[D, H, W, classes]`, for a C-order `[D, H, W]` input of `inputSize`.
    @_spi(Diagnostics) public func forward(_ values: [Float]) async throws(ModelError) -> [Float] {
        try checkInput(values)
        return try await thread.run { (network: inout CompiledVNet?) throws(ModelError) in try Self.loaded(network).forward(values) }
    }

    /// Runs the network and returns logits and probabilities reordered to `[classes, D, H, W]`.
    @_spi(Diagnostics) public func forwardChannelsFirst(_ values: [Float]) async throws(ModelError) -> Output {
        try checkInput(values)
        let result = try await thread.run { (network: inout CompiledVNet?) throws(ModelError) in
            try Self.loaded(network).forwardChannelsFirst(values)
        }
        return Output(probabilities: result.probabilities, logits: result.logits)
    }

    private func checkInput(_ values: [Float]) throws(ModelError) {
        guard values.count == inputSize.x * inputSize.y * inputSize.z else {
            throw ModelError(.badInput, "network input has \(values.count) values, expected \(inputSize.x * inputSize.y * inputSize.z)")
        }
    }

    /// One profiled forward pass: per primitive name, implementation, wall ms and convolution FLOPs.
    @_spi(Diagnostics) public func profile(_ values: [Float]) async throws(ModelError) -> [(name: String, implementation: String, milliseconds: Double, flops: Double)] {
        return try await thread.run { (network: inout CompiledVNet?) throws(ModelError) in
            try Self.loaded(network).profile(values).map { ($0.step.name, $0.step.implementation, $0.milliseconds, $0.step.flops) }
        }
    }
}
