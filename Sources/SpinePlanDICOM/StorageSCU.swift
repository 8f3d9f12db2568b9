import CDCMTK

/// Sends objects to a peer with C-STORE, one association per call.
public struct StorageSCU: Sendable {
    public var callingAETitle: String
    public var timeoutSeconds: Int
    public var maxPDU: UInt32

    public init(callingAETitle: String = "SPINEPLAN", timeoutSeconds: Int = 10, maxPDU: UInt32 = 65536) {
        self.callingAETitle = callingAETitle
        self.timeoutSeconds = timeoutSeconds
        self.maxPDU = maxPDU
    }

    /// Stores every object; throws if the peer is down, refuses, times out, or answers any C-STORE with a failure status.
    /// Returns the per-object statuses (success or warning).
    @discardableResult
    public func store(_ objects: [DICOMObject], to peer: DICOMPeer) throws(DICOMError) -> [UInt16] {
        let outcome = storeEach(objects, to: peer)
        if let failure = outcome.failure { throw failure }
        if let i = outcome.statuses.firstIndex(where: { !Self.isSuccessOrWarning($0) }) {
            throw DICOMError(.refusedStatus(outcome.statuses[i]), "\(peer) answered C-STORE \(i + 1) of \(objects.count) with status 0x\(String(outcome.statuses[i], radix: 16, uppercase: true))")
        }
        return outcome.statuses
    }

    /// What one association achieved, object by object, so a caller can retry only what was not delivered.
    public struct Outcome: Sendable {
        /// The C-STORE-RSP status of each object; 0xFFFF where none came back.
        public var statuses: [UInt16]
        /// Why the association ended before every object was answered (network, negotiation, timeout), if it did.
        public var failure: DICOMError?

        public func delivered(_ index: Int) -> Bool { StorageSCU.isSuccessOrWarning(statuses[index]) }
    }

    /// Sends in one association and reports each object's status instead of throwing at the first refusal.
    public func storeEach(_ objects: [DICOMObject], to peer: DICOMPeer) -> Outcome {
        guard !objects.isEmpty else { return Outcome(statuses: [], failure: nil) }
        var statuses = [UInt16](repeating: 0xFFFF, count: objects.count)
        var error = spdcm_error()
        let ok = DICOMObject.withHandles(objects[...]) { handles in
            withConfig(peer) { config in
                handles.withUnsafeBufferPointer { hs in
                    statuses.withUnsafeMutableBufferPointer { st in
                        spdcm_scu_store(&config, hs.baseAddress!, hs.count, st.baseAddress!, &error)
                    }
                }
            }
        }
        return Outcome(statuses: statuses, failure: ok ? nil : DICOMError(error))
    }

    /// C-ECHO: verifies the peer is up and accepts us.
    public func echo(_ peer: DICOMPeer) throws(DICOMError) {
        var status: UInt16 = 0xFFFF
        var error = spdcm_error()
        let ok = withConfig(peer) { config in spdcm_scu_echo(&config, &status, &error) }
        guard ok else { throw DICOMError(error) }
        guard status == 0 else { throw DICOMError(.refusedStatus(status), "\(peer) answered C-ECHO with status 0x\(String(status, radix: 16))") }
    }

    static func isSuccessOrWarning(_ s: UInt16) -> Bool { s == 0 || s == 0x0001 || (s & 0xF000) == 0xB000 }

    private func withConfig<R>(_ peer: DICOMPeer, _ body: (inout spdcm_scu_config) -> R) -> R {
        callingAETitle.withCString { calling in
            peer.aeTitle.withCString { called in
                peer.host.withCString { host in
                    var c = spdcm_scu_config(calling_ae_title: calling, called_ae_title: called, host: host,
                                             port: Int32(peer.port), timeout_seconds: Int32(timeoutSeconds), max_pdu: maxPDU)
                    return body(&c)
                }
            }
        }
    }
}
