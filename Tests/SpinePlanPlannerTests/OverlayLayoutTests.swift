import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner
import Testing

/// The overlay a technologist reads: no text over other text, nothing cut at the image edge, plain words only.
@Suite struct OverlayLayoutTests {
    /// Console display sizes the overlay must stay legible at (nil: the writer's default, the slice enlarged to ≥ 512).
    static let sizes: [Int?] = [256, 384, 512, 768, 1024, nil]

    /// Words that would mean internal detail reached the console.
    static let internalWords = ["VOXEL", "SPECK", "PROBABILIT", "SEGMENTATION", "CLASS", "MODEL IS UNSURE"]

    /// Everything a technologist-facing overlay must satisfy; `what` names the case in failures.
    static func checkLegible(_ rendering: OverlayImageWriter.Rendering, labels expected: Int? = nil, _ what: String) {
        let boxes = rendering.textBoxes
        #expect(boxes.width == rendering.canvas.width && boxes.height == rendering.canvas.height)
        for (a, b) in boxes.overlapping { Issue.record("\(what): \(a) overlaps \(b)") }
        for box in boxes.clipped { Issue.record("\(what): \(box) runs off the \(boxes.width)×\(boxes.height) image") }
        for box in boxes.boxes {
            #expect(OverlayCanvas.canDraw(box.text), "\(what): \"\(box.text)\" has characters the font lacks")
            let upper = box.text.uppercased()
            #expect(!internalWords.contains { upper.contains($0) }, "\(what): internal detail on the overlay: \(box.text)")
        }
        // The title is there in full, not cut ("CHECK BEFORE SCAN..").
        let title = boxes.boxes(.title).map(\.text).joined(separator: " ")
        #expect(title == OverlayMessages.title, "\(what): title reads \"\(title)\"")
        #expect(boxes.boxes(.legend).count == 3, "\(what): legend \(boxes.boxes(.legend).map(\.text))")
        let labels = boxes.boxes(.label)
        if let expected { #expect(labels.count == expected, "\(what): \(labels.count) labels for \(expected) stacks") }
        // Labels keep their discs' order from head to foot, so leader lines never cross.
        let byAnchor = labels.sorted { $0.anchor!.y < $1.anchor!.y }.map(\.rect.y)
        #expect(byAnchor == byAnchor.sorted(), "\(what): labels out of the discs' order")
        // The font grows with the image: glyphs at least 7 pixels tall, and about 3 % of the image height.
        let textHeight = boxes.boxes.map(\.rect.height).min() ?? 0
        #expect(textHeight >= OverlayCanvas.textHeight(scale: max(1, min(boxes.width, boxes.height) / 300)),
                "\(what): \(textHeight) px text on a \(boxes.width)×\(boxes.height) image")
    }

    /// When set, a directory the phantom overlays are written to as PNG (for `scripts/montage.py --overlays`).
    static let dump = ProcessInfo.processInfo.environment["SPINEPLAN_OVERLAY_DUMP"]

    @Test("50 phantom sessions, named, abstained and damaged, at console sizes 256 to 1024: no overlap, nothing clipped")
    func phantoms() throws {
        var abstained = 0, lowConfidence = 0, planes = 0
        let clock = ContinuousClock()
        var planning = Duration.zero, drawing = Duration.zero
        for index in 0..<50 {
            var phantom: OverlayPhantom!
            planning += clock.measure { phantom = OverlayPhantom.make(index) }
            let size = Self.sizes[index % Self.sizes.count]
            var rendering: OverlayImageWriter.Rendering!
            drawing += clock.measure {
                rendering = OverlayImageWriter.render(midSagittal: phantom.midSagittal, stacks: phantom.stacks, notes: phantom.notes, size: size)
            }
            if let dump = Self.dump {
                let kind = phantom.plan.abstained ? "abstained" : "named"
                try Data(rendering.png).write(to: URL(fileURLWithPath: "\(dump)/\(phantom.name)-\(kind)-\(rendering.canvas.width)px.png"))
            }
            Self.checkLegible(rendering, labels: phantom.plan.planes.count, "\(phantom.name) at \(size.map(String.init) ?? "default")")
            if phantom.plan.abstained {
                abstained += 1
                let first = rendering.textBoxes.boxes(.message).map(\.text).joined(separator: " ")
                #expect(first.hasPrefix("Levels not named:"), "\(phantom.name): messages \(first)")
            }
            lowConfidence += phantom.stacks.filter { $0.kind == .lowConfidence }.count
            planes += phantom.plan.planes.count
        }
        print("overlay phantoms: \(abstained) abstained, \(lowConfidence) low-confidence planes of \(planes); planning \(planning), drawing \(drawing)")
        // The family covers what the overlay must show: abstentions and low-confidence planes among the named ones.
        #expect(abstained >= 5 && abstained < 50, "\(abstained) of 50 abstained")
        #expect(lowConfidence > 0, "no low-confidence plane among \(planes)")
    }

    /// A slice the size of a console display, `pixels` square at 1 mm, mid-sagittal through the origin.
    static func blankSlice(_ pixels: Int) -> Slice {
        let half = Double(pixels) / 2
        let plane = ImagePlane(position: Vector3(0, -half, half), rowDirection: Vector3(0, 1, 0), columnDirection: Vector3(0, 0, -1),
                               pixelSpacing: SIMD2(1, 1), rows: pixels, columns: pixels)
        return Slice(sopInstanceUID: "2.25.10", seriesInstanceUID: "2.25.11", frameOfReferenceUID: "2.25.12", plane: plane,
                     patientStudy: PatientStudy(studyInstanceUID: "2.25.13"),
                     pixels: (0..<(pixels * pixels)).map { Float(($0 % pixels) + ($0 / pixels) % 37) })
    }

