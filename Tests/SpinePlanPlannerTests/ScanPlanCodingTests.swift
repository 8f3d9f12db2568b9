import Foundation
import Testing
import SpinePlanPlanner

@Suite struct ScanPlanCodingTests {
    @Test("the plan JSON uses the keys of the architecture contract and round-trips")
    func contractKeys() throws {
        let plane = ScanPlan.Plane(level: .l4L5, centre: [1, 2, 3], rowDirection: [1, 0, 0], columnDirection: [0, 1, 0],
                                   normal: [0, 0, 1], fieldOfView: [200, 180], slices: 5, thickness: 4, spacing: 4.4,
                                   confidence: 0.9)
        let plan = ScanPlan(planes: [plane], abstained: false, warnings: ["w"], model: "truth", timings: ["total": 12])
        let data = try JSONEncoder().encode(plan)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys).isSuperset(of: ["planes", "abstained", "warnings", "model", "timings_ms"]))
        let first = try #require((object["planes"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["level", "centre_lps_mm", "row_direction", "column_direction", "normal", "fov_mm",
                                    "slices", "thickness_mm", "spacing_mm", "confidence"])
        #expect(first["fov_mm"] as? [Double] == [200, 180])
        #expect(try JSONDecoder().decode(ScanPlan.self, from: data) == plan)
    }

    @Test("unnamed planes are numbered up from the sacrum: 1 is the most caudal, whatever their order in the plan")
    func unnamedNumbersFromTheSacrum() {
        // Normals point inferior (LPS −z): the plane at z = −60 is nearest the sacrum.
        let planes = [20.0, -60, -20, 60].map { z in
            ScanPlan.Plane(level: nil, centre: [0, 0, z], rowDirection: [1, 0, 0], columnDirection: [0, 1, 0],
                           normal: [0, 0.3, -1], fieldOfView: [200, 200], slices: 5, thickness: 4, spacing: 4.4,
                           confidence: 0.5)
        }
        let plan = ScanPlan(planes: planes, abstained: true, abstentionReason: "r", warnings: [], model: "truth")
        #expect(plan.unnamedNumbers == [3, 1, 2, 4])
    }
}
