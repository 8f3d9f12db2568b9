#!/usr/bin/env python3
"""Saturation throughput: N well-behaved consoles each send sessions back to back (fresh patient and UIDs each time,
datasets in memory, TCP_NODELAY) to one `spineplan serve` for a fixed time; a rejected association (backpressure) is
retried after 50 ms. Counts the SRs that arrive during the load. Prints one JSON object.

Unlike scripts/soak.py, no console misbehaves here (no UID collisions, no aborts): this measures speed, not survival.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from pydicom.uid import generate_uid  # noqa: E402
from pynetdicom import AE, AllStoragePresentationContexts, evt  # noqa: E402

from serve_process import rss_kib, start_serve  # noqa: E402
from soak import fresh_copy, load_sessions  # noqa: E402
import pynetdicom_race  # noqa: E402,F401  (pynetdicom 3.0.4 loses a fast SCP's response to a reactor race)

SR = "1.2.840.10008.5.1.4.1.1.88.34"
MR = "1.2.840.10008.5.1.4.1.1.4"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spineplan", required=True)
    p.add_argument("--sessions", required=True)
    p.add_argument("--consoles", type=int, default=1)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--state", required=True)
    args = p.parse_args()
    templates = load_sessions(args.sessions, ("sag_", "cor_"))
    lock = threading.Lock()
    srs = []

    def nodelay(event):
        event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def on_store(event):
        if event.request.AffectedSOPClassUID == SR:
            with lock:
                srs.append(time.monotonic())
        return 0

    receiver = AE(ae_title="BENCHRX")
    receiver.supported_contexts = AllStoragePresentationContexts
    receiver.maximum_associations = 64
    server = receiver.start_server(("127.0.0.1", 0), block=False,
                                   evt_handlers=[(evt.EVT_C_STORE, on_store), (evt.EVT_CONN_OPEN, nodelay)])
    daemon, port, _ = start_serve(args.spineplan, ["--state-dir", args.state, "--destination",
                                                   f"BENCHRX@127.0.0.1:{server.server_address[1]}",
                                                   "--max-associations", str(4 * args.consoles)],
                                  keep=lambda l: " info " not in l)
    counters = {"sent": 0, "rejected": 0}
    peak = [rss_kib(daemon.pid)]
    start = time.monotonic()
    stop = start + args.seconds

    def console(index):
        ae = AE(ae_title=f"BENCH{index:02d}")
        ae.add_requested_context(MR)
        k = 0
        while time.monotonic() < stop:
            session = fresh_copy(templates[(index + k) % len(templates)], f"B{index}-{k}", generate_uid(), generate_uid())
            k += 1
            assoc = ae.associate("127.0.0.1", port, ae_title="SPINEPLAN")
            if not assoc.is_established:
                with lock:
                    counters["rejected"] += 1
                time.sleep(0.05)
                continue
            assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ok = all(getattr(assoc.send_c_store(ds), "Status", -1) == 0 for ds in session)
            assoc.release()
            if ok:
                with lock:
                    counters["sent"] += 1

    threads = [threading.Thread(target=console, args=(i,)) for i in range(args.consoles)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak.append(rss_kib(daemon.pid))
        time.sleep(0.5)
    with lock:
        done = sum(1 for t in srs if t <= stop)
    daemon.terminate()
    daemon.wait(timeout=60)
    server.shutdown()
    print(json.dumps({"consoles": args.consoles, "seconds": args.seconds, "sessions_sent": counters["sent"],
                      "rejected_associations": counters["rejected"], "srs_during_load": done,
                      "sessions_per_second": round(done / args.seconds, 2), "rss_peak_mib": round(max(peak) / 1024, 1)}))


if __name__ == "__main__":
    main()
