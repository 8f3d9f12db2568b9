/// The largest image SpinePlan takes as part of a localizer; anything bigger is refused at C-STORE (0xA700).
///
/// A localizer slice is 256² to 512²; a decoded pixel costs 4 bytes (Float), so a 4,096² slice or a 1,000-frame
/// object is refused before its pixels are decoded, not after they have taken half a gigabyte.
public struct SliceLimits: Sendable, Equatable {
    /// Rows and Columns may each be at most this.
    public var maxMatrix: Int
    /// Rows × Columns × frames of one object, in millions of pixels.
    public var maxMegapixels: Int

    public init(maxMatrix: Int = 1024, maxMegapixels: Int = 32) {
        self.maxMatrix = maxMatrix
        self.maxMegapixels = maxMegapixels
    }

    /// Nothing refused: for files already taken (the journal, recordings), whose limits were checked on arrival.
    public static let none = SliceLimits(maxMatrix: .max, maxMegapixels: .max / 1_000_000)

    func check(rows: Int, columns: Int, frames: Int) throws(DICOMError) {
        if rows > maxMatrix || columns > maxMatrix {
            throw DICOMError(.tooLarge, "\(rows)x\(columns) pixels: over the localizer limit of \(maxMatrix)")
        }
        let pixels = rows.multipliedReportingOverflow(by: columns).partialValue.multipliedReportingOverflow(by: frames)
        if pixels.overflow || pixels.partialValue > maxMegapixels * 1_000_000 {
            throw DICOMError(.tooLarge, "\(frames) frames of \(rows)x\(columns): over \(maxMegapixels) Mpixel")
        }
    }
}
