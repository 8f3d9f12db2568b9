/// An 8-bit RGB raster with just enough drawing for the console overlay: lines, tints and a 5×7 bitmap font.
public struct OverlayCanvas: Sendable {
    public let width: Int
    public let height: Int
    /// Row-major RGB triplets.
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
    }

    public typealias Colour = (UInt8, UInt8, UInt8)

    public mutating func set(_ x: Int, _ y: Int, _ c: Colour) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.0
        pixels[i + 1] = c.1
        pixels[i + 2] = c.2
    }

    /// Mixes `c` into the pixel with weight `alpha` (0...1): a tint that leaves the anatomy visible underneath.
    public mutating func blend(_ x: Int, _ y: Int, _ c: Colour, alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        for (k, v) in [c.0, c.1, c.2].enumerated() {
            pixels[i + k] = UInt8((Double(pixels[i + k]) * (1 - alpha) + Double(v) * alpha).rounded())
        }
    }

    /// A line from (x0, y0) to (x1, y1) in pixel coordinates, `thickness` pixels wide; with `dash` > 0, drawn
    /// `dash` pixels on and `dash` off.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ c: Colour, thickness: Int = 1, dash: Int = 0) {
        let steps = Int(max(abs(x1 - x0), abs(y1 - y0)).rounded(.up)) + 1
        guard steps < 100_000 else { return }
        for s in 0...steps where dash <= 0 || (s / dash) % 2 == 0 {
            let t = Double(s) / Double(max(steps, 1))
            let x = Int((x0 + (x1 - x0) * t).rounded()), y = Int((y0 + (y1 - y0) * t).rounded())
            for dy in 0..<thickness { for dx in 0..<thickness { set(x + dx - thickness / 2, y + dy - thickness / 2, c) } }
        }
    }

    /// Fills `rect` with `c`.
    public mutating func fill(_ rect: OverlayRect, _ c: Colour) {
        for y in rect.y..<(rect.y + rect.height) { for x in rect.x..<(rect.x + rect.width) { set(x, y, c) } }
    }

    /// Tints the convex quadrilateral `corners` (in drawing order) with `c` at `alpha`.
    public mutating func tint(_ corners: [(Double, Double)], _ c: Colour, alpha: Double) {
        guard corners.count >= 3 else { return }
        let ys = corners.map(\.1)
        let top = max(0, Int(ys.min()!.rounded(.up))), bottom = min(height - 1, Int(ys.max()!.rounded(.down)))
        guard top <= bottom else { return }
        for y in top...bottom {
            // Where the scan line crosses the polygon's edges.
            var xs: [Double] = []
            for i in corners.indices {
                let (ax, ay) = corners[i], (bx, by) = corners[(i + 1) % corners.count]
                let py = Double(y)
                if (ay <= py && py < by) || (by <= py && py < ay) { xs.append(ax + (py - ay) / (by - ay) * (bx - ax)) }
            }
            guard let lo = xs.min(), let hi = xs.max() else { continue }
            let first = max(0, Int(lo.rounded(.up))), last = min(width - 1, Int(hi.rounded(.down)))
            guard first <= last else { continue }
            for x in first...last { blend(x, y, c, alpha: alpha) }
        }
    }

    /// Text in the built-in 5×7 font (upper case, digits and `/.:-()%+,<>=?'`), each font pixel `scale` pixels, on a
    /// dark box so it stays legible over the image. (x, y) is the box's top-left corner; returns the box.
    @discardableResult
    public mutating func text(_ string: String, x: Int, y: Int, _ c: Colour, scale: Int = 2) -> OverlayRect {
        let glyphs = string.uppercased().map { Self.font[$0] ?? Self.font["?"]! }
        let box = OverlayRect(x: x, y: y, width: Self.textWidth(string, scale: scale), height: Self.textHeight(scale: scale))
        fill(box, (0, 0, 0))
        for (i, glyph) in glyphs.enumerated() {
            for (row, bits) in glyph.enumerated() {
                for col in 0..<5 where bits & (1 << (4 - col)) != 0 {
                    for sy in 0..<scale { for sx in 0..<scale { set(x + scale + (i * 6 + col) * scale + sx, y + scale + row * scale + sy, c) } }
                }
            }
        }
        return box
    }

    /// Width in pixels of the box `text` draws for `string` at `scale`: 6 font pixels a character and a margin each side.
    public static func textWidth(_ string: String, scale: Int = 2) -> Int { (string.count * 6 + 1) * scale }

    /// Height in pixels of the box `text` draws at `scale`: 7 font pixels and a margin above and below.
    public static func textHeight(scale: Int = 2) -> Int { 9 * scale }

    /// True when every character of `string` has a glyph (otherwise it would show as `?`).
    public static func canDraw(_ string: String) -> Bool { string.uppercased().allSatisfy { font[$0] != nil } }

    static let font: [Character: [UInt8]] = [
        "A": [14, 17, 17, 31, 17, 17, 17], "B": [30, 17, 17, 30, 17, 17, 30], "C": [14, 17, 16, 16, 16, 17, 14],
        "D": [30, 17, 17, 17, 17, 17, 30], "E": [31, 16, 16, 30, 16, 16, 31], "F": [31, 16, 16, 30, 16, 16, 16],
        "G": [14, 17, 16, 23, 17, 17, 15], "H": [17, 17, 17, 31, 17, 17, 17], "I": [14, 4, 4, 4, 4, 4, 14],
        "J": [7, 2, 2, 2, 2, 18, 12], "K": [17, 18, 20, 24, 20, 18, 17], "L": [16, 16, 16, 16, 16, 16, 31],
        "M": [17, 27, 21, 21, 17, 17, 17], "N": [17, 17, 25, 21, 19, 17, 17], "O": [14, 17, 17, 17, 17, 17, 14],
        "P": [30, 17, 17, 30, 16, 16, 16], "Q": [14, 17, 17, 17, 21, 18, 13], "R": [30, 17, 17, 30, 20, 18, 17],
        "S": [15, 16, 16, 14, 1, 1, 30], "T": [31, 4, 4, 4, 4, 4, 4], "U": [17, 17, 17, 17, 17, 17, 14],
        "V": [17, 17, 17, 17, 17, 10, 4], "W": [17, 17, 17, 21, 21, 21, 10], "X": [17, 17, 10, 4, 10, 17, 17],
        "Y": [17, 17, 10, 4, 4, 4, 4], "Z": [31, 1, 2, 4, 8, 16, 31],
        "0": [14, 17, 19, 21, 25, 17, 14], "1": [4, 12, 4, 4, 4, 4, 14], "2": [14, 17, 1, 2, 4, 8, 31],
        "3": [31, 2, 4, 2, 1, 17, 14], "4": [2, 6, 10, 18, 31, 2, 2], "5": [31, 16, 30, 1, 1, 17, 14],
        "6": [6, 8, 16, 30, 17, 17, 14], "7": [31, 1, 2, 4, 8, 8, 8], "8": [14, 17, 17, 14, 17, 17, 14],
        "9": [14, 17, 17, 15, 1, 2, 12],
        " ": [0, 0, 0, 0, 0, 0, 0], "/": [1, 1, 2, 4, 8, 16, 16], ".": [0, 0, 0, 0, 0, 12, 12],
        ":": [0, 12, 12, 0, 12, 12, 0], "-": [0, 0, 0, 31, 0, 0, 0], "(": [2, 4, 8, 8, 8, 4, 2],
        ")": [8, 4, 2, 2, 2, 4, 8], "%": [24, 25, 2, 4, 8, 19, 3], "+": [0, 4, 4, 31, 4, 4, 0],
        ",": [0, 0, 0, 0, 12, 4, 8], "<": [2, 4, 8, 16, 8, 4, 2], ">": [8, 4, 2, 1, 2, 4, 8],
        "=": [0, 0, 31, 0, 31, 0, 0], "?": [14, 17, 1, 2, 4, 0, 4], "'": [4, 4, 8, 0, 0, 0, 0],
        ";": [0, 12, 12, 0, 12, 4, 8],
    ]
}

extension OverlayCanvas {
    /// The canvas as a PNG file's bytes.
    public var png: [UInt8] { PNGEncoder.rgb(width: width, height: height, pixels: pixels) }
}
