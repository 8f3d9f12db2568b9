import CDCMTK
import Logging
import Synchronization

/// A C-STORE and C-ECHO receiver: DCMTK below, `InstanceSink` above, one joined thread per association.
public final class StorageSCP: Sendable {
    /// The port actually listened on (useful when configured with port 0).
    public let port: Int
    public let configuration: StorageSCPConfiguration
    private let handle: Handle
    private let context: Context

    /// The C handle, freed exactly once when the SCP goes away.
    private final class Handle: @unchecked Sendable {
        // @unchecked: spdcm_scp is internally synchronised for stop/active; run is called once.
        let pointer: OpaquePointer
        init(_ p: OpaquePointer) { pointer = p }
        deinit { spdcm_scp_free(pointer) }
    }

    /// What the C callbacks reach through their context pointer.
    final class Context: Sendable {
        let sink: any InstanceSink
        let logger: Logger
        let onEvent: @Sendable (AssociationEvent) -> Void
        let refusals = RefusalLogLimiter()
        let sliceLimits: SliceLimits
        init(sink: any InstanceSink, logger: Logger, sliceLimits: SliceLimits,
             onEvent: @escaping @Sendable (AssociationEvent) -> Void) {
            self.sink = sink
            self.sliceLimits = sliceLimits
            self.logger = logger
            self.onEvent = onEvent
        }

        /// The one place a refusal (association or C-STORE) is logged: in full the first time in a while, then
        /// counted per peer and summarised once a window.
        func refused(_ log: Logger, peer: String, _ message: String) {
            let (decision, summaries) = refusals.refusal(peer: peer, reason: message)
            report(summaries)
            if decision == .log { log.warning("\(message)") }
        }

        func report(_ summaries: [RefusalLogLimiter.Summary]) {
            let seconds = refusals.window.components.seconds
            for s in summaries {
                logger.warning("\(s.count) further refusals from this peer in \(seconds) s", metadata: [
                    "peer": "\(s.peer)", "latest": "\(s.latest)", "window_s": "\(seconds)"])
            }
        }
    }

    /// Binds the port (or adopts the socket) now, so a bad address fails before anything is announced ready.
    public init(configuration: StorageSCPConfiguration, sink: any InstanceSink, logger: Logger,
                onEvent: @escaping @Sendable (AssociationEvent) -> Void = { _ in }) throws(DICOMError) {
        let context = Context(sink: sink, logger: logger, sliceLimits: configuration.sliceLimits, onEvent: onEvent)
        var error = spdcm_error()
        let callbacks = spdcm_scp_callbacks(
            context: Unmanaged.passUnretained(context).toOpaque(),
            on_store: { ctx, request, response in
                let context = Unmanaged<Context>.fromOpaque(ctx!).takeUnretainedValue()
                StorageSCP.handleStore(context, request, response)
            },
            on_event: { ctx, event in
                let context = Unmanaged<Context>.fromOpaque(ctx!).takeUnretainedValue()
                StorageSCP.handleEvent(context, event)
            })
        // The shim copies every string at creation: they need to live only for this call.
        let tls = configuration.tls
        let strings = [configuration.aeTitle, configuration.bindAddress, tls?.certificateFile ?? "",
                       tls?.privateKeyFile ?? "", tls?.trustedCAFile ?? ""]
        let pointer: OpaquePointer? = withCStrings(strings) { s in
            withCStrings(configuration.allowedCallingAETitles) { aes in
                withCStrings(configuration.allowedPeerAddresses) { peers in
                    withCStrings(tls?.normalisedFingerprints ?? []) { fingerprints in
                        var secure = spdcm_scp_tls(
                            certificate_file: s[2]!, private_key_file: s[3]!,
                            trusted_ca_file: tls?.trustedCAFile == nil ? nil : s[4],
                            allowed_client_sha256: fingerprints.baseAddress,
                            allowed_client_sha256_count: fingerprints.count)
                        return withUnsafePointer(to: &secure) { securePointer in
                            var c = spdcm_scp_config(
                                ae_title: s[0]!, bind_address: s[1]!, port: Int32(configuration.port),
                                listen_fd: configuration.listenFileDescriptor ?? -1,
                                acse_timeout_seconds: Int32(configuration.acseTimeoutSeconds),
                                dimse_timeout_seconds: Int32(configuration.dimseTimeoutSeconds),
                                max_pdu: configuration.maxPDU, max_associations: Int32(configuration.maxAssociations),
                                max_dataset_bytes: configuration.maxDatasetBytes,
                                allowed_calling_ae_titles: aes.baseAddress, allowed_calling_ae_title_count: aes.count,
                                allowed_peer_addresses: peers.baseAddress, allowed_peer_address_count: peers.count,
                                accept_results: configuration.acceptsResults, tls: tls == nil ? nil : securePointer)
                            return spdcm_scp_create(&c, callbacks, &error)
                        }
                    }
                }
            }
        }
        guard let pointer else { throw DICOMError(error) }
        self.handle = Handle(pointer)
        self.context = context
        self.configuration = configuration
        self.port = Int(spdcm_scp_port(pointer))
    }

    /// Serves until `stop()`; blocks the calling thread and joins every association thread before returning.
    public func runBlocking() throws(DICOMError) {
        var error = spdcm_error()
        defer { context.report(context.refusals.flush(all: true)) }
        guard spdcm_scp_run(handle.pointer, &error) else { throw DICOMError(error) }
    }

