#!/usr/bin/env python3
"""An MR console for the daemon's end-to-end tests, independent of SpinePlan's own DICOM code (pynetdicom).

It listens for results as --ae, sends each --session folder over its own association to the daemon, and waits until
an SR (and, with --overlay, a Secondary Capture) came back for every study it sent or was told to --expect.
It prints one JSON line: what was sent, what came back per study, and the planes highdicom reads from each SR.
With --no-send it only listens: the outbox test brings the console up after the daemon has been killed.
"""
import argparse
import json
import os
import sys
import threading
import time

import numpy as np
import pydicom
from pynetdicom import AE, AllStoragePresentationContexts, evt
# pynetdicom 3.0.4 loses a fast SCP's response to a race in its reactor thread (scripts/pynetdicom_race.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import pynetdicom_race  # noqa: E402,F401

SR = "1.2.840.10008.5.1.4.1.1.88.34"
SC = "1.2.840.10008.5.1.4.1.1.7"


def files_of(folder):
    sub = os.path.join(folder, "localizer")
    folder = sub if os.path.isdir(sub) else folder
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".dcm"))


def planes_of(path):
    import highdicom as hd
    doc = hd.sr.srread(path)
    planes = []
    for group in doc.content.get_planar_roi_measurement_groups():
        pts = np.array(group.roi.value, dtype=float).reshape(-1, 3)[:4]
        centre = pts.mean(axis=0)
        n = np.cross(pts[1] - pts[0], pts[3] - pts[0])
        n /= np.linalg.norm(n)
        planes.append({"id": str(group.tracking_identifier), "centre": centre.tolist(), "normal": n.tolist()})
    return planes


def referenced_instances(ds):
    uids = []
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence", []):
        for series in study.get("ReferencedSeriesSequence", []):
            uids += [str(item.ReferencedSOPInstanceUID) for item in series.get("ReferencedSOPSequence", [])]
    return sorted(uids)


def relabel_as_diagnostic(datasets):
    """The sagittal slices only, as an ordinary T2 series of a study of their own: nothing marks them as a localizer."""
    from pydicom.uid import generate_uid
    study, series = generate_uid(), generate_uid()
    out = []
    for d in datasets:
        iop = np.array(d.ImageOrientationPatient, dtype=float)
        if abs(np.cross(iop[:3], iop[3:])[0]) < 0.9:
            continue
        d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID = study, series, generate_uid()
        d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
        d.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
        d.SeriesDescription = "T2 TSE SAG"
        d.ImagesInAcquisition = sum(1 for _ in out) + 1
        out.append(d)
    for d in out:
        d.ImagesInAcquisition = len(out)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ae", default="CONSOLE")
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--port", type=int, default=0, help="the daemon's port")
    ap.add_argument("--called", default="SPINEPLAN")
    ap.add_argument("--session", action="append", default=[])
    ap.add_argument("--diagnostic-session", action="append", default=[],
                    help="send this folder's sagittal slices relabelled as a diagnostic T2 series of a new study; no result may come back")
    ap.add_argument("--expect", action="append", default=[], help="a study whose results must come back")
    ap.add_argument("--no-send", action="store_true")
    ap.add_argument("--overlay", action="store_true", help="also wait for the overlay image")
    ap.add_argument("--timeout", type=float, default=90)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    received = []
    lock = threading.Condition()

    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        with lock:
            received.append({"at": time.perf_counter(), "ds": ds, "calling": event.assoc.requestor.ae_title})
            lock.notify_all()
        return 0

    ae = AE(ae_title=args.ae)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    server = ae.start_server(("127.0.0.1", args.listen_port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    print(json.dumps({"listening": server.server_address[1]}), flush=True)

    sent = []
    expected = list(args.expect)
    if not args.no_send:
        sender = AE(ae_title=args.ae)
        sender.acse_timeout = sender.dimse_timeout = sender.network_timeout = 30
        jobs = [(f, True) for f in args.diagnostic_session] + [(f, False) for f in args.session]
        for folder, diagnostic in jobs:
            files = files_of(folder)
            datasets = [pydicom.dcmread(f) for f in files]
            if diagnostic:
                datasets = relabel_as_diagnostic(datasets)
            for sop in sorted({str(d.SOPClassUID) for d in datasets}):
                sender.add_requested_context(sop)
            assoc = sender.associate("127.0.0.1", args.port, ae_title=args.called)
            if not assoc.is_established:
                print(json.dumps({"error": f"association to the daemon {'rejected' if assoc.is_rejected else 'failed'}"}))
                sys.exit(1)
            statuses = []
            for d in datasets:
                status = assoc.send_c_store(d)
                statuses.append(int(status.Status) if "Status" in status else None)
            done = time.perf_counter()
            assoc.release()
            study = str(datasets[0].StudyInstanceUID)
            sent.append({"study": study, "statuses": statuses, "instances": sorted(str(d.SOPInstanceUID) for d in datasets),
                         "done": done, "diagnostic": diagnostic})
            if not diagnostic:
                expected.append(study)

    def results_for(study):
        return [r for r in received if str(r["ds"].StudyInstanceUID) == study]

    def complete(study):
        classes = {str(r["ds"].SOPClassUID) for r in results_for(study)}
        return SR in classes and (not args.overlay or SC in classes)

    deadline = time.time() + args.timeout
    with lock:
        while time.time() < deadline and not all(complete(s) for s in expected):
            lock.wait(0.05)
    server.shutdown()

    studies = {}
    for study in expected:
        entry = {"sr": False, "overlay": False}
        sent_at = next((s["done"] for s in sent if s["study"] == study), None)
        for i, r in enumerate(results_for(study)):
            ds = r["ds"]
            if str(ds.SOPClassUID) == SR and not entry["sr"]:
                path = os.path.join(args.out, f"sr-{len(studies)}-{i}.dcm")
                ds.save_as(path, enforce_file_format=True)
                entry.update(sr=True, sr_path=path, planes=planes_of(path), referenced=referenced_instances(ds),
                             sender=r["calling"], patient_id=str(ds.get("PatientID", "")))
                if sent_at is not None:
                    entry["latency_ms"] = (r["at"] - sent_at) * 1000
            elif str(ds.SOPClassUID) == SC:
                entry["overlay"] = True
                entry["overlay_size"] = [int(ds.Rows), int(ds.Columns)]
        entry["results"] = len(results_for(study))
        studies[study] = entry
    others = sorted({str(r["ds"].StudyInstanceUID) for r in received} - set(expected))
    print(json.dumps({"sent": [{k: v for k, v in s.items() if k != "done"} for s in sent], "studies": studies,
                      "unexpected_studies": others}))


if __name__ == "__main__":
    main()
