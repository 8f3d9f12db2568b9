/// DICOM PS3.15 Annex E's Basic Application Level Confidentiality Profile as SpinePlan applies it: Table E.1-1's
/// actions (generated into `ConfidentialityProfileTable.swift`) and the one choice this export makes for each
/// conditional action.
///
/// Options kept, and named in `Docs/qa.md`: Clean Structured Content (the SR's content tree carries the plan, so it is
/// cleaned attribute by attribute instead of replaced) and nothing else; no longitudinal dates, no retained UIDs,
/// device or institution identity, no safe private attributes.
enum ConfidentialityProfile {
    /// Table E.1-1's action codes.
    enum Action: Sendable {
        /// D: a non-empty dummy value.
        case dummy
        /// Z: an empty value.
        case empty
        /// X: removed.
        case remove
        /// U: a new UID, the same one wherever the old one appears in the export.
        case remapUID
        /// Z/D, X/Z, X/D, X/Z/D and X/Z/U*: the profile leaves the choice to the IOD's type of the attribute.
        case emptyOrDummy, removeOrEmpty, removeOrDummy, removeOrEmptyOrDummy, removeOrEmptyOrRemapUIDs

        /// What this export does for a conditional action on an attribute of a VR. Dates and times get a dummy where
        /// the profile allows one (the SR's Content Date and Time are Type 1), other values are emptied where it
        /// allows that (Patient ID is Type 2) and removed otherwise (X/D: Type 3 wherever SpinePlan writes them), and a
        /// sequence of references keeps its items with their UIDs remapped, so the SR still points at its localizer.
        func resolved(vr: String) -> Action {
            let isDate = vr == "DA" || vr == "DT" || vr == "TM"
            return switch self {
            case .emptyOrDummy, .removeOrEmptyOrDummy: isDate ? .dummy : .empty
            case .removeOrDummy: .remove
            case .removeOrEmpty: .empty
            case .removeOrEmptyOrRemapUIDs: .remapUID
            default: self
            }
        }
    }

    /// The profile's action for a tag, if it lists one.
    static func action(for tag: UInt32) -> Action? {
        if let exact = actions[tag] { return exact }
        return maskedActions.first { tag & $0.mask == $0.tag }?.action
    }
}
