/// The SOP class and transfer syntax UIDs SpinePlan speaks.
public enum SOPClass {
    public static let verification = "1.2.840.10008.1.1"
    public static let mrImageStorage = "1.2.840.10008.5.1.4.1.1.4"
    public static let enhancedMRImageStorage = "1.2.840.10008.5.1.4.1.1.4.1"
    public static let comprehensive3DSR = "1.2.840.10008.5.1.4.1.1.88.34"
    public static let secondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7"
}

/// Transfer syntax UIDs.
public enum TransferSyntax {
    public static let implicitVRLittleEndian = "1.2.840.10008.1.2"
    public static let explicitVRLittleEndian = "1.2.840.10008.1.2.1"
}