    /// Seven axial stacks with centres `step` mm apart from 100 mm above the middle of the slice down.
    static func crowded(step: Double, top: Double = 15, label: (Int) -> String = { ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1", "L5/L6", "L6/S1"][$0] }) -> [OverlayImageWriter.Stack] {
        (0..<7).map { i in
            OverlayImageWriter.Stack(label: label(i), centre: Vector3(0, 0, top - Double(i) * step), normal: Vector3(0, 0, -1),
                                     fieldOfView: SIMD2(200, 200), slices: 5, spacing: 4.4, confidence: i == 3 ? 0.3 : 0.9,
                                     rowDirection: Vector3(1, 0, 0))
        }
    }

    @Test("discs 5 mm apart at 256 and 1024 px: labels at their discs would overlap; laid out, they do not", arguments: [256, 512, 1024])
    func closeDiscs(size: Int) {
        let rendering = OverlayImageWriter.render(midSagittal: Self.blankSlice(size), stacks: Self.crowded(step: 5),
                                                  notes: [], size: size)
        Self.checkLegible(rendering, labels: 7, "5 mm apart at \(size) px")
        // The old layout put each label beside its own disc; here that overlaps, so this case tests the layout.
        let labels = rendering.textBoxes.boxes(.label)
        let naive = labels.map { box in
            OverlayRect(x: box.rect.x, y: Int(box.anchor!.y) - box.rect.height / 2, width: box.rect.width, height: box.rect.height)
        }
        #expect(naive.indices.contains { i in naive.indices.contains { j in j > i && naive[i].intersects(naive[j]) } })
    }

    @Test("a long abstention reason and many warnings wrap to the width and give way to '+N more', at 256 and 1024 px",
          arguments: [256, 1024])
    func longMessages(size: Int) {
        let reason = "conflicting level evidence: " + Array(repeating: "the vertebra above the sacrum is labelled L3, expected L4, L5 or L6",
                                                             count: 6).joined(separator: "; ")
        let warnings = ["L4/S1: only a speck of 1 voxels, ignored",
                        "L3/L4: the disc's own plane is 12° off the axis of its vertebrae; planned perpendicular to that axis",
                        "coronal tilt not measured for L3/L4, L4/L5, L5/S1: the stack is tilted in the sagittal plane only",
                        String(repeating: "averyveryveryverylongwordwithoutanyspaces", count: 3)]
            + (0..<12).map { "L\($0 % 5 + 1)/L\($0 % 5 + 2): stack shortened from 9 to \($0 % 5 + 3) slices to stay clear of the neighbouring disc" }
        let stacks = Self.crowded(step: 30, top: 100) { "?\($0 + 1)" }
        let rendering = OverlayImageWriter.render(midSagittal: Self.blankSlice(size), stacks: stacks,
                                                  notes: ["LEVELS NOT NAMED: " + reason] + warnings, size: size)
        Self.checkLegible(rendering, labels: 7, "long messages at \(size) px")
        let messages = rendering.textBoxes.boxes(.message).map(\.text)
        #expect(messages.joined(separator: " ").hasPrefix("Levels not named: the vertebrae cannot be counted consistently"), "\(messages)")
        #expect(messages.last?.hasPrefix("+") == true, "\(messages)")
        #expect(rendering.textBoxes.boxes(.label).allSatisfy { $0.text.hasPrefix("Disc ") })
    }

    @Test("stacks wider than the image and a stack off the slice: drawn inside, labelled inside")
    func offImage() {
        var stacks = Self.crowded(step: 30, top: 100)
        for i in stacks.indices { stacks[i].fieldOfView = SIMD2(600, 600) }
        stacks.append(.init(label: "L5/S1", centre: Vector3(0, 0, 900), normal: Vector3(0, 0, -1), fieldOfView: SIMD2(200, 200),
                            slices: 5, spacing: 4.4))
        let rendering = OverlayImageWriter.render(midSagittal: Self.blankSlice(256), stacks: stacks, notes: [], size: 256)
        Self.checkLegible(rendering, labels: 7, "wide stacks")
    }

    @Test("the planner's notes in plain words for the technologist")
    func plainMessages() {
        let cases: [(String, String?)] = [
            ("LEVELS NOT NAMED: no sacrum in view: levels cannot be counted", "Levels not named: the sacrum is not in view"),
            ("LEVELS NOT NAMED: the model is unsure of S1 (mean probability 0.41, below 0.5): levels are not named",
             "Levels not named: the sacrum is not clearly seen"),
            ("L4/S1: only a speck of 1 voxels, ignored", nil),
            ("L3/L4: too few voxels to fit a plane", "L3/L4: disc too small to plan on"),
            ("L3/L4 is not labelled: planned on the space between L3 and L4", "L3/L4 not seen: planned between L3 and L4"),
            ("transitional anatomy: no disc between L5 and the sacrum (possible sacralised L5)",
             "No disc between L5 and the sacrum: possibly a sacralised L5"),
            ("L2/L3: the coronal localizer disagrees with the sagittal disc by 7°, not used",
             "L2/L3: coronal localizer disagrees by 7 degrees, not used"),
            ("coronal tilt not measured", "Side-to-side tilt not measured"),
        ]
        for (raw, plain) in cases { #expect(OverlayMessages.plain(raw) == plain, "\(raw)") }
    }
}
