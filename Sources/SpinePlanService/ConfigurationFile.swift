import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import Yams

/// Reads `spineplan.yaml`: every key is checked for type and range, unknown keys are errors, and each problem
/// names its key and line so `check-config` can list them all at once.
public enum ConfigurationFile {
    /// Loads and validates a file; the defaults fill whatever it leaves out. With `checkingHost`, also what must
    /// hold on this machine for `serve` to start (`check-config`): a readable model, writable state directories.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            checkingHost: Bool = false) throws(ConfigurationError) -> ServiceConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(path: path, issues: [.init(key: "", line: nil, message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(path: path, issues: [.init(key: "", line: nil, message: "the file is not UTF-8 text")])
        }
        return try parse(text, path: path, environment: environment, checkingHost: checkingHost)
    }

    /// Parses YAML text; `path` only labels the errors.
    public static func parse(_ text: String, path: String = "<config>",
                             environment: [String: String] = ProcessInfo.processInfo.environment,
                             checkingHost: Bool = false) throws(ConfigurationError) -> ServiceConfiguration {
        var reader = Reader()
        var config = ServiceConfiguration(environment: environment)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigurationError(path: path, issues: [Reader.issue(from: error)])
        } catch {
            throw ConfigurationError(path: path, issues: [.init(key: "", line: nil, message: "\(error)")])
        }
        if let root {
            reader.read(root, into: &config)
        }
        reader.crossCheck(config)
        // Only a file that reads well is worth checking against the machine: a typo'd key is reported once.
        if checkingHost && reader.issues.isEmpty { reader.checkHost(config) }
        guard reader.issues.isEmpty else {
            throw ConfigurationError(path: path, issues: reader.issues.enumerated().sorted {
                ($0.element.line ?? Int.max, $0.offset) < ($1.element.line ?? Int.max, $1.offset)
            }.map(\.element))
        }
        return config
    }

    /// Walks the node tree, collecting issues instead of stopping at the first.
    struct Reader {
        var issues: [ConfigurationError.Issue] = []
        /// The line of each scalar key read, so checks made after reading can still name it.
        var lines: [String: Int] = [:]

        static func issue(from error: YamlError) -> ConfigurationError.Issue {
            switch error {
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                return .init(key: "", line: mark.line, message: "YAML syntax: \(problem)")
            default:
                return .init(key: "", line: nil, message: "YAML: \(error)")
            }
        }

        mutating func fail(_ key: String, _ node: Node?, _ message: String) {
            issues.append(.init(key: key, line: node?.mark?.line, message: message))
        }

        /// The pairs of a mapping node, reporting unknown keys against `known`.
        mutating func mapping(_ node: Node, _ key: String, known: Set<String>) -> [String: Node] {
            guard let mapping = node.mapping else {
                fail(key, node, "expected a mapping of keys")
                return [:]
            }
            var pairs: [String: Node] = [:]
            for (k, v) in mapping {
                guard let name = k.scalar?.string else { fail(key, k, "keys must be plain strings"); continue }
                let path = key.isEmpty ? name : "\(key).\(name)"
                if !known.contains(name) {
                    let suggestion = known.sorted().first { $0.hasPrefix(String(name.prefix(3))) }.map { " (did you mean '\($0)'?)" } ?? ""
                    fail(path, k, "unknown key\(suggestion)")
                    continue
                }
                if pairs[name] != nil { fail(path, k, "key given twice") }
                pairs[name] = v
            }
            return pairs
        }

        mutating func int(_ node: Node?, _ key: String, _ range: ClosedRange<Int>, into value: inout Int) {
            guard let node else { return }
            guard let scalar = node.scalar, let v = Int(scalar.string) else { return fail(key, node, "expected a whole number") }
            guard range.contains(v) else { return fail(key, node, "\(v) is outside \(range.lowerBound)...\(range.upperBound)") }
            value = v
        }

        mutating func double(_ node: Node?, _ key: String, _ range: ClosedRange<Double>, into value: inout Double) {
            guard let node else { return }
            guard let scalar = node.scalar, let v = Double(scalar.string), v.isFinite else { return fail(key, node, "expected a number") }
            guard range.contains(v) else { return fail(key, node, "\(v) is outside \(range.lowerBound)...\(range.upperBound)") }
            value = v
        }

        mutating func bool(_ node: Node?, _ key: String, into value: inout Bool) {
            guard let node else { return }
            switch node.scalar?.string.lowercased() {
            case "true", "yes", "on": value = true
            case "false", "no", "off": value = false
            default: fail(key, node, "expected true or false")
            }
        }

        mutating func string(_ node: Node?, _ key: String, allowed: [String]? = nil, into value: inout String) {
            guard let node else { return }
            guard let scalar = node.scalar else { return fail(key, node, "expected text") }
            lines[key] = node.mark?.line
            if let allowed, !allowed.contains(scalar.string) {
                return fail(key, node, "'\(scalar.string)' is not one of \(allowed.joined(separator: ", "))")
            }
            value = scalar.string
        }

        mutating func aeTitle(_ node: Node?, _ key: String, into value: inout String) {
            guard let node else { return }
            var text = value
            string(node, key, into: &text)
            guard Self.isAETitle(text) else { return fail(key, node, "'\(text)' is not an AE title (1 to 16 characters, no backslash)") }
            value = text
        }

        static func isAETitle(_ text: String) -> Bool {
            !text.trimmingCharacters(in: .whitespaces).isEmpty && text.utf8.count <= 16 && !text.contains("\\")
                && text.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 }
        }

        mutating func strings(_ node: Node?, _ key: String, into value: inout [String]) {
            guard let node else { return }
            guard let sequence = node.sequence else { return fail(key, node, "expected a list") }
            var out: [String] = []
            for (i, item) in sequence.enumerated() {
                guard let s = item.scalar?.string else { fail("\(key)[\(i)]", item, "expected text"); continue }
                out.append(s)
            }
            value = out
        }

        mutating func peer(_ node: Node?, _ key: String) -> DICOMPeer? {
            guard let node else { return nil }
            if let text = node.scalar?.string {
                if text.isEmpty || text == "null" || text == "~" { return nil }
                do {
                    return try DICOMPeer(parsing: text)
                } catch {
                    fail(key, node, error.message)
                    return nil
                }
            }
            let fields = mapping(node, key, known: ["ae_title", "host", "port"])
            var ae = "", host = "", port = 0
            aeTitle(fields["ae_title"], "\(key).ae_title", into: &ae)
            string(fields["host"], "\(key).host", into: &host)
            int(fields["port"], "\(key).port", 1...65535, into: &port)
            for required in ["ae_title", "host", "port"] where fields[required] == nil {
                fail("\(key).\(required)", node, "missing")
            }
            guard !ae.isEmpty, !host.isEmpty, port > 0 else { return nil }
            return DICOMPeer(aeTitle: ae, host: host, port: port)
        }

        /// `network.tls`: certificate and key are required; the CA and the fingerprint list are optional.
        mutating func tls(_ node: Node) -> StorageSCPConfiguration.TLS? {
            let f = mapping(node, "network.tls", known: ["certificate", "private_key", "client_ca", "allowed_client_sha256"])
            var certificate = "", key = "", ca = "", fingerprints: [String] = []
            string(f["certificate"], "network.tls.certificate", into: &certificate)
            string(f["private_key"], "network.tls.private_key", into: &key)
            string(f["client_ca"], "network.tls.client_ca", into: &ca)
            strings(f["allowed_client_sha256"], "network.tls.allowed_client_sha256", into: &fingerprints)
            for required in ["certificate", "private_key"] where f[required] == nil {
                fail("network.tls.\(required)", node, "missing")
            }
            for (i, fingerprint) in fingerprints.enumerated() {
                let hex = fingerprint.filter { $0 != ":" }
                if hex.count != 64 || !hex.allSatisfy(\.isHexDigit) {
                    fail("network.tls.allowed_client_sha256[\(i)]", f["allowed_client_sha256"],
                         "'\(fingerprint)' is not a SHA-256 fingerprint (64 hex digits, colons allowed)")
                }
            }
            guard !certificate.isEmpty, !key.isEmpty else { return nil }
            return StorageSCPConfiguration.TLS(certificateFile: certificate, privateKeyFile: key,
                                               trustedCAFile: ca.isEmpty ? nil : ca, allowedClientSHA256: fingerprints)
        }

        mutating func read(_ root: Node, into c: inout ServiceConfiguration) {
            let top = mapping(root, "", known: ["network", "peers", "destination", "sessions", "protocol", "model", "report",
                                                "outbox", "recording", "metrics", "logging", "state_directory"])
            if let n = top["network"] {
                let f = mapping(n, "network", known: ["ae_title", "port", "bind", "acse_timeout_s", "dimse_timeout_s",
                                                      "max_associations", "max_pdu", "max_dataset_mb", "max_matrix", "max_megapixels", "allowed_calling_aes",
                                                      "allowed_peers", "tls"])
                aeTitle(f["ae_title"], "network.ae_title", into: &c.network.aeTitle)
                int(f["port"], "network.port", 0...65535, into: &c.network.port)
                string(f["bind"], "network.bind", into: &c.network.bind)
                if f["bind"] != nil, !ConfigurationFile.isIPv4Address(c.network.bind) {
                    // The listener binds IPv4 only (inet_pton AF_INET): anything else made `serve` fail at start.
                    fail("network.bind", f["bind"], "'\(c.network.bind)' is not an IPv4 address such as 127.0.0.1 or 0.0.0.0 (host names and IPv6 cannot be bound)")
                }
                int(f["acse_timeout_s"], "network.acse_timeout_s", 1...120, into: &c.network.acseTimeoutSeconds)
                int(f["dimse_timeout_s"], "network.dimse_timeout_s", 1...3600, into: &c.network.dimseTimeoutSeconds)
                int(f["max_associations"], "network.max_associations", 1...256, into: &c.network.maxAssociations)
                var pdu = Int(c.network.maxPDU)
                int(f["max_pdu"], "network.max_pdu", 4096...131072, into: &pdu)
                c.network.maxPDU = UInt32(pdu)
                int(f["max_dataset_mb"], "network.max_dataset_mb", 1...4096, into: &c.network.maxDatasetMB)
                int(f["max_matrix"], "network.max_matrix", 64...8192, into: &c.network.maxMatrix)
                int(f["max_megapixels"], "network.max_megapixels", 1...1024, into: &c.network.maxMegapixels)
                strings(f["allowed_calling_aes"], "network.allowed_calling_aes", into: &c.network.allowedCallingAETitles)
                for (i, ae) in c.network.allowedCallingAETitles.enumerated() where !Self.isAETitle(ae) {
                    fail("network.allowed_calling_aes[\(i)]", f["allowed_calling_aes"], "'\(ae)' is not an AE title")
                }
                strings(f["allowed_peers"], "network.allowed_peers", into: &c.network.allowedPeers)
                let items = f["allowed_peers"]?.sequence.map(Array.init) ?? []
                for (i, entry) in c.network.allowedPeers.enumerated() {
                    // The listener compares the peer's address as text: an entry that is not an address in the form
                    // the kernel reports would reject that console (or, as the only entry, every console).
                    if let canonical = ConfigurationFile.canonicalPeerAddress(entry) {
                        c.network.allowedPeers[i] = canonical
                    } else {
                        fail("network.allowed_peers[\(i)]", i < items.count ? items[i] : f["allowed_peers"], ConfigurationFile.peerAddressProblem(entry))
                    }
                }
                if let t = f["tls"] { c.network.tls = tls(t) }
            }
            if let n = top["peers"] {
                if let sequence = n.sequence {
                    c.peers = sequence.enumerated().compactMap { i, item in peer(item, "peers[\(i)]") }
                } else {
                    fail("peers", n, "expected a list of {ae_title, host, port}")
                }
            }
            if let n = top["destination"] { c.destination = peer(n, "destination") }
            if let n = top["sessions"] {
                let f = mapping(n, "sessions", known: ["idle_timeout_s", "max_pending_slices", "max_queued_sessions", "min_free_mb"])
                double(f["idle_timeout_s"], "sessions.idle_timeout_s", 0.1...600, into: &c.sessions.idleTimeoutSeconds)
                int(f["max_pending_slices"], "sessions.max_pending_slices", 16...100_000, into: &c.sessions.maxPendingSlices)
                int(f["max_queued_sessions"], "sessions.max_queued_sessions", 1...1000, into: &c.sessions.maxQueuedSessions)
                int(f["min_free_mb"], "sessions.min_free_mb", 0...10_000_000, into: &c.sessions.minFreeMB)
            }
            if let n = top["protocol"] {
                let f = mapping(n, "protocol", known: ["discs", "fov_mm", "slices", "thickness_mm", "gap_mm"])
                var names: [String] = []
                strings(f["discs"], "protocol.discs", into: &names)
                if f["discs"] != nil {
                    c.scanProtocol.discs = []
                    for (i, name) in names.enumerated() {
                        if let level = DiscLevel(name: name) {
                            c.scanProtocol.discs.append(level)
                        } else {
                            fail("protocol.discs[\(i)]", f["discs"], "'\(name)' is not a disc SpinePlan plans (one of \(DiscLevel.names))")
                        }
                    }
                }
                if let fov = f["fov_mm"] {
                    let values = fov.sequence?.compactMap { $0.scalar.flatMap { Double($0.string) } } ?? []
                    if values.count == 2, values.allSatisfy({ (50...500).contains($0) }) {
                        c.scanProtocol.fieldOfView = values
                    } else {
                        fail("protocol.fov_mm", fov, "expected [width, height] in mm, each 50...500")
                    }
                }
                int(f["slices"], "protocol.slices", 1...64, into: &c.scanProtocol.slices)
                double(f["thickness_mm"], "protocol.thickness_mm", 0.5...20, into: &c.scanProtocol.thickness)
                double(f["gap_mm"], "protocol.gap_mm", 0...20, into: &c.scanProtocol.gap)
            }
            if let n = top["model"] {
                let f = mapping(n, "model", known: ["path", "precision"])
                string(f["path"], "model.path", into: &c.model.path)
                string(f["precision"], "model.precision", allowed: ["auto", "bf16", "f32"], into: &c.model.precision)
            }
            if let n = top["report"] {
                let f = mapping(n, "report", known: ["overlay"])
                bool(f["overlay"], "report.overlay", into: &c.report.overlay)
            }
            if let n = top["outbox"] {
                let f = mapping(n, "outbox", known: ["directory", "retry_initial_s", "retry_max_s", "expiry_h", "calling_ae_title",
                                                     "send_timeout_s"])
                string(f["directory"], "outbox.directory", into: &c.outbox.directory)
                double(f["retry_initial_s"], "outbox.retry_initial_s", 0.05...3600, into: &c.outbox.retryInitialSeconds)
                double(f["retry_max_s"], "outbox.retry_max_s", 0.05...86400, into: &c.outbox.retryMaxSeconds)
                double(f["expiry_h"], "outbox.expiry_h", 0.001...8760, into: &c.outbox.expiryHours)
                aeTitle(f["calling_ae_title"], "outbox.calling_ae_title", into: &c.outbox.callingAETitle)
                int(f["send_timeout_s"], "outbox.send_timeout_s", 1...3600, into: &c.outbox.sendTimeoutSeconds)
            }
            if let n = top["recording"] {
                let f = mapping(n, "recording", known: ["enabled", "directory", "max_age_days", "max_total_mb"])
                bool(f["enabled"], "recording.enabled", into: &c.recording.enabled)
                string(f["directory"], "recording.directory", into: &c.recording.directory)
                double(f["max_age_days"], "recording.max_age_days", 0.001...3650, into: &c.recording.maxAgeDays)
                double(f["max_total_mb"], "recording.max_total_mb", 1...1_000_000, into: &c.recording.maxTotalMB)
            }
            if let n = top["metrics"] {
                let f = mapping(n, "metrics", known: ["enabled", "bind", "port"])
                bool(f["enabled"], "metrics.enabled", into: &c.metrics.enabled)
                string(f["bind"], "metrics.bind", into: &c.metrics.bind)
                if f["bind"] != nil, !ConfigurationFile.isIPv4Address(c.metrics.bind) {
                    fail("metrics.bind", f["bind"], "'\(c.metrics.bind)' is not an IPv4 address such as 127.0.0.1")
                }
                int(f["port"], "metrics.port", 0...65535, into: &c.metrics.port)
            }
            if let n = top["logging"] {
                let f = mapping(n, "logging", known: ["level"])
                string(f["level"], "logging.level", allowed: ["trace", "debug", "info", "notice", "warning", "error", "critical"],
                       into: &c.logLevel)
            }
            string(top["state_directory"], "state_directory", into: &c.stateDirectory)
        }

        mutating func crossCheck(_ c: ServiceConfiguration) {
            if c.outbox.retryMaxSeconds < c.outbox.retryInitialSeconds {
                issues.append(.init(key: "outbox.retry_max_s", line: nil, message: "must not be below outbox.retry_initial_s"))
            }
        }
    }
}

extension ConfigurationFile {
    /// A dotted-quad IPv4 address, as the listener can bind it.
    public static func isIPv4Address(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    /// An allowlist entry as the listener names peers: IPv4 dotted quad, IPv4-mapped IPv6 as IPv4, other IPv6 in
    /// its compressed lower-case form; nil when the text is no IP address.
    public static func canonicalPeerAddress(_ text: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if inet_pton(AF_INET, text, &v4) == 1 {
            guard inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return bytes[12..<16].map(String.init).joined(separator: ".")
            }
            guard inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        } else {
            return nil
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func peerAddressProblem(_ entry: String) -> String {
        if entry.contains("/") { return "'\(entry)' is a range; ranges are not supported, list each console's IP address" }
        return "'\(entry)' is not an IP address (host names are not supported: the allowlist is matched against the peer's address)"
    }
}