    /// Writes the summary of every refusal window that has ended; call it now and then (the daemon does, each
    /// second), or a flood that stops is only summarised at the next refusal or at shutdown.
    public func flushRefusalSummaries() { context.report(context.refusals.flush()) }

    /// Serves on a dedicated thread until the task is cancelled or `stop()` is called.
    public func run() async throws {
        let done = Mutex<CheckedContinuation<Void, any Error>?>(nil)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                done.withLock { $0 = continuation }
                let thread = Thread { [self] in
                    let result: Result<Void, any Error>
                    do { try runBlocking(); result = .success(()) } catch { result = .failure(error) }
                    done.withLock { $0?.resume(with: result); $0 = nil }
                }
                thread.name = "dicom-listener"
                thread.start()
            }
        } onCancel: {
            stop()
        }
    }

    /// Stops accepting and ends every association; safe from any thread.
    public func stop() { spdcm_scp_stop(handle.pointer) }

    /// While busy, new associations are rejected as transient (A-ASSOCIATE-RJ) so consoles retry later; open ones
    /// carry on. This is the backpressure at the very edge, set from the depth of the queues behind it.
    public func setBusy(_ busy: Bool) { spdcm_scp_set_busy(handle.pointer, busy) }

    /// Associations being served right now.
    public var activeAssociations: Int { Int(spdcm_scp_active_associations(handle.pointer)) }

    static func handleStore(_ context: Context, _ request: UnsafePointer<spdcm_store_request>,
                            _ response: UnsafeMutablePointer<spdcm_store_response>) {
        let r = request.pointee
        var log = context.logger
        let peer = String(cString: r.peer_address)
        log[metadataKey: "association"] = "\(r.association_id)"
        log[metadataKey: "peer"] = "\(peer)"
        log[metadataKey: "sop_instance"] = "\(String(cString: r.sop_instance_uid))"
        func respond(_ status: UInt16, _ reason: String) {
            response.pointee.status = status
            withUnsafeMutableBytes(of: &response.pointee.error_comment) { raw in
                let bytes = Array(reason.utf8.prefix(raw.count - 1))
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
        }
        guard let datasetHandle = r.dataset else {
            let why = String(cString: r.parse_error)
            context.refused(log, peer: peer, "C-STORE refused: \(why)")
            respond(r.too_large ? DIMSEStatus.outOfResources : DIMSEStatus.cannotUnderstand, why)
            return
        }
        let object = DICOMObject(adopting: datasetHandle)
        let sopClass = String(cString: r.sop_class_uid)
        let slices: [Slice]
        do {
            // Results (SR, overlay) carry no slices; negotiation admits them only when acceptsResults is set.
            let isResult = sopClass == SOPClass.comprehensive3DSR || sopClass == SOPClass.secondaryCaptureImageStorage
            slices = isResult ? [] : try SliceDecoder.slices(from: object, limits: context.sliceLimits)
        } catch {
            context.refused(log, peer: peer, "C-STORE refused: \(error.message)")
            respond(DIMSEStatus.refusing(error), error.message)
            return
        }
        let instance = ReceivedInstance(
            associationID: r.association_id, callingAETitle: String(cString: r.calling_ae_title),
            peerAddress: String(cString: r.peer_address), sopClassUID: sopClass,
            sopInstanceUID: String(cString: r.sop_instance_uid), transferSyntaxUID: String(cString: r.transfer_syntax_uid),
            datasetBytes: Array(UnsafeBufferPointer(start: r.bytes, count: r.length)), slices: slices)
        switch context.sink.accept(instance) {
        case .stored:
            respond(DIMSEStatus.success, "")
        case let .refused(status, reason):
            context.refused(log, peer: peer, "C-STORE refused by the pipeline: \(reason)")
            respond(status, reason)
        }
    }

    static func handleEvent(_ context: Context, _ event: UnsafePointer<spdcm_association_event>) {
        let e = event.pointee
        let kind: AssociationEvent.Kind = switch Int(e.kind) {
        case Int(SPDCM_EVENT_ACCEPTED): .accepted
        case Int(SPDCM_EVENT_REJECTED): .rejected
        case Int(SPDCM_EVENT_RELEASED): .released
        case Int(SPDCM_EVENT_ABORTED): .aborted
        case Int(SPDCM_EVENT_ECHO): .echo
        case Int(SPDCM_EVENT_IDLE_DROPPED): .idleDropped
        default: .failed
        }
        let value = AssociationEvent(kind: kind, associationID: e.association_id, callingAETitle: String(cString: e.calling_ae_title),
                                     calledAETitle: String(cString: e.called_ae_title), peerAddress: String(cString: e.peer_address),
                                     detail: String(cString: e.detail))
        var log = context.logger
        log[metadataKey: "association"] = "\(value.associationID)"
        log[metadataKey: "calling_ae"] = "\(value.callingAETitle)"
        log[metadataKey: "peer"] = "\(value.peerAddress)"
        switch kind {
        case .accepted, .released, .echo: log.info("association \(kind)")
        case .rejected, .aborted, .idleDropped, .failed:
            context.refused(log, peer: value.peerAddress, "association \(kind): \(value.detail)")
        }
        context.onEvent(value)
    }
}

/// Calls body with a C array of C strings that stay valid for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer<CChar>($0) }
    return pointers.withUnsafeBufferPointer(body)
}

#if canImport(Glibc)
import Glibc
#endif
import Foundation
