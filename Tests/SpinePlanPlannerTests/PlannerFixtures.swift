import Foundation
import SpinePlanGeometry
import SpinePlanPlanner
import SpinePlanScanner

/// Synthetic sessions shared by the planner tests: synthesised once per test process (debug synthesis
/// takes tens of seconds a session), in a temporary directory.
enum PlannerFixtures {
    static func synthesize(_ tag: String, seed: UInt64, count: Int = 1, rates: AnatomyRates,
                           overrides: LocalizerOverrides) -> Result<[SyntheticSession], any Error> {
        Result {
            let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("spineplan-planner-\(tag)-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let options = SynthesisOptions(outputDirectory: directory, seed: seed, count: count, exportVolume: false,
                                           exportLabels: true, rates: rates, overrides: overrides)
            return try VirtualScanner.synthesize(options: options).map { try SyntheticSession.load($0.directory) }
        }
    }

    /// Two ordinary spines (no transitional anatomy), seven sagittal slices.
    static let typical = synthesize("typical", seed: 7101, count: 2,
                                    rates: AnatomyRates(transitionalAnatomy: 0, metalImplant: 0),
                                    overrides: LocalizerOverrides(sagittalSlices: 7))

    /// A scoliotic spine under a 20° oblique localizer.
    static let scoliotic = synthesize("scoliotic", seed: 7201,
                                      rates: AnatomyRates(transitionalAnatomy: 0, scoliosis: 1, metalImplant: 0),
                                      overrides: LocalizerOverrides(sagittalSlices: 9, obliquityDegrees: 20))

    /// Transitional lumbosacral anatomy (four or six lumbar vertebrae, or a sacralised L5).
    static let transitional = synthesize("lstv", seed: 7301, count: 2,
                                         rates: AnatomyRates(transitionalAnatomy: 1, metalImplant: 0),
                                         overrides: LocalizerOverrides(sagittalSlices: 7))
}
