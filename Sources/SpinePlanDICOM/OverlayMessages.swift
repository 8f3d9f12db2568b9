/// The planner's notes as the technologist reads them on the overlay: sentences about the anatomy or the system,
/// never about classes, voxels or probabilities.
///
/// The planner's warnings are written for engineers and are being reworded in the planner itself; until then the
/// overlay translates the ones it knows and drops what is internal detail. Keep `Docs/operations.md` in step.
public enum OverlayMessages {
    /// The first line of every overlay.
    public static let title = "SpinePlan suggestion: check before scanning"

    /// Words that mark a note as internal detail, not for the console.
    static let internalWords = ["voxel", "speck", "probabilit", "segmentation", "class", "grid", "network", "tensor"]

    /// Plain sentences for `notes`, in order, without repeats; internal detail is left out.
    public static func plain(_ notes: [String]) -> [String] {
        var out: [String] = []
        for note in notes {
            if let sentence = plain(note), !out.contains(sentence) { out.append(sentence) }
        }
        return out
    }

    /// One note as a plain sentence, or nil when it is internal detail.
    public static func plain(_ note: String) -> String? {
        let text = note.trimmingSpaces
        let lower = text.lowercased()
        if lower.hasPrefix("levels not named") {
            let reason = text.drop { $0 != ":" }.dropFirst()
            return abstention(String(reason))
        }
        if lower.contains("too few voxels to fit a plane") { return sentence("\(subject(text)): disc too small to plan on") }
        if lower.hasPrefix("transitional anatomy: six lumbar") {
            return "Six lumbar vertebrae: levels counted from the sacrum, confirm before scanning"
        }
        if lower.hasPrefix("transitional anatomy: four lumbar") {
            return "Four lumbar vertebrae: levels counted from the sacrum, confirm before scanning"
        }
        if lower.hasPrefix("transitional anatomy: no disc between"), let base = between(text, "between ", " and") {
            return "No disc between \(base) and the sacrum: possibly a sacralised \(base)"
        }
        if lower.hasPrefix("transitional anatomy: rudimentary"), let disc = between(text, "rudimentary ", " disc") {
            let base = between(text, "sacralised ", ")").map { ": possibly a sacralised \($0)" } ?? ""
            return "Thin \(disc) disc\(base)"
        }
        if lower.hasPrefix("transitional anatomy") { return "Transitional anatomy: confirm the levels before scanning" }
        if lower.contains("is not labelled: planned on the space between"), let upper = between(text, "between ", " and "),
           let lowerName = text.components(separatedBy: " and ").last {
            return "\(subject(text, separator: " is not")) not seen: planned between \(upper) and \(lowerName)"
        }
        if lower.hasPrefix("a single sagittal slice") {
            return "One sagittal slice only: side-to-side tilt from the coronal localizer, if sent"
        }
        if lower.hasPrefix("levels are the model's names only") { return "Levels not checked against the sacrum: confirm before scanning" }
        if lower.hasSuffix("is not midway between its vertebrae") {
            return "\(subject(text, separator: " is not")) is off the middle of its disc space: check it"
        }
        if lower.hasPrefix("thoracic levels not verified") { return "Thoracic levels not checked" }
        if lower.contains("off the axis of its vertebrae"), let degrees = between(text, "plane is ", "°") {
            return "\(subject(text)): disc wedged \(degrees) degrees, stack follows the vertebrae"
        }
        if lower.contains("the coronal localizer disagrees"), let degrees = between(text, "by ", "°") {
            return "\(subject(text)): coronal localizer disagrees by \(degrees) degrees, not used"
        }
        if lower.hasPrefix("coronal tilt not measured") {
            let levels = between(text, "for ", ":").map { " for \($0)" } ?? ""
            return "Side-to-side tilt not measured\(levels)"
        }
        if lower.hasSuffix("not found in the localizer: no stack planned") {
            return "\(subject(text, separator: " not found")) not found: no stack planned"
        }
        if lower.contains("stack shortened from"), let from = between(text, "from ", " to "), let to = between(text, " to ", " slices") {
            return "\(subject(text)): \(to) slices instead of \(from), to stay clear of the next disc"
        }
        if lower.hasPrefix("the localizer mixes") {
            return "Localizer series from different positionings: planned in the sagittal one's"
        }
        if internalWords.contains(where: { lower.contains($0) }) { return nil }
        let cleaned = sanitized(text)
        return cleaned.isEmpty ? nil : sentence(cleaned)
    }

    /// "Levels not named: …" with the planner's abstention reason in plain words.
    public static func abstention(_ reason: String?) -> String {
        "Levels not named: " + plainReason(reason ?? "")
    }

    static func plainReason(_ reason: String) -> String {
        let text = reason.trimmingSpaces, lower = text.lowercased()
        if lower.hasPrefix("no sacrum in view") || lower.hasPrefix("the sacrum is not in view") { return "the sacrum is not in view" }
        if lower.hasPrefix("no vertebra above the sacrum") { return "no vertebra above the sacrum is in view" }
        if lower.hasPrefix("conflicting level evidence") { return "the vertebrae cannot be counted consistently" }
        if lower.hasPrefix("the model is unsure of"), let what = between(text, "unsure of ", " (") ?? between(text, "unsure of ", ":") {
            return (what == "S1" || what.lowercased() == "sacrum" ? "the sacrum" : what) + " is not clearly seen"
        }
        if lower.hasPrefix("no disc found") { return "no disc was found in the localizer" }
        if lower.hasPrefix("invalid scan protocol") { return "the scan protocol in the configuration is invalid" }
        if text.isEmpty || internalWords.contains(where: { lower.contains($0) }) { return "the anatomy is uncertain" }
        return sanitized(text.first!.lowercased() + text.dropFirst())
    }

    /// The subject before `separator` (by default the "L4/L5" of "L4/L5: …").
    static func subject(_ text: String, separator: String = ":") -> String {
        text.components(separatedBy: separator).first.map { $0.trimmingSpaces } ?? text
    }

    /// The text between the first `start` and the next `end` after it.
    static func between(_ text: String, _ start: String, _ end: String) -> String? {
        guard let a = text.range(of: start), let b = text.range(of: end, range: a.upperBound..<text.endIndex) else { return nil }
        let inner = text[a.upperBound..<b.lowerBound].trimmingSpaces
        return inner.isEmpty ? nil : inner
    }

    /// Only characters the overlay font draws: degrees spelled out, other symbols replaced or dropped.
    static func sanitized(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "°": out += " degrees"
            case "×": out += "x"
            case "_", "\t", "\n": out += " "
            case "–", "—": out += "-"
            default: if OverlayCanvas.canDraw(String(c)) { out.append(c) }
            }
        }
        return out.split(separator: " ").joined(separator: " ")
    }

    static func sentence(_ text: String) -> String { text.prefix(1).uppercased() + text.dropFirst() }
}

fileprivate extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
