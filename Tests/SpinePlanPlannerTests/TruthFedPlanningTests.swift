import Foundation
import Testing
import SpinePlanGeometry
import SpinePlanPlanner
import SpinePlanScanner

/// The planner fed with ground-truth labels of synthetic sessions, compared with `truth.json`.
@Suite(.serialized) struct TruthFedPlanningTests {
    @Test("truth-fed plans name every lumbar disc and land on the true disc planes")
    func typicalSessions() throws {
        let sessions = try PlannerFixtures.typical.get()
        var errors: [PlaneError] = [], partial: [PlaneError] = []
        for session in sessions {
            partial += PlaneError.compare(Planner().plan(segmentation: session.partialVolumeSegmentation()), session.truth)
            let plan = Planner().plan(segmentation: session.segmentation())
            #expect(!plan.abstained, "\(session.directory): \(plan.abstentionReason ?? "")")
            #expect(plan.lumbarCount == session.truth.anatomy.lumbarCount)
            let truthLevels = Set(session.truth.discs.map(\.level)).intersection(DiscLevel.lumbar.map(\.name))
            #expect(Set(plan.planes.compactMap(\.level?.name)) == truthLevels)
            errors += PlaneError.compare(plan, session.truth)
        }
        for e in errors { print("typical \(e)") }
        #expect(errors.count >= 8)
        // Through-plane position is what the stack gets right; the tilt is limited by the 2.5 mm grid.
        #expect(median(errors.map(\.throughPlane)) <= 0.5)
        #expect(median(errors.map(\.angle)) <= 1.5)
        #expect(errors.allSatisfy { $0.throughPlane <= 1.0 && $0.angle <= 4.0 })
        // Partial-volume labels (an ideal network's probabilities) place the endplates below the voxel.
        print("typical, partial volume: angle median \(median(partial.map(\.angle)))° max \(partial.map(\.angle).max() ?? .nan)° (hard labels: median \(median(errors.map(\.angle)))°)")
        #expect(partial.count == errors.count)
        #expect(median(partial.map(\.angle)) <= 0.6)
        #expect(partial.allSatisfy { $0.throughPlane <= 1.0 && $0.angle <= 2.0 })
    }

    @Test("a scoliotic spine under an oblique localizer is planned on the tilted discs")
    func scolioticOblique() throws {
        let session = try #require(try PlannerFixtures.scoliotic.get().first)
        let plan = Planner().plan(segmentation: session.segmentation())
        #expect(!plan.abstained, "\(plan.abstentionReason ?? "")")
        let errors = PlaneError.compare(plan, session.truth)
        for e in errors { print("scoliotic (Cobb \(session.truth.anatomy.scoliosisCobbDegrees)°) \(e)") }
        #expect(errors.count >= 4)
        #expect(median(errors.map(\.throughPlane)) <= 0.5)
        #expect(median(errors.map(\.angle)) <= 1.5)
        // The discs are tilted out of the sagittal plane: the plan must follow, not stay sagittal-only.
        let lateral = session.truth.discs.map { abs($0.normal.x) }.max() ?? 0
        #expect(lateral > 0.05, "the fixture should have coronally tilted discs")
    }

