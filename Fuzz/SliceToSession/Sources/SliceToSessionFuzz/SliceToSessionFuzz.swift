import Logging
import SpinePlanDICOM
import SpinePlanService

/// libFuzzer's entry: the bytes a console's C-STORE carries, through everything the daemon does with them before
/// planning. The input is up to eight datasets separated by the marker `SPLT`; the first byte of each picks Explicit
/// or Implicit VR Little Endian. Each is parsed by DCMTK (through the shim), decoded into slices with the daemon's
/// limits, assembled into sessions with the others, and every localizer that completes is classified and split
/// into its stacks, as the planning loop would receive it. The assembler lives across inputs, as in the daemon, and
/// is flushed at the end of each so that memory stays bounded.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    var now = ContinuousClock.now
    for (n, chunk) in split(bytes).prefix(8).enumerated() {
        guard let first = chunk.first else { continue }
        let syntax = first & 1 == 0 ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2"
        guard let object = try? DICOMObject(datasetBytes: Array(chunk.dropFirst()), transferSyntax: syntax),
              let slices = try? SliceDecoder.slices(from: object, limits: SliceLimits()), let lead = slices.first else {
            continue
        }
        let instance = ReceivedInstance(
            associationID: UInt64(first >> 4), callingAETitle: "FUZZ", peerAddress: "127.0.0.1",
            sopClassUID: lead.sopClassUID, sopInstanceUID: lead.sopInstanceUID, transferSyntaxUID: syntax,
            datasetBytes: Array(chunk.dropFirst()), slices: slices)
        now = now.advanced(by: .milliseconds(10 * n))
        touch(assembler.add(instance, at: now))
    }
    for association in UInt64(0)...15 { touch(assembler.released(associationID: association, at: now)) }
    touch(assembler.expireIdle(at: now.advanced(by: .seconds(3600))))
    return 0
}

/// SwiftPM links an executable's entry under this name; libFuzzer's own `main` is replaced by its driver.
@_cdecl("SliceToSessionFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector, fuzz)
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

private let assembler = SessionAssembler(idleTimeout: .seconds(5), retention: .seconds(1),
                                         logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })

/// What the planning loop reads of a snapshot before the model sees it.
private func touch(_ snapshots: [LocalizerSnapshot]) {
    for snapshot in snapshots {
        for stack in [snapshot.stack(.sagittal), snapshot.stack(.coronal), snapshot.stack(.axial)] {
            for slice in stack where !slice.pixels.isEmpty {
                precondition(slice.pixels.count == slice.plane.rows * slice.plane.columns, "pixels do not fill the plane")
            }
        }
    }
}

private func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    let marker: [UInt8] = Array("SPLT".utf8)
    var parts: [ArraySlice<UInt8>] = []
    var start = 0, i = 0
    while i + marker.count <= bytes.count {
        if bytes[i..<(i + marker.count)].elementsEqual(marker) {
            parts.append(bytes[start..<i])
            i += marker.count
            start = i
        } else {
            i += 1
        }
    }
    parts.append(bytes[start...])
    return parts
}
