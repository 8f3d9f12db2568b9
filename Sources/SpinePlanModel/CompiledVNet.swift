import CDNNL
import Foundation

/// The V-Net as a list of oneDNN primitives built once for one input shape, with all memory allocated up front.
///
/// Confined to the inference thread, which owns it: every oneDNN call, including `destroy()`, must come from that
/// one thread, because oneDNN's OpenMP runtime keeps per-thread state. It is not Sendable, and never sent.
final class CompiledVNet {
    /// One primitive execution.
    struct Step {
        var name: String
        var primitive: dnnl_primitive_t
        var args: [dnnl_exec_arg_t]
        /// Convolution FLOPs (0 for data movement).
        var flops: Double
        var implementation: String
    }

    /// An activation tensor: dims `[1, C, D, H, W]`.
    struct Tensor {
        var md: dnnl_memory_desc_t
        var memory: dnnl_memory_t
        var channels: Int
        var size: SIMD3<Int>
    }

    let precision: Precision
    /// Input size (D, H, W).
    let size: SIMD3<Int>
    let classCount: Int
    private var engine: dnnl_engine_t?
    private var stream: dnnl_stream_t?
    private var memories: [dnnl_memory_t] = []
    /// Buffers of dead tensors by byte size, reused while building (see `release`).
    private var released: [Int: [UnsafeMutableRawPointer]] = [:]
    private(set) var steps: [Step] = []
    /// Reorders to `[classes, D, H, W]`, run only for parity checks.
    private var channelsFirstSteps: [Step] = []
    private var input: dnnl_memory_t?
    private var probabilities: dnnl_memory_t?
    /// The probabilities' own buffer, used outside `forward` (warm-up, profiling, parity). Allocated here rather
    /// than by oneDNN, because pointing a oneDNN-allocated memory at another buffer frees its own.
    private var probabilitiesStorage: UnsafeMutableRawPointer?
    private var probabilitiesChannelsFirst: dnnl_memory_t?
    private var logitsChannelsFirst: dnnl_memory_t?
    private var activationType: dnnl_data_type_t { precision == .bf16 ? dnnl_bf16 : dnnl_f32 }
    /// The inference thread: every later call is checked against it in debug builds.
    private let owner = pthread_self()
    private func assertOwner() { assert(pthread_equal(owner, pthread_self()) != 0, "oneDNN used off the inference thread") }

