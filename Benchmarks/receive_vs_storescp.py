#!/usr/bin/env python3
"""Receive path against DCMTK's storescp (issue 15 point 2), same sender, same files, runs interleaved.

One pynetdicom sender (TCP_NODELAY on its socket, so the sender's own Nagle stalls do not hide the receiver's) sends a
localizer over one association to each receiver in turn and times association request to release response. The
receivers: `spineplan serve` (which then also plans the localizer: each run waits for the SR so planning never
overlaps the next send) and `storescp` (TCP_NODELAY=1, writing to a temporary folder). Prints medians, the ratio
(storescp time / ours: >= 0.9 is the target) and each receiver's RSS after the runs.
"""
import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import pydicom
from pynetdicom import AE, evt, AllStoragePresentationContexts
# pynetdicom 3.0.4 loses a fast SCP's response to a race in its reactor thread (scripts/pynetdicom_race.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import pynetdicom_race  # noqa: E402,F401

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from serve_process import rss_kib, start_serve  # noqa: E402

MR = "1.2.840.10008.5.1.4.1.1.4"
SR = "1.2.840.10008.5.1.4.1.1.88.34"


def rss_mib(pid):
    return rss_kib(pid) / 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(datasets, port, called):
    ae = AE(ae_title="BENCHSCU")
    ae.add_requested_context(MR)
    t0 = time.perf_counter()
    assoc = ae.associate("127.0.0.1", port, ae_title=called)
    if not assoc.is_established:
        raise SystemExit(f"association to {called} refused")
    assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for ds in datasets:
        status = assoc.send_c_store(ds)
        if not status or status.Status != 0:
            raise SystemExit(f"C-STORE to {called} failed: {status}")
    assoc.release()
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spineplan", required=True)
    p.add_argument("--case", action="append", required=True, help="NAME=FOLDER of .dcm files")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json")
    args = p.parse_args()

    srs = threading.Condition()
    count = [0]

    def on_store(event):
        if event.dataset.SOPClassUID == SR:
            with srs:
                count[0] += 1
                srs.notify_all()
        return 0

    def wait_for_srs(expected):
        with srs:
            return srs.wait_for(lambda: count[0] >= expected, timeout=180)

    rx = AE(ae_title="BENCHRX")
    rx.supported_contexts = AllStoragePresentationContexts
    server = rx.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    with tempfile.TemporaryDirectory() as tmp:
        ours, port, _ = start_serve(args.spineplan, [
            "--state-dir", os.path.join(tmp, "state"), "--destination", f"BENCHRX@127.0.0.1:{server.server_address[1]}"],
            keep=lambda line: False, env=dict(os.environ, OMP_WAIT_POLICY="passive"))
        theirs_port = free_port()
        os.makedirs(os.path.join(tmp, "storescp"))
        theirs = subprocess.Popen(["storescp", "--aetitle", "STORESCP", "--output-directory", os.path.join(tmp, "storescp"),
                                   str(theirs_port)], env=dict(os.environ, TCP_NODELAY="1"),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        results = {}
        for case in args.case:
            name, folder = case.split("=", 1)
            files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".dcm"))
            datasets = [pydicom.dcmread(f) for f in files]
            times = {"spineplan": [], "storescp": []}
            # One SR per study in the case: planning of one run must be over before the next send starts.
            studies = len({str(ds.StudyInstanceUID) for ds in datasets})
            send(datasets, theirs_port, "STORESCP")  # warm-up, each
            with srs:
                count[0] = 0
            send(datasets, port, "SPINEPLAN")
            wait_for_srs(studies)
            for _ in range(args.runs):
                times["storescp"].append(send(datasets, theirs_port, "STORESCP"))
                with srs:
                    count[0] = 0
                times["spineplan"].append(send(datasets, port, "SPINEPLAN"))
                if not wait_for_srs(studies):
                    raise SystemExit("not every SR came back")
            ours_ms = statistics.median(times["spineplan"]) * 1000
            theirs_ms = statistics.median(times["storescp"]) * 1000
            mib = sum(os.path.getsize(f) for f in files) / 2**20
            results[name] = {"slices": len(files), "mib": round(mib, 1), "spineplan_ms": round(ours_ms, 1),
                             "storescp_ms": round(theirs_ms, 1), "ratio": round(theirs_ms / ours_ms, 2),
                             "spineplan_mib_s": round(mib / ours_ms * 1000, 1), "storescp_mib_s": round(mib / theirs_ms * 1000, 1)}
            print(f"{name}: {len(files)} slices, {mib:.1f} MiB: spineplan {ours_ms:.1f} ms, storescp {theirs_ms:.1f} ms "
                  f"(median of {args.runs}); throughput ratio {theirs_ms / ours_ms:.2f} (>= 0.9 is the target)")
        results["rss_mib"] = {"spineplan": round(rss_mib(ours.pid), 1), "storescp": round(rss_mib(theirs.pid), 1)}
        print(f"RSS after the runs: spineplan {results['rss_mib']['spineplan']} MiB (model loaded), "
              f"storescp {results['rss_mib']['storescp']} MiB")
        # Planned sessions are kept 60 s for late slices; after that only the allocator holds memory.
        time.sleep(65)
        results["rss_mib_65s_later"] = round(rss_mib(ours.pid), 1)
        print(f"spineplan RSS 65 s later (past the late-slice window): {results['rss_mib_65s_later']} MiB")
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
        flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
        results["cpu"] = cpu
        results["flags"] = sorted(f for f in flags if f.startswith(("avx512", "amx")))
        print(f"CPU: {cpu}; {' '.join(results['flags'])}")
        ours.terminate()
        theirs.terminate()
        ours.wait(60)
        theirs.wait(10)
    server.shutdown()
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
