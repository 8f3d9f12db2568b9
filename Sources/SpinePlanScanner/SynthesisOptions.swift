/// What `VirtualScanner.synthesize` should produce.
public struct SynthesisOptions: Sendable, Equatable {
    /// Cases are written to `<outputDirectory>/<case>/`.
    public var outputDirectory: String
    /// Seed of the first session; session n uses `seed + n`.
    public var seed: UInt64
    /// Number of sessions, 1...10000.
    public var count: Int
    /// A real NIfTI-1 uint8 volume to image instead of a phantom; requires `referencesPath`.
    public var volumePath: String?
    /// `references.json` holding the case of `volumePath`.
    public var referencesPath: String?
    /// One Enhanced MR multi-frame file per orientation instead of one classic file per slice.
    public var enhanced: Bool
    /// Also write the phantom's 1 mm image and label volumes as .npy under `volume/`.
    public var exportVolume: Bool
    /// Also write each localizer stack's label map (nearest neighbour on the slice plane) under `labels/`.
    public var exportLabels: Bool
    /// Place a real volume in the scanner with a random rigid pose (phantoms always get one).
    public var randomisePose: Bool
    public var rates: AnatomyRates
    public var overrides: LocalizerOverrides

    public init(outputDirectory: String, seed: UInt64 = 0, count: Int = 1, volumePath: String? = nil,
                referencesPath: String? = nil, enhanced: Bool = false, exportVolume: Bool = true,
                exportLabels: Bool = false,
                randomisePose: Bool = true, rates: AnatomyRates = AnatomyRates(),
                overrides: LocalizerOverrides = LocalizerOverrides()) {
        self.outputDirectory = outputDirectory
        self.seed = seed
        self.count = count
        self.volumePath = volumePath
        self.referencesPath = referencesPath
        self.enhanced = enhanced
        self.exportVolume = exportVolume
        self.exportLabels = exportLabels
        self.randomisePose = randomisePose
        self.rates = rates
        self.overrides = overrides
    }
}

/// What one synthesised session produced.
public struct SessionSummary: Sendable, Equatable {
    /// Directory name under the output directory, e.g. `phantom-42` or `vb3-01-s42`.
    public var caseName: String
    public var directory: String
    public var seed: UInt64
    /// Paths of the DICOM files written, in series order.
    public var dicomFiles: [String]
    public var sliceCount: Int
    public var truthPath: String
    public var truth: TruthRecord
}
