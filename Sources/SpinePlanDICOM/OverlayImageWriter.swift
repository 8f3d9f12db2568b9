import SpinePlanGeometry

/// The console overlay: the mid-sagittal localizer with each planned stack drawn as its slab and field of view, a
/// labelled leader line to each disc, a legend and plain-language notes, as a Secondary Capture image in its own
/// series. Most consoles cannot render SR; every console can show an image.
public enum OverlayImageWriter {
    /// One planned stack, geometry only (the planner's types stay out of this module).
    public struct Stack: Sendable {
        public var label: String
        public var centre: Vector3
        public var normal: Vector3
        public var fieldOfView: SIMD2<Double>
        public var slices: Int
        public var spacing: Double
        /// The planner's confidence (0...1); nil when not known.
        public var confidence: Double?
        /// The stack's row direction, which says which side of the field of view the localizer cuts through; nil
        /// draws the larger side.
        public var rowDirection: Vector3?

        public init(label: String, centre: Vector3, normal: Vector3, fieldOfView: SIMD2<Double>, slices: Int, spacing: Double,
                    confidence: Double? = nil, rowDirection: Vector3? = nil) {
            self.label = label
            self.centre = centre
            self.normal = normal
            self.fieldOfView = fieldOfView
            self.slices = slices
            self.spacing = spacing
            self.confidence = confidence
            self.rowDirection = rowDirection
        }

        /// How the stack is drawn: one colour per kind, the same in the legend.
        public enum Kind: Sendable, CaseIterable {
            case named, unnamed, lowConfidence
        }

        /// Below this confidence a plane is drawn as "check it": under 0.6 about half the planes miss 1 mm or 2°
        /// (the calibration in `Docs/planner.md`).
        public static let lowConfidence = 0.6

        public var kind: Kind {
            if label.isEmpty || label.hasPrefix("?") { return .unnamed }
            if let confidence, confidence < Self.lowConfidence { return .lowConfidence }
            return .named
        }

        /// The label as drawn: unnamed stacks are numbered up from the sacrum ("?2" becomes "Disc 2").
        var caption: String {
            switch kind {
            case .unnamed: return "Disc " + label.drop { $0 == "?" }
            case .lowConfidence: return label + " check"
            case .named: return label
            }
        }
    }

    /// The rendered overlay, its PNG encoding and where its text went.
    public struct Rendering: Sendable {
        public var canvas: OverlayCanvas
        public var textBoxes: OverlayTextBoxes
        /// Encoded when asked for, not on the way to the console: the daemon sends the DICOM overlay, and only the
        /// CLI and QA recordings want a PNG (its row filters and deflate took about 15 ms of a 512² report).
        public var png: [UInt8] { canvas.png }
    }

    static func colour(_ kind: Stack.Kind) -> OverlayCanvas.Colour {
        // Yellow, cyan and magenta stay apart for the common colour-vision deficiencies and on grey anatomy.
        switch kind {
        case .named: return (255, 210, 0)
        case .unnamed: return (0, 200, 255)
        case .lowConfidence: return (255, 80, 210)
        }
    }

    static func legend(_ kind: Stack.Kind) -> String {
        switch kind {
        case .named: return "Named"
        case .unnamed: return "Not named"
        case .lowConfidence: return "Low confidence"
        }
    }

