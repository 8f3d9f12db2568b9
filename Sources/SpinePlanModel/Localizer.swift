import Dispatch
import Foundation
import Logging
import SpinePlanDICOM
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
    private let thread: InferenceThread
    private let network: CompiledVNet
    private let logger: Logger
    private let gate = PipelineGate()

    private init(weights: ModelWeights, network: CompiledVNet, thread: InferenceThread, loadMilliseconds: Double, logger: Logger) {
        modelName = weights.modelName
        path = network.precision
        sidecar = weights.sidecar
        architecture = weights.architecture
        inputSize = network.size
        self.loadMilliseconds = loadMilliseconds
        let shape = weights.sidecar.inputGrid.shapeDHW
        preprocessor = Preprocessor(modelGrid: ModelGrid(shape: SIMD3(shape[2], shape[1], shape[0]),
                                                         inPlaneSpacing: weights.sidecar.inputGrid.inPlaneSpacingMillimetres))
        postprocessor = Postprocessor(classNames: weights.sidecar.classes)
        self.network = network
        self.thread = thread
        self.logger = logger
    }

    deinit {
        let network = network
        thread.submit { network.destroy() }
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
        let thread = InferenceThread()
        let built: (ModelWeights, CompiledVNet)
        do {
            built = try await thread.run { () throws(ModelError) -> (ModelWeights, CompiledVNet) in
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
                return (weights, try CompiledVNet(weights: weights, precision: chosen, size: size))
            }
        } catch {
            thread.stop()
            throw error
        }
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let localizer = Localizer(weights: built.0, network: built.1, thread: thread, loadMilliseconds: milliseconds, logger: logger)
        logger.info("localizer model loaded", metadata: [
            "model": "\(localizer.modelName)", "precision": "\(localizer.path.rawValue)", "isa": "\(DNNL.isaName)",
            "primitives": "\(built.1.steps.count)", "load_ms": "\(Int(milliseconds.rounded()))",
        ])
        if ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil {
            // libgomp reads this only at process start, so it cannot be set from here.
            logger.notice("OMP_WAIT_POLICY is unset: OpenMP threads spin at barriers, which is slow on a shared or busy host; set OMP_WAIT_POLICY=passive")
        }
        return localizer
    }

    /// Segments one sagittal localizer stack. Slices that are not one parallel stack throw `.badInput`.
    ///
    /// Runs are serialised: preprocessing uses both cores, and nothing may compete with the network for them.
    public func segment(sagittal slices: [Slice]) async throws(ModelError) -> LocalizerResult {
        await gate.enter()
        let result: Result<LocalizerResult, ModelError>
        do { result = .success(try await run(slices)) } catch { result = .failure(error) }
        await gate.leave()
        return try result.get()
    }

    private func run(_ slices: [Slice]) async throws(ModelError) -> LocalizerResult {
        let preprocessor = preprocessor
        let t0 = DispatchTime.now().uptimeNanoseconds
        let prepared = try await Self.onDispatch { () throws(ModelError) in try preprocessor.prepare(slices) }
        guard prepared.grid.size == SIMD3(inputSize.z, inputSize.y, inputSize.x) else {
            throw ModelError(.badInput, "the model grid \(prepared.grid.size) does not match the network input \(inputSize)")
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let probabilities = try await forward(prepared.values)
        let t2 = DispatchTime.now().uptimeNanoseconds
        let postprocessor = postprocessor
        let segmentation = try await Self.onDispatch { () throws(ModelError) in
            postprocessor.segmentation(probabilities: probabilities, grid: prepared.grid)
        }
        let t3 = DispatchTime.now().uptimeNanoseconds
        let timings = LocalizerResult.Timings(preprocessMilliseconds: Double(t1 - t0) / 1e6, inferenceMilliseconds: Double(t2 - t1) / 1e6,
                                              postprocessMilliseconds: Double(t3 - t2) / 1e6)
        logger.debug("localizer run", metadata: [
            "preprocess_ms": "\(timings.preprocessMilliseconds)", "inference_ms": "\(timings.inferenceMilliseconds)",
            "postprocess_ms": "\(timings.postprocessMilliseconds)",
        ])
        return LocalizerResult(segmentation: segmentation, grid: prepared.grid, timings: timings)
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
        let network = network
        return try await thread.run { () throws(ModelError) in try network.forward(values) }
    }

    /// Runs the network and returns logits and probabilities reordered to `[classes, D, H, W]`.
    @_spi(Diagnostics) public func forwardChannelsFirst(_ values: [Float]) async throws(ModelError) -> Output {
        try checkInput(values)
        let network = network
        let result = try await thread.run { () throws(ModelError) in try network.forwardChannelsFirst(values) }
        return Output(probabilities: result.probabilities, logits: result.logits)
    }

    private func checkInput(_ values: [Float]) throws(ModelError) {
        guard values.count == inputSize.x * inputSize.y * inputSize.z else {
            throw ModelError(.badInput, "network input has \(values.count) values, expected \(inputSize.x * inputSize.y * inputSize.z)")
        }
    }

    /// One profiled forward pass: per primitive name, implementation, wall ms and convolution FLOPs.
    @_spi(Diagnostics) public func profile(_ values: [Float]) async throws(ModelError) -> [(name: String, implementation: String, milliseconds: Double, flops: Double)] {
        let network = network
        return try await thread.run { () throws(ModelError) in
            try network.profile(values).map { ($0.step.name, $0.step.implementation, $0.milliseconds, $0.step.flops) }
        }
    }

    private static func onDispatch<T: Sendable>(_ body: @escaping @Sendable () throws(ModelError) -> T) async throws(ModelError) -> T {
        let result: Result<T, ModelError> = await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async { continuation.resume(returning: Result(catching: body)) }
        }
        return try result.get()
    }
}
