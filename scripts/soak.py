#!/usr/bin/env python3
"""Long load on loopback (issue 16 points 2, 3 and 9): N consoles send localizers to one `spineplan serve` for a
bounded time, and we measure what a hospital would: sessions lost or merged, and the daemon's RSS throughout and
after the load.

Each console is a pynetdicom sender with its own AE title and receiver; every session it sends is a synthetic
patient's localizer with fresh Study, Series, SOP and Frame of Reference UIDs, and every fourth one shares its Study
and Frame of Reference UIDs with the console's previous session but belongs to another patient, so a merge of two
patients into one plan would show.

    scripts/soak.sh [--consoles 8] [--minutes 10]        (builds the release daemon, then runs this)
Prints a summary and writes every figure as JSON (--json).
"""
import argparse
import copy
import json
import os
import statistics
import sys
import threading
import time

import pydicom
from pydicom.uid import generate_uid
from pynetdicom import AE, evt, AllStoragePresentationContexts

from serve_process import rss_kib, start_serve
import pynetdicom_race  # noqa: E402,F401  (pynetdicom 3.0.4 loses a fast SCP's response to a reactor race)

SR = "1.2.840.10008.5.1.4.1.1.88.34"
MR = "1.2.840.10008.5.1.4.1.1.4"


def load_sessions(folder, planes):
    sessions = []
    for case in sorted(os.listdir(folder)):
        loc = os.path.join(folder, case, "localizer")
        files = sorted(os.path.join(loc, f) for f in os.listdir(loc) if f.startswith(planes))
        sessions.append([pydicom.dcmread(f) for f in files])
    return sessions