    /// Draws the stacks over `midSagittal`; `notes` (the abstention, the planner's warnings) are put in plain words
    /// (`OverlayMessages`) under the title. `size` is the longest side of the image in pixels; by default the slice
    /// is enlarged by a whole factor to at least 512.
    public static func render(midSagittal slice: Slice, stacks: [Stack], notes: [String], size: Int? = nil) -> Rendering {
        let plane = slice.plane
        let longest = max(plane.rows, plane.columns)
        let zoom = size.map { Double($0) / Double(longest) } ?? Double(max(1, 512 / longest))
        var canvas = OverlayCanvas(width: max(1, Int((Double(plane.columns) * zoom).rounded())),
                                   height: max(1, Int((Double(plane.rows) * zoom).rounded())))
        paintImage(slice, zoom: zoom, on: &canvas)
        let width = canvas.width, height = canvas.height

        // The font grows with the image: 5×7 pixels a glyph at 256, 20×28 at 1024, but keeps 34 characters a line.
        var fontScale = max(1, max(width, height) / 256)
        while fontScale > 1 && width < 36 * 6 * fontScale { fontScale -= 1 }
        let lineHeight = OverlayCanvas.textHeight(scale: fontScale), gap = max(2, fontScale * 2), margin = max(2, fontScale * 2)
        var boxes = OverlayTextBoxes(width: width, height: height)

        // Header: the title, then the notes, wrapped; no more than 40 % of the height, the rest said to be in the report.
        let maxChars = max(4, (width - 2 * margin) / (6 * fontScale) - 1)
        let messages = OverlayMessages.plain(notes)
        let maxLines = max(1, Int(0.4 * Double(height)) / (lineHeight + gap))
        var header: [(String, OverlayTextBoxes.Role)] = wrap(OverlayMessages.title, maxChars).map { ($0, .title) }
        for (i, message) in messages.enumerated() {
            let lines = wrap(message, maxChars)
            let left = messages.count - i
            let reserve = left > 1 ? 1 : 0
            if header.count + lines.count + reserve > maxLines {
                header += wrap("+\(left) more in the report", maxChars).prefix(max(0, maxLines - header.count)).map { ($0, .message) }
                break
            }
            header += lines.map { ($0, .message) }
        }
        var y = margin
        for (line, role) in header.prefix(maxLines) {
            let rect = canvas.text(line, x: margin, y: y, role == .title ? (255, 255, 255) : (255, 170, 60), scale: fontScale)
            boxes.boxes.append(.init(text: line, rect: rect, role: role))
            y += lineHeight + gap
        }
        let bandTop = y + gap

        // Legend along the bottom, wrapping onto a second row on narrow images.
        let swatch = 7 * fontScale
        var legendRows: [[(Stack.Kind, Int)]] = [[]]
        var rowWidth = margin
        for kind in Stack.Kind.allCases {
            let itemWidth = swatch + fontScale + OverlayCanvas.textWidth(legend(kind), scale: fontScale)
            if rowWidth + itemWidth + margin > width && !legendRows[legendRows.count - 1].isEmpty {
                legendRows.append([])
                rowWidth = margin
            }
            legendRows[legendRows.count - 1].append((kind, rowWidth))
            rowWidth += itemWidth + 3 * gap
        }
        let legendTop = height - margin - legendRows.count * (lineHeight + gap) + gap
        for (r, row) in legendRows.enumerated() {
            let rowY = legendTop + r * (lineHeight + gap)
            for (kind, x) in row {
                let text = canvas.text(legend(kind), x: x + swatch + fontScale, y: rowY, colour(kind), scale: fontScale)
                let swatchRect = OverlayRect(x: x, y: rowY, width: swatch + fontScale, height: lineHeight)
                canvas.fill(swatchRect, (0, 0, 0))
                canvas.fill(OverlayRect(x: x + fontScale, y: rowY + fontScale, width: swatch - fontScale, height: lineHeight - 2 * fontScale), colour(kind))
                boxes.boxes.append(.init(text: legend(kind), rect: OverlayRect(x: x, y: rowY, width: text.maxX - x, height: lineHeight), role: .legend))
            }
        }
        let bandBottom = legendTop - gap

        // Stacks: a tinted slab from the first to the last slice across the field of view, the centre slice bold.
        struct Drawn { var stack: Stack; var centre: (SIMD2<Double>, SIMD2<Double>) }
        var drawn: [Drawn] = []
        for stack in stacks {
            let c = colour(stack.kind)
            let half = (Double(max(1, stack.slices)) - 1) / 2 * stack.spacing
            guard let mid = segment(stack, offset: 0, plane: plane, zoom: zoom),
                  let centre = clip(mid, width: width, height: height) else { continue }
            if let first = segment(stack, offset: -half, plane: plane, zoom: zoom),
               let last = segment(stack, offset: half, plane: plane, zoom: zoom) {
                let corners = [first.0, first.1, last.1, last.0].map { ($0.x, $0.y) }
                canvas.tint(corners, c, alpha: 0.18)
                let outline = max(1, fontScale / 2), dash = stack.kind == .named ? 0 : 3 * fontScale
                for i in corners.indices {
                    let a = corners[i], b = corners[(i + 1) % corners.count]
                    canvas.line(a.0, a.1, b.0, b.1, c, thickness: outline, dash: dash)
                }
            }
            canvas.line(centre.0.x, centre.0.y, centre.1.x, centre.1.y, c, thickness: max(2, fontScale))
            drawn.append(Drawn(stack: stack, centre: centre))
        }

        // Labels: one column on the side with more room, in the discs' order, joined to them by leader lines.
        if !drawn.isEmpty {
            let xs = drawn.flatMap { [$0.centre.0.x, $0.centre.1.x] }
            let right = Double(width) - xs.max()! >= xs.min()!
            let captions = drawn.map(\.stack.caption)
            // Each leader ends on the disc: where the stack's centre projects onto its (visible) centre line.
            let anchors = drawn.map { d -> SIMD2<Double> in
                let (a, b) = d.centre, ab = b - a
                let pixel = plane.pixelCoordinate(of: d.stack.centre)
                let disc = SIMD2((pixel.x + 0.5) * zoom - 0.5, (pixel.y + 0.5) * zoom - 0.5)
                let t = (ab * ab).sum() > 0 ? min(1, max(0, ((disc - a) * ab).sum() / (ab * ab).sum())) : 0
                return a + ab * t
            }
            let layout = OverlayLabelLayout(top: bandTop, bottom: bandBottom, gap: gap)
            let tops = layout.place(wanted: anchors.map(\.y), height: lineHeight)
            for (i, top) in tops.enumerated() {
                guard let top else { continue }
                let w = OverlayCanvas.textWidth(captions[i], scale: fontScale)
                let x = right ? width - margin - w : margin
                let c = colour(drawn[i].stack.kind)
                let edge = SIMD2(Double(right ? x : x + w), Double(top + lineHeight / 2))
                canvas.line(edge.x, edge.y, anchors[i].x, anchors[i].y, c, thickness: max(1, (fontScale + 1) / 2))
                let dot = max(2, fontScale)
                canvas.fill(OverlayRect(x: Int(anchors[i].x) - dot / 2, y: Int(anchors[i].y) - dot / 2, width: dot + 1, height: dot + 1), c)
            }
            for (i, top) in tops.enumerated() {
                guard let top else { continue }
                let w = OverlayCanvas.textWidth(captions[i], scale: fontScale)
                let rect = canvas.text(captions[i], x: right ? width - margin - w : margin, y: top, colour(drawn[i].stack.kind), scale: fontScale)
                boxes.boxes.append(.init(text: captions[i], rect: rect, role: .label, anchor: anchors[i]))
            }
        }
        return Rendering(canvas: canvas, textBoxes: boxes)
    }

