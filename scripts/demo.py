#!/usr/bin/env python3
"""SpinePlan end-to-end demo: a pynetdicom console sends a synthetic 3-plane localizer to `spineplan serve`,
receives the SR and the overlay, and prints the plane table and the latency measured at the console.

With --sessions N it repeats on N synthetic patients and prints the latency median and 95th percentile
(Benchmarks/e2e uses this)."""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
import pydicom
from pynetdicom import AE, evt, AllStoragePresentationContexts

from serve_process import rss_kib, start_serve
import pynetdicom_race  # noqa: E402,F401  (pynetdicom 3.0.4 loses a fast SCP's response to a reactor race)

MR = "1.2.840.10008.5.1.4.1.1.4"


def polygon_planes(sr):
    """(tracking identifier, centre, normal) for each planar ROI group, read with highdicom."""
    import highdicom as hd
    doc = hd.sr.srread(sr) if isinstance(sr, str) else hd.sr.Comprehensive3DSR.from_dataset(sr)
    planes = []
    for group in doc.content.get_planar_roi_measurement_groups():
        region = group.roi
        pts = np.array(region.value, dtype=float).reshape(-1, 3)
        p = pts[:4]
        centre = p.mean(axis=0)
        n = np.cross(p[1] - p[0], p[3] - p[0])
        n /= np.linalg.norm(n)
        planes.append((str(group.tracking_identifier), centre, n))
    return planes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spineplan", required=True)
    ap.add_argument("--out", default="out/demo")
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--sagittal-slices", type=int, default=7)
    ap.add_argument("--matrix", type=int, default=0, help="localizer matrix (0: the scanner's random choice)")
    ap.add_argument("--planes", default="sag,cor,ax", help="which localizer stacks the console sends")
    ap.add_argument("--json", default="", help="write the latency figures here")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sessions_dir = os.path.join(args.out, "sessions")

    t = time.time()
    subprocess.run([args.spineplan, "synth", "--out", sessions_dir, "--seed", str(args.seed), "--count", str(args.sessions),
                    "--sagittal-slices", str(args.sagittal_slices)] + (["--matrix", str(args.matrix)] if args.matrix else []),
                   check=True, stdout=subprocess.DEVNULL)
    print(f"synthesised {args.sessions} session(s) in {time.time() - t:.1f} s")

    received = []
    lock = threading.Condition()

    def on_store(event):
        ds = event.dataset
        ds.file_meta = event.file_meta
        with lock:
            received.append((time.perf_counter(), ds))
            lock.notify_all()
        return 0

    def no_delay(event):
        # A console whose own sockets wait on delayed ACKs (Nagle) adds ~40 ms a C-STORE that is not SpinePlan's.
        event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    console = AE(ae_title="DEMOCONSOLE")
    console.supported_contexts = AllStoragePresentationContexts
    server = console.start_server(("127.0.0.1", 0), block=False,
                                  evt_handlers=[(evt.EVT_C_STORE, on_store), (evt.EVT_CONN_OPEN, no_delay)])
    console_port = server.server_address[1]

    state = os.path.join(args.out, "state")
    started = time.time()
    daemon, port, log = start_serve(args.spineplan, ["--destination", f"DEMOCONSOLE@127.0.0.1:{console_port}",
                                                     "--state-dir", state])
    start_seconds = time.time() - started
    time.sleep(1)
    idle_rss_mib = rss_kib(daemon.pid) / 1024
    print(f"spineplan serve is listening on 127.0.0.1:{port} ({start_seconds:.2f} s to start, model loaded; "
          f"{idle_rss_mib:.0f} MiB RSS idle)")

    sender = AE(ae_title="DEMOCONSOLE")
    sender.add_requested_context(MR)
    latencies, from_first = [], []
    cases = sorted(os.listdir(sessions_dir))
    try:
        for case in cases:
            folder = os.path.join(sessions_dir, case, "localizer")
            planes = tuple(p + "_" for p in args.planes.split(","))
            files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.startswith(planes))
            datasets = [pydicom.dcmread(f) for f in files]  # read before the clock starts: a console has them in memory
            with lock:
                before = len(received)
            first = time.perf_counter()  # the console starts sending: what the technologist waits from
            assoc = sender.associate("127.0.0.1", port, ae_title="SPINEPLAN")
            if not assoc.is_established:
                sys.exit("association rejected")
            assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for ds in datasets:
                status = assoc.send_c_store(ds)
                if "Status" not in status:
                    sys.exit(f"{case}: no C-STORE response (association aborted or timed out):\n" + "".join(log[-20:]))
                if status.Status != 0:
                    sys.exit(f"C-STORE failed with 0x{status.Status:04X}")
            t0 = time.perf_counter()  # the console has the response to its last slice
            assoc.release()
            sr = None
            with lock:
                deadline = time.time() + 30
                while time.time() < deadline:
                    srs = [(ts, ds) for ts, ds in received[before:] if ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"]
                    if srs:
                        sr = srs[0]
                        break
                    lock.wait(0.05)
            if sr is None:
                sys.exit("no SR came back within 30 s:\n" + "".join(log[-20:]))
            latency = (sr[0] - t0) * 1000
            latencies.append(latency)
            from_first.append((sr[0] - first) * 1000)
            if case == cases[0]:
                show(case, sessions_dir, sr[1], received, before, lock, args.out, latency)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        server.shutdown()
    # The daemon's own stage timings (its "session planned" log lines), to show where the latency goes.
    stages = {}
    for line in log:
        if "session planned" in line:
            for key, value in re.findall(r"\b(ms_\w+|latency_ms)=([0-9.]+)", line):
                stages.setdefault(key, []).append(float(value))
    stage_medians = {k: statistics.median(v) for k, v in sorted(stages.items())}
    if stage_medians:
        print("daemon stage medians (ms): " + ", ".join(f"{k.replace('ms_', '')} {v:.1f}" for k, v in stage_medians.items()))
    def p95(values):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    lat, first_lat = sorted(latencies), sorted(from_first)
    print(f"\nend-to-end latency at the console over {len(lat)} session(s): median {statistics.median(lat):.0f} ms, "
          f"95th percentile {p95(lat):.0f} ms (last C-STORE response to SR received); from the association request "
          f"before the first slice: median {statistics.median(first_lat):.0f} ms, 95th percentile {p95(first_lat):.0f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"sessions": len(lat), "median_ms": statistics.median(lat), "p95_ms": p95(lat), "latencies_ms": lat,
                       "from_first_median_ms": statistics.median(first_lat), "from_first_p95_ms": p95(first_lat),
                       "from_first_ms": first_lat, "daemon_stage_medians_ms": stage_medians,
                       "start_seconds": start_seconds, "idle_rss_mib": idle_rss_mib}, f, indent=1)


