import SpinePlanGeometry

/// The console overlay: the mid-sagittal localizer with each planned stack drawn as labelled lines, as a Secondary
/// Capture image in its own series. Most consoles cannot render SR; every console can show an image.
public enum OverlayImageWriter {
    /// One planned stack, geometry only (the planner's types stay out of this module).
    public struct Stack: Sendable {
        public var label: String
        public var centre: Vector3
        public var normal: Vector3
        public var fieldOfView: SIMD2<Double>
        public var slices: Int
        public var spacing: Double

        public init(label: String, centre: Vector3, normal: Vector3, fieldOfView: SIMD2<Double>, slices: Int, spacing: Double) {
            self.label = label
            self.centre = centre
            self.normal = normal
            self.fieldOfView = fieldOfView
            self.slices = slices
            self.spacing = spacing
        }
    }

    /// The rendered overlay and its PNG encoding.
    public struct Rendering: Sendable {
        public var canvas: OverlayCanvas
        public var png: [UInt8]
    }

    /// Draws the stacks over `midSagittal`; `notes` (abstention, warnings) go along the top.
    public static func render(midSagittal slice: Slice, stacks: [Stack], notes: [String]) -> Rendering {
        let plane = slice.plane
        let scale = max(1, 512 / max(plane.rows, plane.columns))
        var canvas = OverlayCanvas(width: plane.columns * scale, height: plane.rows * scale)
        let sorted = slice.pixels.filter { $0.isFinite }.sorted()
        let low = sorted.isEmpty ? 0 : sorted[Int(0.01 * Double(sorted.count - 1))]
        let high = sorted.isEmpty ? 1 : max(low + 1e-6, sorted[Int(0.995 * Double(sorted.count - 1))])
        for y in 0..<canvas.height {
            for x in 0..<canvas.width {
                let v = slice.pixels[(y / scale) * plane.columns + x / scale]
                let g = UInt8(max(0, min(255, (v - low) / (high - low) * 255)))
                canvas.set(x, y, (g, g, g))
            }
        }
        let m = plane.normal
        for stack in stacks {
            let n = stack.normal.normalized
            let along = m.cross(n)
            guard along.length > 0.05 else { continue }
            let d = along.normalized, e = m.cross(d).normalized
            let half = max(stack.fieldOfView.x, stack.fieldOfView.y) / 2
            var labelAnchor: (Double, Double)?
            for k in 0..<max(1, stack.slices) {
                let c = stack.centre + n * ((Double(k) - Double(stack.slices - 1) / 2) * stack.spacing)
                var p = c - m * (c - plane.position).dot(m)
                let denominator = e.dot(n)
                guard abs(denominator) > 1e-6 else { continue }
                p = p + e * (-(p - c).dot(n) / denominator)
                let a = plane.pixelCoordinate(of: p - d * half), b = plane.pixelCoordinate(of: p + d * half)
                let isCentre = k == (stack.slices - 1) / 2
                let colour: OverlayCanvas.Colour = isCentre ? (255, 210, 0) : (0, 200, 90)
                let s = Double(scale)
                canvas.line(a.x * s, a.y * s, b.x * s, b.y * s, colour, thickness: isCentre ? 2 : 1)
                if isCentre { labelAnchor = a.x > b.x ? (a.x * s, a.y * s) : (b.x * s, b.y * s) }
            }
            if let (x, y) = labelAnchor {
                let textX = min(Int(x) + 6, canvas.width - OverlayCanvas.textWidth(stack.label) - 2)
                canvas.text(stack.label, x: max(2, textX), y: max(2, Int(y) - 7), (255, 210, 0))
            }
        }
        var y = 4
        for note in (["SPINEPLAN SUGGESTION - CHECK BEFORE SCANNING"] + notes).prefix(8) {
            let maxChars = max(8, (canvas.width - 8) / 12)
            let text = note.count > maxChars ? String(note.prefix(maxChars - 2)) + ".." : note
            canvas.text(text, x: 6, y: y, y == 4 ? (255, 255, 255) : (255, 120, 60))
            y += 20
        }
        return Rendering(canvas: canvas, png: PNGEncoder.rgb(width: canvas.width, height: canvas.height, pixels: canvas.pixels))
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
        try root.set(Tag(0x0008, 0x0064), "WSD")
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
        try root.set(Tag(0x0020, 0x0020), "")
        try root.set(Tag(0x0020, 0x0060), "")
        try root.set(.burnedInAnnotation, "YES")
        try root.set(.samplesPerPixel, uint16: 3)
        try root.set(.photometricInterpretation, "RGB")
        try root.set(Tag(0x0028, 0x0006), uint16: 0)
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
