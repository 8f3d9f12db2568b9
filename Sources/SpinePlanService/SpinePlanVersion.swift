/// The software version written into reports, recordings and logs.
public enum SpinePlanVersion {
    public static let current = "0.5.0"
}
