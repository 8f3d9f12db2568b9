/// Every text rectangle an overlay drew, so tests (and anyone laying out more) can check that none overlap and none
/// run off the image.
public struct OverlayTextBoxes: Sendable {
    /// What a piece of text is for.
    public enum Role: String, Sendable {
        case title, message, label, legend
    }

    /// One drawn text box: what it says, where, and for a level label the point its leader line points at.
    public struct Box: Sendable, CustomStringConvertible {
        public var text: String
        public var rect: OverlayRect
        public var role: Role
        /// For a label, the canvas point on its stack that the leader line reaches.
        public var anchor: SIMD2<Double>?

        public init(text: String, rect: OverlayRect, role: Role, anchor: SIMD2<Double>? = nil) {
            self.text = text
            self.rect = rect
            self.role = role
            self.anchor = anchor
        }

        public var description: String { "\(role.rawValue) \"\(text)\" at \(rect)" }
    }

    public var width: Int
    public var height: Int
    public var boxes: [Box]

    public init(width: Int, height: Int, boxes: [Box] = []) {
        self.width = width
        self.height = height
        self.boxes = boxes
    }

    /// Pairs of boxes that share pixels.
    public var overlapping: [(Box, Box)] {
        var out: [(Box, Box)] = []
        for i in boxes.indices {
            for j in boxes.indices where j > i && boxes[i].rect.intersects(boxes[j].rect) { out.append((boxes[i], boxes[j])) }
        }
        return out
    }

    /// Boxes that reach past the image's edge.
    public var clipped: [Box] { boxes.filter { !$0.rect.isInside(width: width, height: height) } }

    /// The boxes with `role`.
    public func boxes(_ role: Role) -> [Box] { boxes.filter { $0.role == role } }
}
