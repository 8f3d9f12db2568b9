#!/usr/bin/env python3
"""An independent DICOM peer for SpinePlan's tests: pydicom writes and reads, pynetdicom sends and receives.

Every subcommand prints one JSON object on stdout, so the Swift tests can check what this peer saw.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

import numpy as np
from pydicom import dcmread
from pydicom.filereader import read_file_meta_info
from pynetdicom import _config
# pynetdicom 3.0.4 loses a fast SCP's response to a race in its reactor thread (scripts/pynetdicom_race.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import pynetdicom_race  # noqa: E402,F401

# Send each file's encoded dataset exactly as it is on disk: byte-identical, and damaged input stays damaged.
_config.STORE_SEND_CHUNKED_DATASET = True
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (ExplicitVRLittleEndian, ImplicitVRLittleEndian, MRImageStorage, EnhancedMRImageStorage,
                         CTImageStorage, generate_uid, PYDICOM_IMPLEMENTATION_UID)

MR = MRImageStorage
ENHANCED_MR = EnhancedMRImageStorage


def base_dataset(sop_class, sop_uid, study, series, frame_of_reference):
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.FrameOfReferenceUID = frame_of_reference
    ds.PatientName = "PEER^CONSOLE^TEST"
    ds.PatientID = "PEER-0001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyDate = "20261121"
    ds.StudyTime = "101010"
    ds.AccessionNumber = "ACC1"
    ds.StudyID = "1"
    ds.ReferringPhysicianName = ""
    ds.Modality = "MR"
    ds.SeriesNumber = 3
    ds.SeriesDescription = "3-plane loc"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    return ds


def pixels(rng, rows, cols, signed, bits_stored):
    hi = (1 << (bits_stored - 1)) - 1 if signed else (1 << bits_stored) - 1
    lo = -(1 << (bits_stored - 1)) if signed else 0
    return rng.integers(lo, hi + 1, size=(rows, cols), dtype=np.int32).astype(np.int16 if signed else np.uint16)


def orientation(i, n):
    """Sagittal, then coronal, then axial, with a small obliquity so the geometry is not trivial."""
    kind = i * 3 // max(n, 1)
    if kind == 0:
        return [0.0, 0.9961946980917455, -0.08715574274765817, 0.0, 0.08715574274765817, 0.9961946980917455]
    if kind == 1:
        return [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]
    return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


def save(ds, path, implicit):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True, implicit_vr=implicit, little_endian=True)


def make_classic(args):
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.out, exist_ok=True)
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    for i in range(args.count):
        ds = base_dataset(MR, generate_uid(), study, series, frame_of_reference)
        ds.InstanceNumber = i + 1
        ds.ImagesInAcquisition = args.count
        ds.Rows, ds.Columns = args.rows, args.cols
        ds.PixelSpacing = [0.9765625, 1.171875]
        ds.SliceThickness = 6.5
        ds.SpacingBetweenSlices = 7.8
        ds.ImagePositionPatient = [-12.5 + 7.8 * i, -130.123456, 95.75]
        ds.ImageOrientationPatient = orientation(0, 1) if args.diagnostic else orientation(i, args.count)
        if args.diagnostic:
            ds.ImageType, ds.SeriesDescription = ["ORIGINAL", "PRIMARY", "M", "ND"], "T2 TSE SAG"
        ds.BitsAllocated = 16
        ds.BitsStored = args.bits_stored
        ds.HighBit = args.bits_stored - 1
        ds.PixelRepresentation = 1 if args.signed else 0
        ds.RescaleSlope = args.slope
        ds.RescaleIntercept = args.intercept
        ds.PixelData = pixels(rng, args.rows, args.cols, args.signed, args.bits_stored).tobytes()
        save(ds, os.path.join(args.out, f"IM{i + 1:04d}.dcm"), args.implicit)
    print(json.dumps({"written": args.count}))


def make_enhanced(args):
    rng = np.random.default_rng(args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    ds = base_dataset(ENHANCED_MR, generate_uid(), generate_uid(), generate_uid(), generate_uid())
    ds.InstanceNumber = 1
    ds.NumberOfFrames = args.frames
    ds.Rows, ds.Columns = args.rows, args.cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = [0.8, 0.85]
    measures.SliceThickness = 5.0
    shared.PixelMeasuresSequence = Sequence([measures])
    orient = Dataset()
    orient.ImageOrientationPatient = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
    shared.PlaneOrientationSequence = Sequence([orient])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for f in range(args.frames):
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [-20.0 + 5.5 * f, -101.25, 133.3]
        item.PlanePositionSequence = Sequence([pos])
        transform = Dataset()
        transform.RescaleSlope = 1.5 + 0.25 * f
        transform.RescaleIntercept = -7.0 * f
        transform.RescaleType = "US"
        item.PixelValueTransformationSequence = Sequence([transform])
        content = Dataset()
        content.InStackPositionNumber = f + 1
        item.FrameContentSequence = Sequence([content])
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    data = np.stack([pixels(rng, args.rows, args.cols, False, 12) for _ in range(args.frames)])
    ds.PixelData = data.tobytes()
    save(ds, args.out, args.implicit)
    print(json.dumps({"written": 1, "frames": args.frames}))


def functional(ds, frame, macro, keyword):
    for groups in (ds.PerFrameFunctionalGroupsSequence[frame], ds.SharedFunctionalGroupsSequence[0]):
        if macro in groups and keyword in groups[macro][0]:
            return groups[macro][0][keyword].value
    return None


def expect(args):
    """What pydicom reads: one entry per frame, pixels as float32 appended to a binary file in the same order."""
    files = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir) if f.endswith(".dcm"))
    out = []
    with open(args.pixels, "wb") as blob:
        for path in files:
            ds = dcmread(path)
            arr = ds.pixel_array
            if ds.SOPClassUID == ENHANCED_MR:
                for f in range(int(ds.NumberOfFrames)):
                    slope = float(functional(ds, f, "PixelValueTransformationSequence", "RescaleSlope") or 1)
                    intercept = float(functional(ds, f, "PixelValueTransformationSequence", "RescaleIntercept") or 0)
                    values = (arr[f].astype(np.float64) * slope + intercept).astype(np.float32)
                    blob.write(values.astype("<f4").tobytes())
                    out.append({
                        "sop": ds.SOPInstanceUID, "frame": f + 1, "rows": ds.Rows, "columns": ds.Columns,
                        "ipp": [float(v) for v in functional(ds, f, "PlanePositionSequence", "ImagePositionPatient")],
                        "iop": [float(v) for v in functional(ds, f, "PlaneOrientationSequence", "ImageOrientationPatient")],
                        "spacing": [float(v) for v in functional(ds, f, "PixelMeasuresSequence", "PixelSpacing")],
                        "thickness": float(functional(ds, f, "PixelMeasuresSequence", "SliceThickness")),
                        "frame_of_reference": ds.FrameOfReferenceUID, "series": ds.SeriesInstanceUID,
                        "study": ds.StudyInstanceUID, "image_type": list(ds.ImageType),
                        "series_description": ds.SeriesDescription})
            else:
                slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
                values = (arr.astype(np.float64) * slope + intercept).astype(np.float32)
                blob.write(values.astype("<f4").tobytes())
                out.append({
                    "sop": ds.SOPInstanceUID, "frame": None, "rows": ds.Rows, "columns": ds.Columns,
                    "ipp": [float(v) for v in ds.ImagePositionPatient],
                    "iop": [float(v) for v in ds.ImageOrientationPatient],
                    "spacing": [float(v) for v in ds.PixelSpacing], "thickness": float(ds.SliceThickness),
                    "frame_of_reference": ds.FrameOfReferenceUID, "series": ds.SeriesInstanceUID,
                    "study": ds.StudyInstanceUID, "image_type": list(ds.ImageType),
                    "series_description": ds.SeriesDescription,
                    "images_in_acquisition": int(ds.ImagesInAcquisition)})
    print(json.dumps({"frames": out}))


def make_ae(args, contexts):
    from pynetdicom import AE
    ae = AE(ae_title=args.calling)
    # Generous: CI machines are small and shared; a slow answer must not read as a protocol failure.
    ae.acse_timeout = 30
    ae.dimse_timeout = 30
    ae.network_timeout = 30
    for sop in contexts:
        ae.add_requested_context(sop, [ImplicitVRLittleEndian] if args.implicit else [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    return ae


def send(args):
    """Sends files over one association (or one per file with --each) and reports every status."""
    files = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir) if f.endswith(".dcm")) if os.path.isdir(args.dir) else [args.dir]
    classes = sorted({str(read_file_meta_info(f).MediaStorageSOPClassUID) for f in files})
    ae = make_ae(args, classes)
    statuses, comments = [], []
    started = time.monotonic()
    groups = [[f] for f in files] if args.each else [files]
    rejected = None
    for group in groups:
        assoc, was_rejected = associate(ae, args)
        if not assoc.is_established:
            rejected = "rejected" if was_rejected else "aborted"
            break
        for f in group:
            # Passing a path sends the file's encoded dataset as it is, so corrupt input reaches the SCP unchanged.
            status = assoc.send_c_store(f)
            statuses.append(int(status.Status) if "Status" in status else None)
            comments.append(str(status.get("ErrorComment", "")) if status else "")
        if args.hold_before_release:
            # Every C-STORE is acknowledged; the association stays open, as a console that is still acquiring.
            print(json.dumps({"acknowledged": statuses}), flush=True)
            time.sleep(args.hold_before_release)
        assoc.release()
    print(json.dumps({"statuses": statuses, "comments": comments, "rejected": rejected,
                      "seconds": time.monotonic() - started}))


def associate(ae, args):
    """ae.associate, plus whether an A-ASSOCIATE-RJ PDU arrived: pynetdicom 3 can lose the rejection it has just
    received in a race with its own transport close (it then logs the RJ PDU and reports an abort)."""
    from pynetdicom import evt
    seen = {"rj": False}

    def on_pdu(event):
        if type(event.pdu).__name__ == "A_ASSOCIATE_RJ":
            seen["rj"] = True

    assoc = ae.associate(args.host, args.port, ae_title=args.called, evt_handlers=[(evt.EVT_PDU_RECV, on_pdu)],
                         tls_args=tls_args(args))
    return assoc, assoc.is_rejected or seen["rj"]


def tls_args(args):
    """pynetdicom's (ssl context, server host name) for --tls-ca: verify the server against that CA, and present
    --tls-cert/--tls-key when given. None for plain TCP."""
    if not getattr(args, "tls_ca", None):
        return None
    import ssl
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.tls_ca)
    context.check_hostname = False
    if args.tls_cert:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    return (context, None)


def negotiate(args):
    """Proposes the given SOP classes and reports which were accepted, or whether the association was rejected."""
    ae = make_ae(args, args.sop)
    assoc, rejected = associate(ae, args)
    result = {"established": assoc.is_established, "rejected": rejected, "accepted": [], "refused": []}
    if assoc.is_established:
        result["accepted"] = [str(c.abstract_syntax) for c in assoc.accepted_contexts]
        result["refused"] = [str(c.abstract_syntax) for c in assoc.rejected_contexts]
        if args.hold:
            # Say so first, so a test can act while the association holds its slot.
            print(json.dumps({"holding": True}), flush=True)
            time.sleep(args.hold)
        assoc.release()
    print(json.dumps(result))


def echo_loop(args):
    """Opens and releases many associations in a row, each with a C-ECHO and a C-STORE."""
    ae = make_ae(args, ["1.2.840.10008.1.1", MR])
    files = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir) if f.endswith(".dcm"))
    failures, reasons = 0, []
    for i in range(args.count):
        started = time.monotonic()
        assoc = ae.associate(args.host, args.port, ae_title=args.called)
        if not assoc.is_established:
            failures += 1
            reasons.append({"association": i, "step": "associate", "rejected": assoc.is_rejected,
                            "aborted": assoc.is_aborted, "seconds": round(time.monotonic() - started, 3)})
            continue
        ok = assoc.send_c_echo()
        st = assoc.send_c_store(files[i % len(files)])
        # An empty response dataset means no C-STORE-RSP arrived (timeout or abort): a failure, not a crash.
        if not ok or getattr(st, "Status", None) != 0:
            failures += 1
            reasons.append({"association": i, "step": "echo" if not ok else "store",
                            "echo_status": getattr(ok, "Status", None), "store_status": getattr(st, "Status", None),
                            "aborted": assoc.is_aborted, "seconds": round(time.monotonic() - started, 3)})
        assoc.release()
    print(json.dumps({"associations": args.count, "failures": failures, "reasons": reasons}))


def scp(args):
    """A Storage SCP that answers with a chosen status after a chosen delay; prints READY <port> when listening."""
    from pynetdicom import AE, evt, AllStoragePresentationContexts
    received = []

    refused = [0]
    accepted = []

    def on_store(event):
        time.sleep(args.delay)
        if refused[0] < args.refuse_first:
            refused[0] += 1
            return 0xA700
        received.append(event.request.AffectedSOPInstanceUID)
        accepted.append(str(event.request.AffectedSOPInstanceUID))
        if args.out:
            ds = event.dataset
            ds.file_meta = event.file_meta
            ds.save_as(os.path.join(args.out, ds.SOPInstanceUID + ".dcm"), enforce_file_format=True)
        return args.status

    ae = AE(ae_title=args.ae)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_supported_context("1.2.840.10008.1.1")
    server = ae.start_server(("127.0.0.1", args.listen_port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    print(f"READY {server.server_address[1]}", flush=True)
    sys.stdin.read()  # serve until the test closes our stdin
    server.shutdown()
    print(json.dumps({"accepted": accepted, "refused": refused[0]}), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)

    def net(sp):
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, required=True)
        sp.add_argument("--called", default="SPINEPLAN")
        sp.add_argument("--calling", default="CONSOLE")
        sp.add_argument("--implicit", action="store_true")
        sp.add_argument("--tls-ca", help="DICOM TLS: verify the server's certificate against this CA (PEM)")
        sp.add_argument("--tls-cert", help="DICOM TLS: the client certificate to present (PEM)")
        sp.add_argument("--tls-key", help="DICOM TLS: its private key (PEM)")

    c = sub.add_parser("make-classic")
    c.add_argument("out")
    c.add_argument("--count", type=int, default=7)
    c.add_argument("--rows", type=int, default=64)
    c.add_argument("--cols", type=int, default=48)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--signed", action="store_true")
    c.add_argument("--bits-stored", type=int, default=12)
    c.add_argument("--slope", type=float, default=1.0)
    c.add_argument("--intercept", type=float, default=0.0)
    c.add_argument("--implicit", action="store_true")
    c.add_argument("--diagnostic", action="store_true", help="one sagittal orientation, no localizer marks: a daemon ignores it")
    c.set_defaults(fn=make_classic)

    e = sub.add_parser("make-enhanced")
    e.add_argument("out")
    e.add_argument("--frames", type=int, default=5)
    e.add_argument("--rows", type=int, default=40)
    e.add_argument("--cols", type=int, default=56)
    e.add_argument("--seed", type=int, default=2)
    e.add_argument("--implicit", action="store_true")
    e.set_defaults(fn=make_enhanced)

    x = sub.add_parser("expect")
    x.add_argument("dir")
    x.add_argument("pixels")
    x.set_defaults(fn=expect)

    s = sub.add_parser("send")
    s.add_argument("dir")
    s.add_argument("--each", action="store_true")
    s.add_argument("--hold-before-release", type=float, default=0, help="seconds to keep the association open after the last C-STORE")
    net(s)
    s.set_defaults(fn=send)

    n = sub.add_parser("negotiate")
    n.add_argument("sop", nargs="+")
    n.add_argument("--hold", type=float, default=0, help="seconds to keep the association open before releasing it")
    net(n)
    n.set_defaults(fn=negotiate)

    l = sub.add_parser("echo-loop")
    l.add_argument("dir")
    l.add_argument("--count", type=int, default=200)
    net(l)
    l.set_defaults(fn=echo_loop)

    r = sub.add_parser("scp")
    r.add_argument("--ae", default="PEERSCP")
    r.add_argument("--status", type=lambda v: int(v, 0), default=0)
    r.add_argument("--delay", type=float, default=0.0)
    r.add_argument("--out", default="")
    r.add_argument("--listen-port", type=int, default=0)
    r.add_argument("--refuse-first", type=int, default=0, help="answer the first N C-STOREs with 0xA700")
    r.set_defaults(fn=scp)

    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