    /// Builds every primitive for inputs of `size` (D, H, W); `precision` must be `.bf16` or `.f32`.
    init(weights: ModelWeights, precision: Precision, size: SIMD3<Int>) throws(ModelError) {
        precondition(precision != .auto)
        self.precision = precision
        self.size = size
        self.classCount = weights.architecture.classCount
        do {
            var engine: dnnl_engine_t?
            try DNNL.check(dnnl_engine_create(&engine, dnnl_cpu, 0), "create the CPU engine")
            self.engine = engine
            var stream: dnnl_stream_t?
            try DNNL.check(dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)), "create a stream")
            self.stream = stream
            try build(weights)
            // One pass on zeros at load: it faults in every buffer and oneDNN's scratchpad, so the first real
            // localizer does not pay for that (measured ~100 ms) and load errors surface before the daemon is ready.
            _ = try forward([Float](repeating: 0, count: voxelCount))
        } catch {
            destroy()
            throw error
        }
    }

    deinit {
        // Destruction must happen on the inference thread; `Localizer` calls `destroy()` there before releasing.
        assert(engine == nil, "CompiledVNet released without destroy()")
    }

    /// Releases every oneDNN object. Idempotent.
    func destroy() {
        assertOwner()
        for step in steps { dnnl_primitive_destroy(step.primitive) }
        for step in channelsFirstSteps { dnnl_primitive_destroy(step.primitive) }
        steps = []
        channelsFirstSteps = []
        for memory in memories { dnnl_memory_destroy(memory) }
        memories = []
        probabilitiesStorage?.deallocate()
        probabilitiesStorage = nil
        if let stream { dnnl_stream_destroy(stream) }
        if let engine { dnnl_engine_destroy(engine) }
        stream = nil
        engine = nil
    }

    var voxelCount: Int { size.x * size.y * size.z }

    /// Runs the network on a C-order `[D, H, W]` input and returns the softmax probabilities channels-last,
    /// `[D, H, W, classes]`: the layout the network produces, so no reorder is spent on it.
    ///
    /// The softmax writes straight into the returned array (its memory object is pointed at the array's storage for
    /// the pass): copying 23 channels of f32 out afterwards cost about 1 ms.
    func forward(_ values: [Float]) throws(ModelError) -> [Float] {
        let count = classCount * voxelCount
        var failure: ModelError?
        let result = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            dnnl_memory_set_data_handle(probabilities!, buffer.baseAddress)
            defer { dnnl_memory_set_data_handle(probabilities!, probabilitiesStorage) }
            do throws(ModelError) { try run(values, steps) } catch { failure = error }
            initialized = failure == nil ? count : 0
        }
        if let failure { throw failure }
        return result
    }

    /// As `forward`, plus both outputs reordered to `[classes, D, H, W]` as PyTorch lays them out (parity checks).
    func forwardChannelsFirst(_ values: [Float]) throws(ModelError) -> (probabilities: [Float], logits: [Float]) {
        try run(values, steps + channelsFirstSteps)
        let count = classCount * voxelCount
        return (Self.read(probabilitiesChannelsFirst!, count: count), Self.read(logitsChannelsFirst!, count: count))
    }

    private func run(_ values: [Float], _ steps: [Step]) throws(ModelError) {
        assertOwner()
        precondition(values.count == voxelCount)
        values.withUnsafeBytes { source in
            dnnl_memory_get_data_handle_raw(input!).copyMemory(from: source.baseAddress!, byteCount: source.count)
        }
        for step in steps { try execute(step) }
        try DNNL.check(dnnl_stream_wait(stream), "wait for the forward pass")
    }

    /// Runs the network once, waiting after each primitive, and returns each step's wall time in ms.
    func profile(_ values: [Float]) throws(ModelError) -> [(step: Step, milliseconds: Double)] {
        assertOwner()
        values.withUnsafeBytes { source in
            dnnl_memory_get_data_handle_raw(input!).copyMemory(from: source.baseAddress!, byteCount: source.count)
        }
        var out: [(Step, Double)] = []
        for step in steps {
            let start = DispatchTime.now().uptimeNanoseconds
            try execute(step)
            try DNNL.check(dnnl_stream_wait(stream), "wait for \(step.name)")
            out.append((step, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))
        }
        return out
    }

    private func execute(_ step: Step) throws(ModelError) {
        var args = step.args
        try DNNL.check(dnnl_primitive_execute(step.primitive, stream, Int32(args.count), &args), "run \(step.name)")
    }

    private static func read(_ memory: dnnl_memory_t, count: Int) -> [Float] {
        let base = dnnl_memory_get_data_handle_raw(memory).assumingMemoryBound(to: Float.self)
        return Array(UnsafeBufferPointer(start: base, count: count))
    }

    // MARK: - Graph

    private func build(_ weights: ModelWeights) throws(ModelError) {
        let arch = weights.architecture
        var sizes = [size]
        for level in 1..<arch.levels where arch.levels > 1 { sizes.append(sizes[level - 1] / arch.strides[level]) }
        let k = arch.kernels

        // Input: a [1, 1, D, H, W] f32 tensor; with one channel, ncdhw and ndhwc are the same bytes.
        let x = try tensor(channels: 1, size: size, type: dnnl_f32)
        input = x.memory
        let c = arch.channels
        var h = try tensor(channels: c[0], size: size)
        // The first convolution runs in f32 in both paths and its output is converted once (0.16 ms): in bf16 it
        // would round the input image to bf16, and oneDNN's bf16 kernels for one input channel were slow (16 ms
        // with jit_bf16 in an early build; brgemm 0.52 ms against 0.27–0.42 ms for the f32 direct kernel now).
        let first = precision == .bf16 ? try tensor(channels: c[0], size: size, type: dnnl_f32) : h
        try convolution("in", x, into: first, weights: weights["in.conv.weight"], bias: weights["in.conv.bias"],
                        kernel: k[0], stride: SIMD3(1, 1, 1), padding: k[0] / 2, prelu: weights["in.act.weight"])
        if precision == .bf16 {
            try reorder(first, into: h, name: "in→bf16")
            release(first)
        }
        var skips: [Tensor] = []
        var previous = h
        for level in 0..<arch.levels {
            if level >= 1 {
                h = try tensor(channels: c[level], size: sizes[level])
                try convolution("down\(level)", previous, into: h, weights: weights["down\(level).conv.weight"],
                                bias: weights["down\(level).conv.bias"], kernel: arch.strides[level], stride: arch.strides[level],
                                padding: SIMD3(0, 0, 0), prelu: weights["down\(level).act.weight"])
            }
            previous = try residualBlock("enc\(level)", source: h, residual: h, count: arch.encoderConvolutions[level],
                                         kernel: k[level], weights: weights)
            skips.append(previous)
        }
        for level in stride(from: arch.levels - 2, through: 0, by: -1) {
            let u = try upConvolution(level, previous, channels: c[level], size: sizes[level], stride: arch.strides[level + 1],
                                      weights: weights)
            previous = try residualBlock("dec\(level)", source: u, skip: skips[level], residual: u,
                                         count: arch.decoderConvolutions[level], kernel: k[level], weights: weights)
        }
        let logitsNDHWC = try tensor(channels: arch.classCount, size: size, type: dnnl_f32)
        try convolution("head", previous, into: logitsNDHWC, weights: weights["head.conv.weight"], bias: weights["head.conv.bias"],
                        kernel: SIMD3(1, 1, 1), stride: SIMD3(1, 1, 1), padding: SIMD3(0, 0, 0))
        var probabilitiesMD = try DNNL.memoryDesc([1, arch.classCount, size.x, size.y, size.z], dnnl_f32, dnnl_ndhwc)
        probabilitiesStorage = .allocate(byteCount: dnnl_memory_desc_get_size(&probabilitiesMD), alignment: 64)
        let probsNDHWC = Tensor(md: probabilitiesMD, memory: try allocate(probabilitiesMD, handle: probabilitiesStorage),
                                channels: arch.classCount, size: size)
        try softmax(logitsNDHWC, into: probsNDHWC)
        probabilities = probsNDHWC.memory
        let mainSteps = steps.count
        let dims = [1, arch.classCount, size.x, size.y, size.z]
        let probsNC = try tensor(DNNL.memoryDesc(dims, dnnl_f32, dnnl_ncdhw), channels: arch.classCount, size: size)
        try reorder(probsNDHWC, into: probsNC, name: "probabilities→ncdhw")
        let logitsNC = try tensor(DNNL.memoryDesc(dims, dnnl_f32, dnnl_ncdhw), channels: arch.classCount, size: size)
        try reorder(logitsNDHWC, into: logitsNC, name: "logits→ncdhw")
        probabilitiesChannelsFirst = probsNC.memory
        logitsChannelsFirst = logitsNC.memory
        channelsFirstSteps = Array(steps[mainSteps...])
        steps.removeSubrange(mainSteps...)
    }

    /// `y = h; y = conv_i(y) (PReLU between); out = PReLU_out(y + residual)`. The last convolution accumulates into
    /// the residual's buffer (sum post-op), so the residual is overwritten; it is not needed afterwards.
    ///
    /// With a `skip`, the first convolution reads `concat(source, skip)` along channels. The concatenation is never
    /// built: that convolution runs as two, one per half of its input channels, the second accumulating into the
    /// first's output. A concat of 8-channel channels-last tensors moves 16-byte pieces and cost more than the
    /// convolution it fed (measured 1.4 ms against 1.6 ms at level 0).
    private func residualBlock(_ prefix: String, source: Tensor, skip: Tensor? = nil, residual: Tensor, count: Int,
                               kernel: SIMD3<Int>, weights: ModelWeights) throws(ModelError) -> Tensor {
        var y = source
        for i in 0..<count {
            let name = "\(prefix).block.\(i)"
            let w = weights["\(name).conv.weight"], b = weights["\(name).conv.bias"]
            let last = i == count - 1
            var target = residual
            var accumulate = last
            var addResidual: Tensor?
            if !last {
                target = try tensor(channels: residual.channels, size: residual.size)
            } else if y.memory == residual.memory {
                // The last convolution reads its own residual, so it cannot accumulate in place. Narrow layers add it
                // with a binary post-op (their direct JIT kernel supports one); wider ones accumulate into a copy.
                target = try tensor(channels: residual.channels, size: residual.size)
                if residual.channels < Self.narrowChannels {
                    addResidual = residual
                    accumulate = false
                } else {
                    try reorder(residual, into: target, name: "\(prefix).residual-copy")
                }
            }
            if i == 0, let skip {
                let (first, second) = Self.splitInputChannels(w, outputs: residual.channels, at: y.channels,
                                                              of: y.channels + skip.channels)
                try convolution("\(name).\(Self.upHalf)", y, into: target, weights: first, bias: b, kernel: kernel,
                                stride: SIMD3(1, 1, 1), padding: kernel / 2, sum: accumulate, residual: addResidual)
                try convolution("\(name).\(Self.skipHalf)", skip, into: target, weights: second, bias: nil, kernel: kernel,
                                stride: SIMD3(1, 1, 1), padding: kernel / 2, sum: true)
                release(skip)
            } else {
                try convolution(name, y, into: target, weights: w, bias: b, kernel: kernel, stride: SIMD3(1, 1, 1),
                                padding: kernel / 2, sum: accumulate, residual: addResidual)
            }
            // Dead from here: an intermediate output once the next convolution has read it, and a residual that was
            // added by a post-op (it is also this block's input, read by nothing later).
            if i > 0 { release(y) }
            if let addResidual { release(addResidual) }
            try prelu(target, slopes: weights[last ? "\(prefix).out_act.weight" : "\(name).act.weight"], name: "\(name).prelu")
            y = target
        }
        return y
    }

    /// Step-name suffixes of the two halves of a decoder block's first convolution.
    static let upHalf = "up", skipHalf = "skip"

    /// Splits PyTorch `[O, I, kd, kh, kw]` weights along I into `[O, 0..<at]` and `[O, at..<total]`.
    static func splitInputChannels(_ w: [Float], outputs: Int, at: Int, of total: Int) -> ([Float], [Float]) {
        let taps = w.count / (outputs * total)
        var first: [Float] = [], second: [Float] = []
        first.reserveCapacity(outputs * at * taps)
        second.reserveCapacity(outputs * (total - at) * taps)
        for o in 0..<outputs {
            let row = o * total * taps
            first += w[row..<(row + at * taps)]
            second += w[(row + at * taps)..<(row + total * taps)]
        }
        return (first, second)
    }

    /// Transposed convolution with kernel = stride = s, as a 1×1×1 convolution to `S·C` channels followed by a
    /// depth-to-space reorder. oneDNN 2.6's deconvolution is slow in f32 (measured 110 ms of 210 ms on AMX) and in
    /// bf16 without AMX (jit_bf16: 95 ms of a 420 ms pass on avx512_core_bf16), while 1×1×1 convolutions run on brgemm.
    /// Returns the `channels`-channel tensor of `size`; `source` is released (nothing reads it afterwards).
    private func upConvolution(_ level: Int, _ source: Tensor, channels cout: Int, size: SIMD3<Int>, stride s: SIMD3<Int>,
                               weights: ModelWeights) throws(ModelError) -> Tensor {
        let name = "up\(level)"
        let w = weights["\(name).conv.weight"], b = weights["\(name).conv.bias"], a = weights["\(name).act.weight"]
        let cin = source.channels
        let taps = s.x * s.y * s.z
        // Weight row (tap·C + o) of the 1×1×1 convolution is PyTorch's w[i, o, kd, kh, kw] for tap (kd, kh, kw).
        var matrix = [Float](repeating: 0, count: taps * cout * cin)
        for i in 0..<cin {
            for o in 0..<cout {
                for tap in 0..<taps { matrix[(tap * cout + o) * cin + i] = w[(i * cout + o) * taps + tap] }
            }
        }
        let wide = try tensor(channels: taps * cout, size: source.size)
        let repeatedBias = (0..<taps).flatMap { _ in b }, repeatedSlope = (0..<taps).flatMap { _ in a }
        try convolution("\(name).matmul", source, into: wide, weights: matrix, bias: repeatedBias, kernel: SIMD3(1, 1, 1),
                        stride: SIMD3(1, 1, 1), padding: SIMD3(0, 0, 0), prelu: repeatedSlope,
                        flops: 2 * Double(cin * cout * taps * source.size.x * source.size.y * source.size.z))
        release(source)
        let u = try tensor(channels: cout, size: size)
        // The same bytes seen as (d, kd, h, kh, w, kw, o): wide is [d][h][w][kd][kh][kw][o], u is [d kd][h kh][w kw][o].
        let (d, hh, ww) = (source.size.x, source.size.y, source.size.z)
        let dims = [d, s.x, hh, s.y, ww, s.z, cout]
        let wideStrides = [hh * ww * taps * cout, s.y * s.z * cout, ww * taps * cout, s.z * cout, taps * cout, cout, 1]
        let uW = ww * s.z, uH = hh * s.y
        let uStrides = [s.x * uH * uW * cout, uH * uW * cout, s.y * uW * cout, uW * cout, s.z * cout, cout, 1]
        let from = try alias(wide.memory, DNNL.memoryDesc(dims, activationType, strides: wideStrides))
        let to = try alias(u.memory, DNNL.memoryDesc(dims, activationType, strides: uStrides))
        try reorder(from, into: to, name: "\(name).shuffle")
        release(wide)
        return u
    }

    // MARK: - Primitives

    private func tensor(channels: Int, size: SIMD3<Int>, type: dnnl_data_type_t? = nil) throws(ModelError) -> Tensor {
        try tensor(DNNL.memoryDesc([1, channels, size.x, size.y, size.z], type ?? activationType, dnnl_ndhwc),
                   channels: channels, size: size)
    }

    /// A tensor in a released buffer of the same byte size if there is one (the most recently released, whose
    /// bytes are most likely still cached), else in a new buffer.
    private func tensor(_ md: dnnl_memory_desc_t, channels: Int, size: SIMD3<Int>) throws(ModelError) -> Tensor {
        var md = md
        let handle = released[dnnl_memory_desc_get_size(&md)]?.popLast() ?? DNNL.allocate
        return Tensor(md: md, memory: try allocate(md, handle: handle), channels: channels, size: size)
    }

    /// Marks `tensor`'s buffer free for tensors created later: no step added after this may touch `tensor`.
    /// Steps run in order on one stream, so a buffer is never in use by two tensors at once. Reusing buffers keeps
    /// a convolution's destination in cache instead of writing to memory untouched since the warm-up pass.
    private func release(_ tensor: Tensor) {
        var md = tensor.md
        released[dnnl_memory_desc_get_size(&md), default: []].append(dnnl_memory_get_data_handle_raw(tensor.memory))
    }

    private func allocate(_ md: dnnl_memory_desc_t, handle: UnsafeMutableRawPointer? = DNNL.allocate) throws(ModelError) -> dnnl_memory_t {
        var md = md
        var memory: dnnl_memory_t?
        try DNNL.check(dnnl_memory_create(&memory, &md, engine, handle), "allocate a tensor")
        memories.append(memory!)
        return memory!
    }

    /// A second view of the same buffer.
    private func alias(_ memory: dnnl_memory_t, _ md: dnnl_memory_desc_t) throws(ModelError) -> Tensor {
        Tensor(md: md, memory: try allocate(md, handle: dnnl_memory_get_data_handle_raw(memory)), channels: 0, size: .zero)
    }

    /// A user-layout f32 buffer converted once to the primitive's preferred layout and type.
    private func constant(_ values: [Float], dims: [Int], tag: dnnl_format_tag_t, as target: dnnl_memory_desc_t,
                          name: String) throws(ModelError) -> dnnl_memory_t {
        let userMD = try DNNL.memoryDesc(dims, dnnl_f32, tag)
        var user: dnnl_memory_t?
        var md = userMD
        try DNNL.check(dnnl_memory_create(&user, &md, engine, DNNL.allocate), "allocate \(name)")
        defer { dnnl_memory_destroy(user) }
        values.withUnsafeBytes { dnnl_memory_get_data_handle_raw(user!).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let result = try allocate(target)
        var pd: dnnl_primitive_desc_t?
        var src = userMD, dst = target
        try DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, nil), "plan the reorder of \(name)")
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        try DNNL.check(dnnl_primitive_create(&primitive, pd), "create the reorder of \(name)")
        defer { dnnl_primitive_destroy(primitive) }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: user), dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: result)]
        try DNNL.check(dnnl_primitive_execute(primitive, stream, 2, &args), "reorder \(name)")
        try DNNL.check(dnnl_stream_wait(stream), "wait for the reorder of \(name)")
        return result
    }

    /// A convolution step; `sum` accumulates into the destination, `residual` is added by a binary post-op (so the
    /// destination need not hold a copy of it first).
    private func convolution(_ name: String, _ source: Tensor, into destination: Tensor, weights: [Float], bias: [Float]?,
                             kernel: SIMD3<Int>, stride: SIMD3<Int>, padding: SIMD3<Int>, sum: Bool = false,
                             residual: Tensor? = nil, prelu: [Float]? = nil, flops: Double? = nil) throws(ModelError) {
        let cin = source.channels, cout = destination.channels
        let wDims = [cout, cin, kernel.x, kernel.y, kernel.z]
        var src = source.md, dst = destination.md
        var wAny = try DNNL.memoryDesc(wDims, source.md.data_type, dnnl_format_tag_any)
        var biasMD = bias == nil ? dnnl_memory_desc_t() : try DNNL.memoryDesc([cout], dnnl_f32, dnnl_a)
        let strides = [stride.x, stride.y, stride.z].map(Int64.init), pads = [padding.x, padding.y, padding.z].map(Int64.init)
        var attr: dnnl_primitive_attr_t?
        try DNNL.check(dnnl_primitive_attr_create(&attr), "create attributes for \(name)")
        defer { dnnl_primitive_attr_destroy(attr) }
        var postOps: dnnl_post_ops_t?
        try DNNL.check(dnnl_post_ops_create(&postOps), "create post-ops for \(name)")
        defer { dnnl_post_ops_destroy(postOps) }
        if sum { try DNNL.check(dnnl_post_ops_append_sum(postOps, 1), "add the residual sum to \(name)") }
        if var residualMD = residual?.md {
            try DNNL.check(dnnl_post_ops_append_binary(postOps, dnnl_binary_add, &residualMD), "add the residual to \(name)")
        }
        try DNNL.check(dnnl_primitive_attr_set_post_ops(attr, postOps), "attach post-ops to \(name)")

        var desc = dnnl_convolution_desc_t()
        try DNNL.check(dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct,
                                                          &src, &wAny, &biasMD, &dst, strides, pads, pads), "describe \(name)")
        let pd = try Self.plan(&desc, attr, engine, preferDirectJIT: cout < Self.narrowChannels, name: name)
        defer { dnnl_primitive_desc_destroy(pd) }
        let weightsMD = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        let w = try constant(weights, dims: wDims, tag: dnnl_oidhw, as: weightsMD, name: "\(name).weight")
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: source.memory), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: w),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: destination.memory)]
        if let bias {
            args.append(dnnl_exec_arg_t(arg: DNNL_ARG_BIAS, memory: try constant(bias, dims: [cout], tag: dnnl_a, as: biasMD, name: "\(name).bias")))
        }
        if let residual {
            args.append(dnnl_exec_arg_t(arg: DNNL.postOpArgument(sum ? 1 : 0, DNNL_ARG_SRC_1), memory: residual.memory))
        }
        let outVoxels = Double(destination.size.x * destination.size.y * destination.size.z)
        let count = flops ?? 2 * Double(cin * cout * kernel.x * kernel.y * kernel.z) * outVoxels
        try addStep(name, pd, args: args, flops: count)
        // oneDNN 2.6.3 has a PReLU post-op, but any convolution that uses it falls back to the reference kernel
        // (measured: 30× slower), so PReLU runs as its own in-place primitive.
        if let prelu { try self.prelu(destination, slopes: prelu, name: "\(name).prelu") }
    }

    /// Output channels below which a convolution prefers oneDNN's direct JIT kernel to brgemm (see `plan`).
    static let narrowChannels = 16

    /// oneDNN's first implementation for `desc`, or with `preferDirectJIT` the first direct JIT one (`jit:…`,
    /// `jit_bf16:…`) when there is one. With 8 output channels half of each AVX-512 register is idle whichever
    /// kernel runs; the direct kernel wastes less around it: 8→8 1×3×3 at 16×128×128 took 0.63 ms against 0.72 ms
    /// for brgemm (bf16) and 1.25 against 1.37 ms (f32), and it is the only JIT kernel with a full-tensor binary add.
    private static func plan(_ desc: inout dnnl_convolution_desc_t, _ attr: dnnl_primitive_attr_t?, _ engine: dnnl_engine_t?,
                             preferDirectJIT: Bool, name: String) throws(ModelError) -> dnnl_primitive_desc_t {
        var iterator: dnnl_primitive_desc_iterator_t?
        try DNNL.check(dnnl_primitive_desc_iterator_create(&iterator, &desc, attr, engine, nil), "plan \(name)")
        defer { dnnl_primitive_desc_iterator_destroy(iterator) }
        guard let first = dnnl_primitive_desc_iterator_fetch(iterator) else {
            throw ModelError(.engineFailure, "oneDNN has no implementation for \(name)")
        }
        guard preferDirectJIT else { return first }
        while dnnl_primitive_desc_iterator_next(iterator) == dnnl_success {
            guard let candidate = dnnl_primitive_desc_iterator_fetch(iterator) else { break }
            let implementation = DNNL.implementation(candidate)
            if implementation.hasPrefix("jit:avx512") || implementation.hasPrefix("jit_bf16:") {
                dnnl_primitive_desc_destroy(first)
                return candidate
            }
            dnnl_primitive_desc_destroy(candidate)
            if implementation.hasPrefix("ref") { break }
        }
        return first
    }

    /// PReLU in place. The tensor is viewed with more channels and fewer voxels (`[N, C]` as `[N/f, f·C]`, slopes
    /// repeated f times: the same numbers), because oneDNN's PReLU is slow on few channels: on an 8-channel level-0
    /// tensor it took 1.04 ms as `[N, 8]` and 0.06 ms as `[N/16, 128]` (bf16; f32 0.72 against 0.07 ms).
    private func prelu(_ data: Tensor, slopes: [Float], name: String) throws(ModelError) {
        let voxels = data.size.x * data.size.y * data.size.z
        var fold = 1
        while data.channels * fold * 2 <= Self.preluChannels && voxels % (fold * 2) == 0 { fold *= 2 }
        let channels = data.channels * fold
        let view = try alias(data.memory, DNNL.memoryDesc([1, channels, 1, 1, voxels / fold], data.md.data_type, dnnl_ndhwc))
        var dataMD = view.md
        var weightsAny = try DNNL.memoryDesc([1, channels, 1, 1, 1], dnnl_f32, dnnl_format_tag_any)
        var desc = dnnl_prelu_desc_t()
        try DNNL.check(dnnl_prelu_forward_desc_init(&desc, dnnl_forward_inference, &dataMD, &weightsAny), "describe \(name)")
        var pd: dnnl_primitive_desc_t?
        try DNNL.check(dnnl_primitive_desc_create(&pd, &desc, nil, engine, nil), "plan \(name)")
        defer { dnnl_primitive_desc_destroy(pd) }
        let weightsMD = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)!.pointee
        let repeated = (0..<fold).flatMap { _ in slopes }
        let slope = try constant(repeated, dims: [1, channels, 1, 1, 1], tag: dnnl_abcde, as: weightsMD, name: "\(name).weight")
        try addStep(name, pd!, args: [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: view.memory),
                                     dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: slope),
                                     dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: view.memory)], flops: 0)
    }

    /// Channel count PReLU views are widened to (see `prelu`).
    static let preluChannels = 128

    private func reorder(_ source: Tensor, into destination: Tensor, name: String) throws(ModelError) {
        var pd: dnnl_primitive_desc_t?
        var src = source.md, dst = destination.md
        try DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, nil), "plan \(name)")
        defer { dnnl_primitive_desc_destroy(pd) }
        try addStep(name, pd!, args: [dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: source.memory),
                                     dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: destination.memory)], flops: 0)
    }

    private func softmax(_ source: Tensor, into destination: Tensor) throws(ModelError) {
        var desc = dnnl_softmax_desc_t()
        var md = source.md
        try DNNL.check(dnnl_softmax_forward_desc_init(&desc, dnnl_forward_inference, &md, 1), "describe the softmax")
        var pd: dnnl_primitive_desc_t?
        try DNNL.check(dnnl_primitive_desc_create(&pd, &desc, nil, engine, nil), "plan the softmax")
        defer { dnnl_primitive_desc_destroy(pd) }
        try addStep("softmax", pd!, args: [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: source.memory),
                                          dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: destination.memory)], flops: 0)
    }

    private func addStep(_ name: String, _ pd: dnnl_primitive_desc_t, args: [dnnl_exec_arg_t], flops: Double) throws(ModelError) {
        var primitive: dnnl_primitive_t?
        try DNNL.check(dnnl_primitive_create(&primitive, pd), "create \(name)")
        steps.append(Step(name: name, primitive: primitive!, args: args, flops: flops, implementation: DNNL.implementation(pd)))
    }
}

/// The data pointer of a oneDNN memory object (never nil for memories this module creates).
func dnnl_memory_get_data_handle_raw(_ memory: dnnl_memory_t) -> UnsafeMutableRawPointer {
    var handle: UnsafeMutableRawPointer?
    dnnl_memory_get_data_handle(memory, &handle)
    return handle!
}
