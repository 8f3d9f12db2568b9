import SpinePlanGeometry

/// The two byte volumes a phantom is painted into (tissue class and label), on a 1 mm body-frame grid.
///
/// A reference type over raw buffers so that rasterising closures can write without exclusivity
/// conflicts or copy-on-write checks in the innermost loop. Used by one thread at a time.
final class VoxelCanvas {
    let size: SIMD3<Int>
    /// Body-frame position of voxel (0, 0, 0); the grid axes are the body axes at 1 mm.
    let origin: Vector3
    let tissue: UnsafeMutableBufferPointer<UInt8>
    let labels: UnsafeMutableBufferPointer<UInt8>

    init(size: SIMD3<Int>, origin: Vector3) {
        self.size = size
        self.origin = origin
        let count = size.x * size.y * size.z
        tissue = .allocate(capacity: count)
        tissue.initialize(repeating: 0)
        labels = .allocate(capacity: count)
        labels.initialize(repeating: 0)
    }

    deinit {
        tissue.deallocate()
        labels.deallocate()
    }

    @inline(__always) func index(_ i: Int, _ j: Int, _ k: Int) -> Int { i + size.x * (j + size.y * k) }

    /// Visits every voxel whose centre may lie in the box [lower, upper] of `frame`'s local coordinates,
    /// passing the voxel's storage offset, its local coordinates and its body-frame position.
    @inline(__always)
    func visit(_ frame: LocalFrame, lower: Vector3, upper: Vector3, _ body: (Int, Vector3, Vector3) -> Void) {
        var lo = Vector3(repeating: .infinity), hi = Vector3(repeating: -.infinity)
        for corner in 0..<8 {
            let l = Vector3(corner & 1 == 0 ? lower.x : upper.x, corner & 2 == 0 ? lower.y : upper.y,
                            corner & 4 == 0 ? lower.z : upper.z)
            let p = frame.world(l) - origin
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        let i0 = max(0, Int(lo.x.rounded(.up))), i1 = min(size.x - 1, Int(hi.x.rounded(.down)))
        let j0 = max(0, Int(lo.y.rounded(.up))), j1 = min(size.y - 1, Int(hi.y.rounded(.down)))
        let k0 = max(0, Int(lo.z.rounded(.up))), k1 = min(size.z - 1, Int(hi.z.rounded(.down)))
        guard i0 <= i1, j0 <= j1, k0 <= k1 else { return }
        let stepLocal = Vector3(frame.lateral.x, frame.anterior.x, frame.superior.x)
        for k in k0...k1 {
            for j in j0...j1 {
                var p = origin + Vector3(Double(i0), Double(j), Double(k))
                var l = frame.local(p)
                var offset = index(i0, j, k)
                for _ in i0...i1 {
                    if l.x >= lower.x, l.x <= upper.x, l.y >= lower.y, l.y <= upper.y, l.z >= lower.z, l.z <= upper.z {
                        body(offset, l, p)
                    }
                    l += stepLocal
                    p.x += 1
                    offset += 1
                }
            }
        }
    }

    /// Paints one tissue class (and optionally a label) wherever `inside` holds, within a local box.
    @inline(__always)
    func paint(_ frame: LocalFrame, lower: Vector3, upper: Vector3, tissue value: TissueClass, label: UInt8? = nil,
               over allowed: Set<TissueClass>? = nil, where inside: (Vector3, Vector3) -> Bool) {
        let mask = allowed.map { set -> [Bool] in (0..<256).map { set.contains(TissueClass(rawValue: UInt8($0)) ?? .air) } }
        visit(frame, lower: lower, upper: upper) { offset, l, p in
            guard inside(l, p) else { return }
            if let mask, !mask[Int(tissue[offset])] { return }
            tissue[offset] = value.rawValue
            if let label { labels[offset] = label }
        }
    }
}