    /// The slice in grey, windowed from the 1st to the 99.5th percentile, resampled bilinearly by `zoom`.
    static func paintImage(_ slice: Slice, zoom: Double, on canvas: inout OverlayCanvas) {
        let plane = slice.plane
        let sorted = slice.pixels.filter { $0.isFinite }.sorted()
        let low = sorted.isEmpty ? 0 : sorted[Int(0.01 * Double(sorted.count - 1))]
        let high = sorted.isEmpty ? 1 : max(low + 1e-6, sorted[Int(0.995 * Double(sorted.count - 1))])
        func value(_ c: Int, _ r: Int) -> Float {
            let v = slice.pixels[min(plane.rows - 1, max(0, r)) * plane.columns + min(plane.columns - 1, max(0, c))]
            return v.isFinite ? v : low
        }
        for y in 0..<canvas.height {
            let sy = (Double(y) + 0.5) / zoom - 0.5, r = Int(sy.rounded(.down)), fy = Float(sy - Double(r))
            for x in 0..<canvas.width {
                let sx = (Double(x) + 0.5) / zoom - 0.5, c = Int(sx.rounded(.down)), fx = Float(sx - Double(c))
                let top = value(c, r) * (1 - fx) + value(c + 1, r) * fx
                let bottom = value(c, r + 1) * (1 - fx) + value(c + 1, r + 1) * fx
                let v = top * (1 - fy) + bottom * fy
                let g = UInt8(max(0, min(255, (v - low) / (high - low) * 255)))
                canvas.set(x, y, (g, g, g))
            }
        }
    }

    /// Where the slice `offset` mm along the stack's normal from its centre cuts the localizer, as canvas points at
    /// the two ends of its field of view; nil when it runs parallel to the localizer or its field of view misses it.
    static func segment(_ stack: Stack, offset: Double, plane: ImagePlane, zoom: Double) -> (SIMD2<Double>, SIMD2<Double>)? {
        let m = plane.normal, n = stack.normal.normalized
        let along = m.cross(n)
        guard along.length > 0.05 else { return nil }
        let d = along.normalized, e = m.cross(d).normalized
        let c = stack.centre + n * offset
        // The point of the cut line nearest the slice centre: on the localizer and on the slice plane.
        var p = c - m * (c - plane.position).dot(m)
        p = p + e * (-(p - c).dot(n) / e.dot(n))
        p = p + d * (c - p).dot(d)
        var range = -max(stack.fieldOfView.x, stack.fieldOfView.y) / 2...max(stack.fieldOfView.x, stack.fieldOfView.y) / 2
        if let row = stack.rowDirection?.normalized {
            let column = n.cross(row).normalized
            // The part of the cut line inside the rectangle |row| <= fov.x / 2, |column| <= fov.y / 2.
            var lo = -Double.infinity, hi = Double.infinity
            for (axis, half) in [(row, stack.fieldOfView.x / 2), (column, stack.fieldOfView.y / 2)] {
                let a = (p - c).dot(axis), b = d.dot(axis)
                if abs(b) < 1e-9 {
                    if abs(a) > half { return nil }
                } else {
                    let t0 = (-half - a) / b, t1 = (half - a) / b
                    lo = max(lo, min(t0, t1))
                    hi = min(hi, max(t0, t1))
                }
            }
            guard lo < hi, lo.isFinite, hi.isFinite else { return nil }
            range = lo...hi
        }
        func canvasPoint(_ q: Vector3) -> SIMD2<Double> {
            let pixel = plane.pixelCoordinate(of: q)
            return SIMD2((pixel.x + 0.5) * zoom - 0.5, (pixel.y + 0.5) * zoom - 0.5)
        }
        return (canvasPoint(p + d * range.lowerBound), canvasPoint(p + d * range.upperBound))
    }

