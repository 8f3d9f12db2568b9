/// Localizer settings a caller may pin; every nil field is drawn at random per session.
public struct LocalizerOverrides: Sendable, Equatable {
    /// Number of sagittal slices, 1...15.
    public var sagittalSlices: Int?
    /// Slice thickness in mm, 1...20.
    public var sliceThickness: Double?
    /// Gap between slices in mm, 0...20.
    public var sliceGap: Double?
    /// Square in-plane field of view in mm, 150...600.
    public var fieldOfView: Double?
    /// Square acquisition matrix, 64...1024.
    public var matrix: Int?
    /// Tilt of every stack away from the true anatomical planes, 0...30 degrees.
    public var obliquityDegrees: Double?
    /// Signal-to-noise ratio of muscle (or of the mean tissue of a real image); `.infinity` for no noise.
    public var snr: Double?
    /// Contrast for phantoms.
    public var weighting: Weighting?
    /// Amplitude of the smooth bias field, 0...0.5 (0 turns it off).
    public var biasAmplitude: Double?

    public init(sagittalSlices: Int? = nil, sliceThickness: Double? = nil, sliceGap: Double? = nil,
                fieldOfView: Double? = nil, matrix: Int? = nil, obliquityDegrees: Double? = nil, snr: Double? = nil,
                weighting: Weighting? = nil, biasAmplitude: Double? = nil) {
        self.sagittalSlices = sagittalSlices
        self.sliceThickness = sliceThickness
        self.sliceGap = sliceGap
        self.fieldOfView = fieldOfView
        self.matrix = matrix
        self.obliquityDegrees = obliquityDegrees
        self.snr = snr
        self.weighting = weighting
        self.biasAmplitude = biasAmplitude
    }

    func validate() throws(ScannerError) {
        func check(_ ok: Bool, _ message: String) throws(ScannerError) {
            if !ok { throw ScannerError(.impossibleGeometry, message) }
        }
        if let n = sagittalSlices { try check((1...15).contains(n), "sagittal slices must be 1...15, got \(n)") }
        if let t = sliceThickness { try check(t.isFinite && (1...20).contains(t), "slice thickness must be 1...20 mm, got \(t)") }
        if let g = sliceGap { try check(g.isFinite && (0...20).contains(g), "slice gap must be 0...20 mm, got \(g)") }
        if let f = fieldOfView { try check(f.isFinite && (150...600).contains(f), "field of view must be 150...600 mm, got \(f)") }
        if let m = matrix { try check((64...1024).contains(m), "matrix must be 64...1024, got \(m)") }
        if let o = obliquityDegrees { try check(o.isFinite && (0...30).contains(o), "obliquity must be 0...30°, got \(o)") }
        if let s = snr, !(s > 0) {
            throw ScannerError(.invalidArgument, "SNR must be positive, got \(s)")
        }
        if let b = biasAmplitude, !(b.isFinite && (0...0.5).contains(b)) {
            throw ScannerError(.invalidArgument, "bias amplitude must be 0...0.5, got \(b)")
        }
    }
}
