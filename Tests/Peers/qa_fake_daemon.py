#!/usr/bin/env python3
"""A stand-in for the SpinePlan daemon in replay tests: a pynetdicom Storage SCP that records what the console sent
(SOP instance UIDs, pixel bytes, and which association carried each), and once it has `--count` instances sends
an SR (written with highdicom from `--plan`) back to the console's listener, as the daemon's outbox would.

Prints `READY <port>` when listening; on stdin close prints one JSON object with what happened.
"""
import argparse
import hashlib
import json
import os
import sys
import threading
from io import BytesIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pydicom import dcmread  # noqa: E402
from pynetdicom import AE, evt, AllStoragePresentationContexts  # noqa: E402
# pynetdicom 3.0.4 loses a fast SCP's response to a race in its reactor thread (scripts/pynetdicom_race.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import pynetdicom_race  # noqa: E402,F401
from pynetdicom.sop_class import Comprehensive3DSRStorage  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

from qa_make_sr import build_sr  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--ae", default="SPINEPLAN")
p.add_argument("--count", type=int, required=True)
p.add_argument("--plan", required=True)
p.add_argument("--return-port", type=int, required=True)
p.add_argument("--return-ae", default="QA_CONSOLE")
args = p.parse_args()

plan = json.load(open(args.plan))
received, associations, callers = [], [], []
result = {"sr_status": None, "sr_error": None}
lock = threading.Lock()


def send_sr(evidence):
    try:
        sr = build_sr(plan, evidence)
        ae = AE(ae_title=args.ae)
        ae.add_requested_context(Comprehensive3DSRStorage, [ExplicitVRLittleEndian])
        assoc = ae.associate("127.0.0.1", args.return_port, ae_title=args.return_ae)
        if not assoc.is_established:
            result["sr_error"] = "association to the console failed"
            return
        if not assoc.accepted_contexts:
            result["sr_error"] = "the console accepted no presentation context for the SR"
            assoc.release()
            return
        status = assoc.send_c_store(sr)
        result["sr_status"] = int(status.Status) if "Status" in status else None
        assoc.release()
    except Exception as e:  # report, never hang the test
        result["sr_error"] = f"{type(e).__name__}: {e}"


def on_store(event):
    ds = event.dataset
    with lock:
        # The SCU re-encodes in the negotiated transfer syntax, so identity is checked on UIDs and pixel bytes.
        received.append({"sop": str(ds.SOPInstanceUID), "pixels": hashlib.sha256(ds.PixelData).hexdigest(),
                         "transfer_syntax": str(event.context.transfer_syntax)})
        ident = id(event.assoc)
        if ident not in associations:
            associations.append(ident)
        callers.append([associations.index(ident) + 1, event.assoc.requestor.ae_title])
        done = len(received) == args.count
    if done:
        ds.file_meta = event.file_meta
        threading.Thread(target=send_sr, args=(ds,)).start()
    return 0


ae = AE(ae_title=args.ae)
ae.supported_contexts = AllStoragePresentationContexts
server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
print(f"READY {server.server_address[1]}", flush=True)
sys.stdin.read()
server.shutdown()
print(json.dumps({"received": received, "associations": [c[0] for c in callers], "calling": [c[1] for c in callers], **result}))