    /// The part of a segment on the canvas (Liang-Barsky); nil when it lies wholly outside.
    static func clip(_ s: (SIMD2<Double>, SIMD2<Double>), width: Int, height: Int) -> (SIMD2<Double>, SIMD2<Double>)? {
        let (a, b) = s, delta = b - a
        var lo = 0.0, hi = 1.0
        for (p, q) in [(-delta.x, a.x), (delta.x, Double(width - 1) - a.x), (-delta.y, a.y), (delta.y, Double(height - 1) - a.y)] {
            if p == 0 {
                if q < 0 { return nil }
            } else {
                let t = q / p
                if p < 0 { lo = max(lo, t) } else { hi = min(hi, t) }
            }
        }
        guard lo <= hi else { return nil }
        return (a + delta * lo, a + delta * hi)
    }

    /// `text` in lines of at most `maxChars`, broken at spaces (a word longer than a line is cut).
    static func wrap(_ text: String, _ maxChars: Int) -> [String] {
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            var word = String(word)
            while word.count > maxChars {
                if !line.isEmpty { lines.append(line); line = "" }
                lines.append(String(word.prefix(maxChars)))
                word = String(word.dropFirst(maxChars))
            }
            if line.isEmpty { line = word } else if line.count + 1 + word.count <= maxChars { line += " " + word } else {
                lines.append(line)
                line = word
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// The overlay as a Secondary Capture object in a new series of the localizer's study.
    public static func make(_ rendering: Rendering, source slice: Slice, seriesNumber: Int = 9901) throws(DICOMError) -> DICOMObject {
        let object = try DICOMObject()
        let root = object.root
        let ps = slice.patientStudy
        try root.set(.specificCharacterSet, "ISO_IR 192")
        try root.set(.sopClassUID, SOPClass.secondaryCaptureImageStorage)
        try root.set(.sopInstanceUID, DICOMUID.make())
        try root.set(.imageType, "DERIVED\\SECONDARY")
        try root.set(.studyDate, ps.studyDate)
        try root.set(.studyTime, ps.studyTime)
        try root.set(.accessionNumber, ps.accessionNumber)
        try root.set(.modality, "MR")
        try root.set(.conversionType, "WSD")
        try root.set(.manufacturer, "SpinePlan")
        try root.set(.referringPhysicianName, ps.referringPhysicianName)
        try root.set(.studyDescription, ps.studyDescription)
        try root.set(.seriesDescription, "SpinePlan planned axial stacks")
        try root.set(.patientName, ps.patientName)
        try root.set(.patientID, ps.patientID)
        try root.set(.patientBirthDate, ps.patientBirthDate)
        try root.set(.patientSex, ps.patientSex)
        try root.set(.studyInstanceUID, ps.studyInstanceUID)
        try root.set(.seriesInstanceUID, DICOMUID.make())
        try root.set(.studyID, ps.studyID)
        try root.set(.seriesNumber, String(seriesNumber))
        try root.set(.instanceNumber, "1")
        try root.set(.patientOrientation, "")
        try root.set(.laterality, "")
        try root.set(.burnedInAnnotation, "YES")
        try root.set(.samplesPerPixel, uint16: 3)
        try root.set(.photometricInterpretation, "RGB")
        try root.set(.planarConfiguration, uint16: 0)
        try root.set(.rows, uint16: UInt16(rendering.canvas.height))
        try root.set(.columns, uint16: UInt16(rendering.canvas.width))
        try root.set(.bitsAllocated, uint16: 8)
        try root.set(.bitsStored, uint16: 8)
        try root.set(.highBit, uint16: 7)
        try root.set(.pixelRepresentation, uint16: 0)
        var pixels = rendering.canvas.pixels
        if pixels.count % 2 == 1 { pixels.append(0) }
        try root.set(.pixelData, bytes: pixels)
        return object
    }
}