def show(case, sessions_dir, sr, received, before, lock, out, latency):
    truth = json.load(open(os.path.join(sessions_dir, case, "truth.json")))
    truth_discs = {d["level"]: d for d in truth["discs"]}
    sr_path = os.path.join(out, "plan-sr.dcm")
    sr.save_as(sr_path, enforce_file_format=True)
    print(f"\n{case}: SR received ({latency:.0f} ms after the last slice), saved to {sr_path}")
    print("plane                      centre LPS (mm)              normal                 vs truth")
    for ident, centre, normal in polygon_planes(sr_path):
        level = ident.split(" ")[0]
        extra = ""
        if level in truth_discs:
            d = truth_discs[level]
            err = np.linalg.norm(centre - np.array(d["centre_lps_mm"]))
            ang = np.degrees(np.arccos(min(1.0, abs(float(np.dot(normal, np.array(d["normal_lps"])))))))
            extra = f"{err:4.1f} mm {ang:4.1f} deg"
        print(f"{ident:26s} ({centre[0]:6.1f}, {centre[1]:6.1f}, {centre[2]:6.1f})  "
              f"({normal[0]:5.2f}, {normal[1]:5.2f}, {normal[2]:5.2f})  {extra}")
    # The overlay follows the SR in the same association; give it a moment.
    deadline = time.time() + 5
    overlay = None
    with lock:
        while time.time() < deadline and overlay is None:
            others = [ds for _, ds in received[before:] if ds.SOPClassUID != "1.2.840.10008.5.1.4.1.1.88.34"]
            overlay = others[0] if others else None
            if overlay is None:
                lock.wait(0.05)
    if overlay is not None:
        from PIL import Image
        pixels = overlay.pixel_array
        png = os.path.join(out, "overlay.png")
        Image.fromarray(pixels.astype(np.uint8)).save(png)
        print(f"overlay image received ({overlay.SOPClassUID}), written to {png}")
    else:
        print("no overlay image came back")


if __name__ == "__main__":
    main()
