import Dispatch
import Foundation

/// The virtual scanner: synthesises localizer sessions, with known answers, from phantoms or real volumes.
public enum VirtualScanner {
    /// Writes `count` sessions under `options.outputDirectory`, each as `<case>/localizer/*.dcm`,
    /// `<case>/truth.json` and, for phantoms, `<case>/volume/`. Same options, same bytes. `sessionDone` is called
    /// once per session as it finishes, from any thread.
    public static func synthesize(options: SynthesisOptions,
                                  sessionDone: @Sendable () -> Void = {}) throws(ScannerError) -> [SessionSummary] {
        try validate(options)
        let source: RealVolumeSource?
        if let volumePath = options.volumePath, let referencesPath = options.referencesPath {
            source = try RealVolumeSource.load(volumePath: volumePath, referencesPath: referencesPath)
        } else {
            source = nil
        }
        try SessionSynthesizer.makeDirectory(options.outputDirectory)
        let results = SliceSlots<Result<SessionSummary, ScannerError>>(count: options.count)
        DispatchQueue.concurrentPerform(iterations: options.count) { index in
            let seed = options.seed &+ UInt64(index)
            let subject = source.map { ScanSubject.real($0, seed: seed, randomisePose: options.randomisePose) }
                ?? ScanSubject.phantom(seed: seed, rates: options.rates, weighting: options.overrides.weighting)
            results.store(index, Result { () throws(ScannerError) in
                try SessionSynthesizer(seed: seed, options: options, subject: subject).run()
            })
            sessionDone()
        }
        return try results.values.map { result throws(ScannerError) in try result.get() }
    }

    /// Checks arguments before any work, so that usage errors come back fast and with exit-code-2 codes.
    public static func validate(_ options: SynthesisOptions) throws(ScannerError) {
        guard !options.outputDirectory.isEmpty else { throw ScannerError(.invalidArgument, "an output directory is required") }
        guard (1...10_000).contains(options.count) else {
            throw ScannerError(.invalidArgument, "count must be 1...10000, got \(options.count)")
        }
        guard options.rates.isValid else { throw ScannerError(.invalidArgument, "anatomy rates must be probabilities") }
        try options.overrides.validate()
        switch (options.volumePath, options.referencesPath) {
        case (nil, nil):
            break
        case (nil, .some):
            throw ScannerError(.invalidArgument, "references were given without a volume")
        case (.some, nil):
            throw ScannerError(.invalidArgument, "a real volume needs its references file")
        case let (.some(volume), .some(references)):
            guard FileManager.default.fileExists(atPath: volume) else {
                throw ScannerError(.volumeNotFound, "no volume at \(volume)")
            }
            guard FileManager.default.fileExists(atPath: references) else {
                throw ScannerError(.referencesUnreadable, "no references file at \(references)")
            }
        }
    }
}
