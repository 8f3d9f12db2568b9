/// An axis-aligned rectangle in canvas pixels: `x..<x+width` by `y..<y+height`.
public struct OverlayRect: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }

    /// True when the two share at least one pixel (touching edges do not count).
    public func intersects(_ other: OverlayRect) -> Bool {
        x < other.maxX && other.x < maxX && y < other.maxY && other.y < maxY
    }

    /// True when every pixel of `self` lies on a `width`×`height` canvas.
    public func isInside(width canvasWidth: Int, height canvasHeight: Int) -> Bool {
        x >= 0 && y >= 0 && maxX <= canvasWidth && maxY <= canvasHeight
    }

    public var description: String { "(\(x), \(y)) \(width)×\(height)" }
}
