import SpinePlanGeometry
@testable import SpinePlanPlanner
import Testing

/// Naming by counting from the sacrum (`LevelCounting`), on truth labels degraded the way a network degrades them on
/// real T2: level classes spread over neighbours, a disc missed, the sacrum out of view, a doubtful lumbosacral vote.
@Suite("Level counting from the sacrum")
struct LevelCountingTests {
    static let lumbar = DiscLevel.lumbar

    /// The segmentation with every disc voxel's class replaced by `rename(voxel index, true class name)`.
    static func renamingDiscs(_ session: SyntheticSession, _ rename: (Int, String) -> String) -> Segmentation {
        var segmentation = session.segmentation()
        // The network's vocabulary has the transitional discs even where this phantom's label scheme does not.
        // Labels are bytes, so they take unused slots of the 256 names rather than being appended.
        for extra in ["L6/S1", "L4/S1", "L5/L6"] where !segmentation.classNames.contains(extra) {
            guard let free = segmentation.classNames.lastIndex(of: "unused") else { break }
            segmentation.classNames[free] = extra
        }
        let names = segmentation.classNames
        for v in segmentation.labels.voxels.indices {
            let name = names[Int(segmentation.labels.voxels[v])]
            guard name.contains("/"), let i = names.firstIndex(of: rename(v, name)) else { continue }
            segmentation.labels.voxels[v] = UInt8(i)
        }
        return segmentation
    }

    static func neighbour(of name: String, by steps: Int) -> String {
        let discs = ["T10/T11", "T11/T12", "T12/L1", "L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"]
        guard let i = discs.firstIndex(of: name) else { return name }
        return discs[max(0, min(discs.count - 1, i + steps))]
    }

    @Test("discs whose voxels are spread over neighbouring level classes are still named right, one plane each")
    func spreadClasses() throws {
        for session in try PlannerFixtures.typical.get() {
            // Every voxel takes a neighbour's name with probability 0.45: no class holds a disc.
            var generator = SystemRandomNumberGenerator()
            let segmentation = Self.renamingDiscs(session) { _, name in
                let r = Double.random(in: 0..<1, using: &generator)
                return r < 0.25 ? Self.neighbour(of: name, by: -1) : r < 0.45 ? Self.neighbour(of: name, by: 1) : name
            }
            let plan = Planner().plan(segmentation: segmentation)
            #expect(!plan.abstained, "\(plan.abstentionReason ?? "")")
            #expect(plan.planes.compactMap(\.level) == Self.lumbar)
            for e in PlaneError.compare(plan, session.truth) { #expect(e.centre < 4, "\(e)") }
        }
    }

    @Test("one disc read as its neighbour's level: the count from the sacrum names it right")
    func oneMisreadDisc() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        let segmentation = Self.renamingDiscs(session) { _, name in name == "L2/L3" ? "L1/L2" : name }
        let plan = Planner().plan(segmentation: segmentation)
        #expect(!plan.abstained, "\(plan.abstentionReason ?? "")")
        #expect(plan.planes.compactMap(\.level) == Self.lumbar)
        for e in PlaneError.compare(plan, session.truth) { #expect(e.centre < 4, "\(e)") }
    }

    @Test("the discs above the lumbosacral one read one level higher than counted: abstain, and plan every disc unnamed")
    func countContradicted() throws {
        // What real T2 with a cut-short sacrum looked like: the count and the network's reading part above the anchor.
        let session = try #require(try PlannerFixtures.typical.get().first)
        let segmentation = Self.renamingDiscs(session) { _, name in name == "L5/S1" ? name : Self.neighbour(of: name, by: -1) }
        let plan = Planner().plan(segmentation: segmentation)
        #expect(plan.abstained)
        #expect(plan.abstentionReason?.contains("do not match") == true, "\(plan.abstentionReason ?? "")")
        #expect(plan.planes.allSatisfy { $0.level == nil })
        #expect(plan.planes.count == 5)
        for p in plan.planes {
            let nearest = session.truth.discs.map { ($0.centre - p.centre).length }.min() ?? .infinity
            #expect(nearest < 4)
        }
    }

    @Test("without the sacrum no level is named, and the found discs are still planned, ordered from the bottom")
    func noSacrum() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        var segmentation = session.segmentation()
        let sacrum = try #require(segmentation.classNames.firstIndex(of: "S1"))
        segmentation.labels.voxels = segmentation.labels.voxels.map { Int($0) == sacrum ? 0 : $0 }
        let plan = Planner().plan(segmentation: segmentation)
        #expect(plan.abstained)
        #expect(plan.abstentionReason?.contains("sacrum") == true, "\(plan.abstentionReason ?? "")")
        #expect(plan.planes.count == 5)
        #expect(plan.planes.allSatisfy { $0.level == nil })
        // Each unnamed plane lies on a true lumbar disc.
        for p in plan.planes {
            let nearest = session.truth.discs.map { ($0.centre - p.centre).length }.min() ?? .infinity
            #expect(nearest < 4)
        }
    }

    @Test("a lumbosacral disc whose classes hesitate between L5/S1 and L6/S1 abstains rather than guess the count")
    func doubtfulTransition() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        let segmentation = Self.renamingDiscs(session) { v, name in name == "L5/S1" && v % 3 == 0 ? "L6/S1" : name }
        let plan = Planner().plan(segmentation: segmentation)
        #expect(plan.abstained)
        #expect(plan.abstentionReason?.contains("transitional") == true, "\(plan.abstentionReason ?? "")")
        #expect(plan.planes.allSatisfy { $0.level == nil })
    }

    @Test("a disc-like fragment inside a vertebral body makes the count abstain instead of shifting every name")
    func spuriousFragment() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        var segmentation = session.segmentation()
        let names = segmentation.classNames
        let l3 = try #require(names.firstIndex(of: "L3")), disc = try #require(names.firstIndex(of: "L3/L4"))
        let grid = segmentation.labels.grid
        // The middle of the L3 body, by its centroid: a 3-voxel-thick slab of "disc" across it.
        let body = segmentation.labels.voxels.indices.filter { Int(segmentation.labels.voxels[$0]) == l3 }
        let points = body.map { v in
            grid.point(atIndex: Vector3(Double(v % grid.size.x), Double((v / grid.size.x) % grid.size.y),
                                        Double(v / (grid.size.x * grid.size.y))))
        }
        let centre = points.reduce(Vector3.zero, +) / Double(points.count)
        for (v, p) in zip(body, points) where abs(p.z - centre.z) < 3 { segmentation.labels.voxels[v] = UInt8(disc) }
        let plan = Planner().plan(segmentation: segmentation)
        #expect(plan.abstained, "\(plan.planes.compactMap(\.level))")
        #expect(plan.planes.allSatisfy { $0.level == nil })
    }
}
