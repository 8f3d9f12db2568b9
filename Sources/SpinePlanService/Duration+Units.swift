extension Duration {
    /// The duration in seconds, for timings and arrival offsets.
    package var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
    /// The duration in milliseconds, for stage timings and latencies.
    package var milliseconds: Double { seconds * 1000 }
}