    @Test("transitional anatomy is flagged and the lumbar count follows the truth")
    func transitional() throws {
        for session in try PlannerFixtures.transitional.get() {
            let plan = Planner().plan(segmentation: session.segmentation())
            let anatomy = session.truth.anatomy
            print("transitional: truth \(anatomy.lstvType ?? "-") lumbar \(anatomy.lumbarCount); plan \(plan.lumbarCount.map(String.init) ?? "nil"), warnings \(plan.warnings)")
            #expect(plan.transitionalAnatomy == true, "\(anatomy.lstvType ?? "-") not flagged")
            #expect(plan.warnings.contains { $0.contains("transitional anatomy") })
            if !plan.abstained { #expect(plan.lumbarCount == anatomy.lumbarCount) }
            // Whatever the count, every planned level must be a true disc at the true place.
            for e in PlaneError.compare(plan, session.truth) { #expect(e.throughPlane <= 1.0, "\(e)") }
            #expect(plan.planes.allSatisfy { p in p.level == nil || session.truth.discs.contains { $0.level == p.level?.name } })
        }
    }

    @Test("without the sacrum the plan abstains but still gives unnamed planes")
    func noSacrum() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        var segmentation = session.segmentation()
        let sacrum = try #require(segmentation.classNames.firstIndex(of: "S1"))
        segmentation.labels.voxels = segmentation.labels.voxels.map { Int($0) == sacrum ? 0 : $0 }
        let plan = Planner().plan(segmentation: segmentation)
        #expect(plan.abstained)
        #expect(plan.abstentionReason?.contains("sacrum") == true)
        #expect(!plan.planes.isEmpty)
        #expect(plan.planes.allSatisfy { $0.level == nil })
        #expect(plan.lumbarCount == nil)
    }

    @Test("vertebra classes that contradict the count do not rename the discs: levels are counted from the sacrum")
    func conflictingNames() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        var segmentation = session.segmentation()
        let l3 = try #require(segmentation.classNames.firstIndex(of: "L3"))
        let l4 = try #require(segmentation.classNames.firstIndex(of: "L4"))
        segmentation.classNames.swapAt(l3, l4)
        let plan = Planner().plan(segmentation: segmentation)
        #expect(!plan.abstained, "\(plan.abstentionReason ?? "")")
        #expect(plan.planes.compactMap(\.level) == DiscLevel.lumbar)
        for e in PlaneError.compare(plan, session.truth) { #expect(e.centre < 5, "\(e)") }
    }

    /// Half of disc `split` (the slices on one side) relabelled `as`, and the disc that really has that name erased:
    /// two discs then lie between the same two vertebrae.
    static func splitDisc(_ split: String, as name: String, in session: SyntheticSession) throws -> Segmentation {
        var segmentation = session.segmentation()
        let from = try #require(segmentation.classNames.firstIndex(of: split))
        let to = try #require(segmentation.classNames.firstIndex(of: name))
        let grid = segmentation.labels.grid
        let ks = segmentation.labels.voxels.indices.filter { Int(segmentation.labels.voxels[$0]) == from }.map { $0 / (grid.size.x * grid.size.y) }
        let middle = try #require(ks.isEmpty ? nil : (ks.min()! + ks.max()! + 1) / 2)
        try #require(ks.max()! > ks.min()!, "\(split) must span more than one slice")
        for i in segmentation.labels.voxels.indices {
            let v = Int(segmentation.labels.voxels[i])
            if v == to { segmentation.labels.voxels[i] = 0 }
            if v == from, i / (grid.size.x * grid.size.y) < middle { segmentation.labels.voxels[i] = UInt8(to) }
        }
        return segmentation
    }

    @Test("a disc whose voxels carry two level names is one disc, named once by counting from the sacrum")
    func splitDisc() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        for (split, name) in [("T11/T12", "T10/T11"), ("L3/L4", "L2/L3")] {
            let plan = Planner().plan(segmentation: try Self.splitDisc(split, as: name, in: session))
            #expect(!plan.abstained, "\(split): \(plan.abstentionReason ?? "")")
            #expect(plan.planes.compactMap(\.level) == DiscLevel.lumbar, "\(split)")
            for e in PlaneError.compare(plan, session.truth) { #expect(e.centre < 5, "\(split): \(e)") }
        }
    }

    @Test("a structure the names rest on with a low network probability makes the plan abstain; above the threshold it does not")
    func lowProbabilityAbstains() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        #expect(Planner().plan(segmentation: session.segmentation()).levelProbability == nil, "truth labels carry no probability")
        var segmentation = session.segmentation()
        let disc = try #require(segmentation.classNames.firstIndex(of: "L4/L5"))
        var probability = [Float](repeating: 0.95, count: segmentation.labels.voxels.count)
        for (i, v) in segmentation.labels.voxels.enumerated() where Int(v) == disc { probability[i] = 0.55 }
        segmentation.confidence = probability
        let lenient = Planner(minimumLevelProbability: 0.5).plan(segmentation: segmentation)
        #expect(!lenient.abstained, "\(lenient.abstentionReason ?? "")")
        #expect(abs((lenient.levelProbability ?? 0) - 0.55) < 1e-3, "the weakest structure is L4/L5")
        #expect(lenient.planes.contains { $0.level == .l4L5 })
        let strict = Planner(minimumLevelProbability: 0.7).plan(segmentation: segmentation)
        #expect(strict.abstained)
        #expect(strict.abstentionReason?.contains("unsure of L4/L5") == true, "\(strict.abstentionReason ?? "")")
        #expect(strict.lumbarCount == nil)
        #expect(!strict.planes.isEmpty && strict.planes.allSatisfy { $0.level == nil }, "unnamed planes are still given")
    }

