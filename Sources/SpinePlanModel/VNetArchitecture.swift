/// The `SpinePlanVNet` topology with the numbers from a sidecar, checked for consistency.
///
/// It lists every tensor the weights file must hold (`Docs/model-contract.md` §2) and counts FLOPs.
public struct VNetArchitecture: Sendable, Equatable {
    public var channels: [Int]
    /// Kernel `[kd, kh, kw]` per level.
    public var kernels: [SIMD3<Int>]
    /// Stride `[sd, sh, sw]` of the down-convolution into level l; index 0 is unused (1, 1, 1).
    public var strides: [SIMD3<Int>]
    public var encoderConvolutions: [Int]
    public var decoderConvolutions: [Int]
    public var classCount: Int

    public var levels: Int { channels.count }

    /// Validates the sidecar's numbers; `path` names the file in errors.
    public init(_ sidecar: ModelSidecar, path: String) throws(ModelError) {
        func fail(_ why: String) -> ModelError { ModelError(.unsupportedArchitecture, "model sidecar \(path): \(why)") }
        guard sidecar.architecture == "SpinePlanVNet" else { throw fail("architecture \"\(sidecar.architecture)\" is not SpinePlanVNet") }
        let l = sidecar.channels.count
        guard l >= 1, sidecar.channels.allSatisfy({ $0 > 0 }) else { throw fail("channels must be positive and non-empty") }
        guard sidecar.kernels.count == l, sidecar.down.count == l, sidecar.encoderConvolutions.count == l,
              sidecar.decoderConvolutions.count == l - 1 else {
            throw fail("kernels, down and enc_convs need \(l) entries and dec_convs \(l - 1)")
        }
        var kernels: [SIMD3<Int>] = []
        for (level, k) in sidecar.kernels.enumerated() {
            guard k.count == 3, k.allSatisfy({ $0 > 0 && $0 % 2 == 1 }) else { throw fail("kernels[\(level)] must be three odd sizes") }
            kernels.append(SIMD3(k[0], k[1], k[2]))
        }
        var strides: [SIMD3<Int>] = [SIMD3(1, 1, 1)]
        guard sidecar.down[0] == nil else { throw fail("down[0] must be null") }
        for level in 1..<l {
            guard let s = sidecar.down[level], s.count == 3, s.allSatisfy({ $0 > 0 }) else {
                throw fail("down[\(level)] must be three positive strides")
            }
            strides.append(SIMD3(s[0], s[1], s[2]))
        }
        guard sidecar.encoderConvolutions.allSatisfy({ $0 >= 1 }), sidecar.decoderConvolutions.allSatisfy({ $0 >= 1 }) else {
            throw fail("every residual block needs at least one convolution")
        }
        guard !sidecar.classes.isEmpty, sidecar.classes.count <= 256 else { throw fail("1 to 256 classes are supported") }
        channels = sidecar.channels
        self.kernels = kernels
        self.strides = strides
        encoderConvolutions = sidecar.encoderConvolutions
        decoderConvolutions = sidecar.decoderConvolutions
        classCount = sidecar.classes.count
    }

    /// The product of all down strides: input sizes must be multiples of it.
    public var totalStride: SIMD3<Int> { strides.reduce(SIMD3(1, 1, 1), &*) }

    /// Every tensor name with its PyTorch shape, in a stable order.
    public var tensors: [(name: String, shape: [Int])] {
        func k(_ v: SIMD3<Int>) -> [Int] { [v.x, v.y, v.z] }
        var out: [(String, [Int])] = []
        let c = channels
        out += [("in.conv.weight", [c[0], 1] + k(kernels[0])), ("in.conv.bias", [c[0]]), ("in.act.weight", [c[0]])]
        for level in 0..<levels {
            if level >= 1 {
                out += [("down\(level).conv.weight", [c[level], c[level - 1]] + k(strides[level])),
                        ("down\(level).conv.bias", [c[level]]), ("down\(level).act.weight", [c[level]])]
            }
            out += block("enc\(level)", channels: c[level], first: c[level], count: encoderConvolutions[level], kernel: k(kernels[level]))
        }
        for level in stride(from: levels - 2, through: 0, by: -1) {
            out += [("up\(level).conv.weight", [c[level + 1], c[level]] + k(strides[level + 1])),
                    ("up\(level).conv.bias", [c[level]]), ("up\(level).act.weight", [c[level]])]
            out += block("dec\(level)", channels: c[level], first: 2 * c[level], count: decoderConvolutions[level], kernel: k(kernels[level]))
        }
        out += [("head.conv.weight", [classCount, c[0], 1, 1, 1]), ("head.conv.bias", [classCount])]
        return out
    }

    private func block(_ prefix: String, channels: Int, first: Int, count: Int, kernel: [Int]) -> [(String, [Int])] {
        var out: [(String, [Int])] = []
        for i in 0..<count {
            out.append(("\(prefix).block.\(i).conv.weight", [channels, i == 0 ? first : channels] + kernel))
            out.append(("\(prefix).block.\(i).conv.bias", [channels]))
            if i < count - 1 { out.append(("\(prefix).block.\(i).act.weight", [channels])) }
        }
        out.append(("\(prefix).out_act.weight", [channels]))
        return out
    }

    /// Floating-point operations (2 per multiply-add) of one forward pass on a (D, H, W) input, convolutions only.
    public func flops(depth: Int, height: Int, width: Int) -> Double {
        layerFlops(depth: depth, height: height, width: width).reduce(0) { $0 + $1.flops }
    }

    /// FLOPs per convolution layer, named as in the weights file.
    public func layerFlops(depth: Int, height: Int, width: Int) -> [(name: String, flops: Double)] {
        var size = [SIMD3(depth, height, width)]
        for level in 1..<max(1, levels) where levels > 1 { size.append(size[level - 1] / strides[level]) }
        func voxels(_ l: Int) -> Double { Double(size[l].x * size[l].y * size[l].z) }
        func vol(_ v: SIMD3<Int>) -> Double { Double(v.x * v.y * v.z) }
        var out: [(String, Double)] = [("in", 2 * Double(channels[0]) * vol(kernels[0]) * voxels(0))]
        for level in 0..<levels {
            let c = Double(channels[level])
            if level >= 1 { out.append(("down\(level)", 2 * c * Double(channels[level - 1]) * vol(strides[level]) * voxels(level))) }
            for i in 0..<encoderConvolutions[level] { out.append(("enc\(level).block.\(i)", 2 * c * c * vol(kernels[level]) * voxels(level))) }
        }
        for level in stride(from: levels - 2, through: 0, by: -1) {
            let c = Double(channels[level])
            out.append(("up\(level)", 2 * Double(channels[level + 1]) * c * vol(strides[level + 1]) * voxels(level + 1)))
            for i in 0..<decoderConvolutions[level] {
                out.append(("dec\(level).block.\(i)", 2 * c * (i == 0 ? 2 * c : c) * vol(kernels[level]) * voxels(level)))
            }
        }
        out.append(("head", 2 * Double(classCount) * Double(channels[0]) * voxels(0)))
        return out
    }
}