def fresh_copy(datasets, patient, study, frame):
    """The session as a new acquisition of `patient`: new series and instance UIDs, the given study and frame."""
    series = {}
    out = []
    for ds in datasets:
        c = copy.deepcopy(ds)  # Dataset.copy() is shallow: consoles on other threads would share its elements
        c.PatientID = patient
        c.PatientName = f"SOAK^{patient}"
        c.StudyInstanceUID = study
        c.FrameOfReferenceUID = frame
        c.SeriesInstanceUID = series.setdefault(ds.SeriesInstanceUID, generate_uid())
        c.SOPInstanceUID = generate_uid()
        c.file_meta.MediaStorageSOPInstanceUID = c.SOPInstanceUID
        out.append(c)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spineplan", required=True)
    p.add_argument("--sessions", required=True, help="folder of `spineplan synth` sessions")
    p.add_argument("--consoles", type=int, default=8)
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--settle", type=float, default=60, help="seconds after the load to wait for results and RSS")
    p.add_argument("--window", type=float, default=75, help="seconds after the load before the last RSS sample")
    p.add_argument("--planes", default="sag,cor")
    p.add_argument("--state", required=True)
    p.add_argument("--json")
    args = p.parse_args()

    templates = load_sessions(args.sessions, tuple(x + "_" for x in args.planes.split(",")))
    lock = threading.Lock()
    results = {}    # study UID -> list of (patient ID, SOP class) received
    sent = {}       # (patient, study) -> console, for sessions whose every C-STORE was acknowledged
    attempted = set()  # (patient, study) of every session begun, whole or not
    owner = {}      # SOP Instance UID sent -> patient ID
    merged = []     # SRs whose evidence names another patient's instance

    def evidence(ds):
        for study in ds.get("CurrentRequestedProcedureEvidenceSequence", []):
            for series in study.get("ReferencedSeriesSequence", []):
                for ref in series.get("ReferencedSOPSequence", []):
                    yield str(ref.ReferencedSOPInstanceUID)

    def on_store(event):
        ds = event.dataset
        with lock:
            results.setdefault(ds.StudyInstanceUID, []).append((str(ds.PatientID), ds.SOPClassUID))
            if ds.SOPClassUID == SR:
                others = {owner.get(uid) for uid in evidence(ds)} - {str(ds.PatientID)}
                if others:
                    merged.append((str(ds.PatientID), ds.StudyInstanceUID, sorted(map(str, others))))
        return 0

    receiver = AE(ae_title="SOAKRX")
    receiver.supported_contexts = AllStoragePresentationContexts
    receiver.maximum_associations = 64
    server = receiver.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    rx_port = server.server_address[1]

    # Only the warnings and worse are kept: a 10-minute run logs every instance at info.
    daemon, port, log = start_serve(args.spineplan, [
        "--state-dir", args.state, "--destination", f"SOAKRX@127.0.0.1:{rx_port}",
        "--max-associations", str(4 * args.consoles)], keep=lambda l: l.split(" ", 2)[1:2] != ["info"])
    idle_before = rss_kib(daemon.pid)

    stop = time.monotonic() + args.seconds
    counters = {"sessions": 0, "rejected": 0, "store_failures": 0, "aborted": 0}
    samples = []

    def console(index):
        ae = AE(ae_title=f"SOAK{index:02d}")
        ae.add_requested_context(MR)
        previous = None
        k = 0
        while time.monotonic() < stop:
            template = templates[(index + k) % len(templates)]
            patient = f"P{index:02d}-{k:05d}"
            if previous and k % 4 == 3:
                study, frame = previous  # another patient under the same Study and Frame of Reference UIDs
            else:
                study, frame = generate_uid(), generate_uid()
            datasets = fresh_copy(template, patient, study, frame)
            assoc = ae.associate("127.0.0.1", port, ae_title="SPINEPLAN")
            if not assoc.is_established:
                with lock:
                    counters["rejected"] += 1
                time.sleep(0.2)
                continue
            with lock:
                attempted.add((patient, study))
                for ds in datasets:
                    owner[str(ds.SOPInstanceUID)] = patient
            ok = True
            try:
                for ds in datasets:
                    status = assoc.send_c_store(ds)
                    if not status or status.Status != 0:
                        ok = False
                assoc.release()
            except RuntimeError:
                # Aborted mid-session (a timeout under load): what was acknowledged is still planned, as a partial
                # localizer; the session is not counted as sent whole.
                with lock:
                    counters["aborted"] += 1
                previous = (study, frame)
                k += 1
                continue
            with lock:
                if ok:
                    counters["sessions"] += 1
                    sent[(patient, study)] = index
                else:
                    counters["store_failures"] += 1
            previous = (study, frame)
            k += 1

    threads = [threading.Thread(target=console, args=(i,)) for i in range(args.consoles)]
    started = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        samples.append((time.monotonic() - started, rss_kib(daemon.pid)))
        time.sleep(1)
    load_end = time.monotonic()
    while time.monotonic() - load_end < args.settle:
        samples.append((time.monotonic() - started, rss_kib(daemon.pid)))
        with lock:
            got = sum(1 for (patient, study) in sent if any(r[0] == patient and r[1] == SR for r in results.get(study, [])))
        if got >= len(sent) and time.monotonic() - load_end > 10:
            break
        time.sleep(1)
    after = rss_kib(daemon.pid)
    # Planned sessions are kept 60 s for late slices and the allocator is trimmed every 10 s when idle: what is
    # left past that window is what the load left behind.
    while time.monotonic() - load_end < args.window:
        time.sleep(1)
    after_window = rss_kib(daemon.pid)
    daemon.terminate()
    daemon.wait(timeout=60)
    server.shutdown()

    with lock:
        delivered = {(pt, st) for st, rs in results.items() for pt, cls in rs if cls == SR}
        lost = [key for key in sent if key not in delivered]
        # A merge: an SR for a study carrying a patient that never sent to that study, or one SR per study when two
        # patients sent to it (then one of them is lost or named wrongly).
        foreign = [(pt, st) for (pt, st) in delivered if (pt, st) not in attempted]
    peak = max(r for _, r in samples)
    summary = {
        "consoles": args.consoles, "seconds": round(load_end - started, 1),
        "sessions_sent": len(sent), "rejected_associations": counters["rejected"],
        "store_failures": counters["store_failures"], "aborted_mid_session": counters["aborted"], "lost": len(lost),
        "foreign_results": len(foreign), "merged": len(merged),
        "rss_idle_mib": round(idle_before / 1024, 1), "rss_peak_mib": round(peak / 1024, 1),
        "rss_after_mib": round(after / 1024, 1), "rss_75s_after_load_mib": round(after_window / 1024, 1),
        "rss_median_last_minute_mib": round(statistics.median(r for t, r in samples if t >= max(0, load_end - started - 60)) / 1024, 1),
        "sessions_per_second": round(len(sent) / max(1e-9, load_end - started), 2),
        "rss_samples": [(round(t, 1), round(r / 1024, 1)) for t, r in samples],
    }
    # What the daemon warned about, by message (its log lines are `time level label: metadata [module] message`).
    messages = {}
    for line in log:
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in ("warning", "error", "critical"):
            text = parts[2].rsplit("] ", 1)[-1].strip()
            messages[f"{parts[1]}: {text}"] = messages.get(f"{parts[1]}: {text}", 0) + 1
    summary["daemon_warnings"] = dict(sorted(messages.items(), key=lambda kv: -kv[1])[:12])
    print(json.dumps({k: v for k, v in summary.items() if k != "rss_samples"}))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)
    return 0 if not lost and not foreign and not merged and peak <= 300 * 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
