/// Text encodings of DICOM value representations.
public enum DICOMFormat {
    /// A Decimal String value of at most 16 characters that keeps as much precision as fits.
    public static func decimalString(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        var digits = 15
        while digits > 1 {
            let s = formatted(v, significant: digits)
            if s.count <= 16 { return s }
            digits -= 1
        }
        return formatted(v, significant: 1)
    }

    static func formatted(_ v: Double, significant: Int) -> String {
        // %g picks fixed or exponent notation the way DS allows.
        var buffer = [CChar](repeating: 0, count: 64)
        _ = buffer.withUnsafeMutableBufferPointer { p in
            withVaList([significant, v]) { vsnprintf(p.baseAddress, 64, "%.*g", $0) }
        }
        return String(cString: buffer)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