    @Test("a lumbar vertebra missing from the segmentation breaks the count and the plan abstains")
    func missingVertebra() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        var segmentation = session.segmentation()
        let l3 = try #require(segmentation.classNames.firstIndex(of: "L3"))
        segmentation.labels.voxels = segmentation.labels.voxels.map { Int($0) == l3 ? 0 : $0 }
        let plan = Planner().plan(segmentation: segmentation)
        #expect(plan.abstained, "\(plan.warnings)")
    }

    @Test("a disc missing from the labels is planned on the space between its vertebrae")
    func missingDiscLabel() throws {
        for session in try PlannerFixtures.typical.get() {
            var segmentation = session.segmentation()
            for name in ["L3/L4", "L5/S1"] {
                let label = try #require(segmentation.classNames.firstIndex(of: name))
                segmentation.labels.voxels = segmentation.labels.voxels.map { Int($0) == label ? 0 : $0 }
            }
            let plan = Planner().plan(segmentation: segmentation)
            #expect(!plan.abstained, "\(plan.abstentionReason ?? "")")
            #expect(plan.warnings.contains { $0.contains("L3/L4 is not labelled") })
            let errors = PlaneError.compare(plan, session.truth)
            for e in errors where ["L3/L4", "L5/S1"].contains(e.level) {
                print("inferred \(e)")
                #expect(e.throughPlane <= 1.5 && e.angle <= 5, "\(e)")
            }
            #expect(errors.filter { ["L3/L4", "L5/S1"].contains($0.level) }.count == 2)
        }
    }

    @Test("stacks are shortened to stay clear of the neighbouring discs")
    func stackClamping() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        let scanProtocol = ScanProtocol(slices: 15, thickness: 4, gap: 1)
        let plan = Planner(protocol: scanProtocol).plan(segmentation: session.segmentation())
        #expect(plan.warnings.contains { $0.contains("shortened") })
        for p in plan.planes {
            guard let index = session.truth.discs.firstIndex(where: { $0.level == p.level?.name }) else { continue }
            let halfExtent = Double(p.slices - 1) / 2 * p.spacing + p.thickness / 2
            for j in [index - 1, index + 1] where session.truth.discs.indices.contains(j) {
                let distance = abs((session.truth.discs[j].centre - p.centre).dot(p.normal))
                // The neighbour's centre lies beyond the stack by at least a couple of millimetres of disc.
                #expect(halfExtent < distance - 2, "\(p.level?.name ?? "-"): \(halfExtent) mm reaches the disc \(distance) mm away")
            }
            #expect(p.slices >= 1 && p.slices <= 15)
        }
    }

    @Test("the coronal localizer supplies the lateral tilt that a single sagittal slice cannot")
    func coronalTilt() throws {
        var without: [PlaneError] = [], with: [PlaneError] = []
        var unmeasured = (without: 0, with: 0)
        for session in try PlannerFixtures.typical.get() {
            let single = session.segmentation(slices: [session.sagittal.count / 2])
            let a = Planner().plan(segmentation: single)
            let b = Planner().plan(segmentation: single, coronal: session.coronalImages)
            without += PlaneError.compare(a, session.truth)
            with += PlaneError.compare(b, session.truth)
            unmeasured.without += a.warnings.filter { $0.contains("coronal tilt not measured") }.count
            unmeasured.with += b.warnings.filter { $0.contains("coronal tilt not measured") }.count
        }
        print("single slice: angle median \(median(without.map(\.angle)))° without, \(median(with.map(\.angle)))° with the coronal localizer")
        #expect(unmeasured.without > 0)
        #expect(!with.isEmpty)
        #expect(median(with.map(\.throughPlane)) <= 1.0)
        #expect(median(with.map(\.angle)) <= 6.0)
    }

    @Test("stack axes: orthonormal, row × column = normal pointing inferior, anterior at the top")
    func stackAxes() throws {
        let session = try #require(try PlannerFixtures.typical.get().first)
        let plan = Planner().plan(segmentation: session.segmentation())
        #expect(!plan.planes.isEmpty)
        for p in plan.planes {
            #expect(abs(p.rowDirection.length - 1) < 1e-9 && abs(p.columnDirection.length - 1) < 1e-9)
            #expect(abs(p.rowDirection.dot(p.columnDirection)) < 1e-9)
            #expect((p.rowDirection.cross(p.columnDirection) - p.normal).length < 1e-9)
            #expect(p.normal.z < 0)
            #expect(p.columnDirection.y > 0.5)
            #expect(p.rowDirection.x < -0.5)
            #expect(p.fieldOfView == SIMD2(200, 200))
            #expect((0...1).contains(p.confidence))
        }
    }
}
