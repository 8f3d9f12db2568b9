#!/usr/bin/env python3
"""Checks an exported recording independently: every byte of every file is searched for the given PHI strings, and
every DICOM file is read with pydicom to report its identity attributes. Prints one JSON object.

usage: qa_phi_scan.py FOLDER STRING...
"""
import json
import os
import sys

from pydicom import dcmread

folder, needles = sys.argv[1], sys.argv[2:]
hits, datasets = [], []
for base, _, names in os.walk(folder):
    for name in sorted(names):
        path = os.path.join(base, name)
        data = open(path, "rb").read()
        for needle in needles:
            # Both the plain bytes and UTF-16 would betray a leak; DICOM text here is single-byte or UTF-8.
            if needle.encode() in data:
                hits.append({"file": os.path.relpath(path, folder), "string": needle})
        if name.endswith(".dcm"):
            ds = dcmread(path)
            private = [str(e.tag) for e in ds.iterall() if e.tag.is_private]
            datasets.append({
                "file": os.path.relpath(path, folder),
                "patient_name": str(ds.get("PatientName", "")),
                "patient_id": str(ds.get("PatientID", "")),
                "identity_removed": str(ds.get("PatientIdentityRemoved", "")),
                "study_uid": str(ds.get("StudyInstanceUID", "")),
                "sop_uid": str(ds.get("SOPInstanceUID", "")),
                "meta_sop_uid": str(ds.file_meta.get("MediaStorageSOPInstanceUID", "")),
                "private_tags": private,
                "rows": int(ds.get("Rows", 0)),
            })
print(json.dumps({"hits": hits, "datasets": datasets}))
