/// What a phantom voxel is made of; a contrast table turns it into signal.
enum TissueClass: UInt8, CaseIterable, Sendable {
    case air = 0
    case skin
    case fat
    case muscle
    case viscera
    case bowelGas
    case corticalBone
    case marrow
    case nucleus
    case degeneratedNucleus
    case annulus
    case csf
    case cord
    case modicType1
    case modicType2
    case metal
    case vessel
    case lung
}
