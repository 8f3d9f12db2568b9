import Logging
import SpinePlanDICOM

/// Drains the inbox and logs each received instance without PHI: until the planning pipeline consumes them,
/// this is the next stage that `serve` hands instances to.
public struct ReceptionLog: Sendable {
    let inbox: InstanceInbox
    let logger: Logger

    public init(inbox: InstanceInbox, logger: Logger) {
        self.inbox = inbox
        self.logger = logger
    }

    public func run() async {
        while let item = await inbox.next() {
            guard case let .instance(instance) = item else { continue }
            logger.info("instance received", metadata: Self.metadata(instance))
        }
    }

    /// What may be logged about an instance: structure and geometry, never patient or study identity.
    public static func metadata(_ instance: ReceivedInstance) -> Logger.Metadata {
        let first = instance.slices.first
        return [
            "association": "\(instance.associationID)",
            "calling_ae": "\(instance.callingAETitle)",
            "sop_class": "\(instance.sopClassUID)",
            "transfer_syntax": "\(instance.transferSyntaxUID)",
            "bytes": "\(instance.datasetBytes.count)",
            "frames": "\(instance.slices.count)",
            "orientation": "\(first.map { $0.plane.orientation.rawValue } ?? "-")",
            "matrix": "\(first.map { "\($0.plane.rows)x\($0.plane.columns)" } ?? "-")",
            "series_number": "\(first?.seriesNumber.map(String.init) ?? "-")",
            "instance_number": "\(first?.instanceNumber.map(String.init) ?? "-")",
        ]
    }
}
