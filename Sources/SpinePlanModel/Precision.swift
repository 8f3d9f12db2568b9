/// The arithmetic the network runs in.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// bf16 when the CPU has AVX512-BF16 or AMX, f32 otherwise.
    case auto
    /// bf16 weights and activations, channels-last, f32 accumulation.
    case bf16
    /// f32 throughout; up-convolutions as a 1×1×1 convolution plus a depth-to-space shuffle.
    case f32
}
