#!/usr/bin/env python3
"""An independent check of SpinePlan's de-identification: dicom-anonymizer (KitwareMedical), which implements DICOM
PS3.15 Table E.1-1, de-identifies the same original, and every attribute it removes or changes must be gone or changed
in SpinePlan's output too. Each subcommand prints one JSON object.
"""
import argparse
import json
import sys

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.datadict import dictionary_VR
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

EDITION = "dicomfields_2026c"
VALUES = {
    "AE": "SECRETAE", "AS": "045Y", "CS": "SECRET", "DA": "20200101", "DS": "1.5", "DT": "20200101120000", "FD": 1.5,
    "FL": 1.5, "IS": "7", "LO": "SECRET LONG", "LT": "SECRET TEXT", "PN": "SECRET^PERSON", "SH": "SECRET SH",
    "SL": 7, "SS": 7, "ST": "SECRET ST", "TM": "120000", "UC": "SECRET UC", "UL": 7, "UR": "http://secret.example",
    "US": 7, "UT": "SECRET UT", "OB": b"\x01\x02", "OW": b"\x01\x02", "OD": b"\x00" * 8, "OF": b"\x00" * 4,
    "OL": b"\x00" * 4, "UN": b"\x01\x02",
}


def profile_tags():
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector
    return [t for t in dicom_anonymization_database_selector(EDITION)["ALL_TAGS"] if len(t) == 2]


def element_value(tag):
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return None, None
    if vr == "UI":
        return vr, generate_uid()
    if vr == "SQ":
        item = Dataset()
        item.PatientName = "NESTED^SECRET"
        item.StudyDate = "20200202"
        item.ReferencedSOPInstanceUID = generate_uid()
        item.ReferencedSOPClassUID = MRImageStorage
        return vr, Sequence([item])
    return vr, VALUES.get(vr)


def make(args):
    """An MR object carrying every attribute of Table E.1-1 that pydicom's dictionary knows, with a value of its VR."""
    ds = Dataset()
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "MR"
    written = 0
    for group, element in profile_tags():
        tag = (group << 16) | element
        # Command (0000) and file meta (0002) elements cannot be in a stored dataset.
        if tag in ds or group in (0x0000, 0x0002):
            continue
        vr, value = element_value(tag)
        if vr is None or value is None or " or " in vr:
            continue
        ds.add_new(tag, vr, value)
        written += 1
    block = ds.private_block(0x0029, "SECRET CREATOR", create=True)
    block.add_new(0x10, "LO", "SECRET PRIVATE")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.save_as(args.out, enforce_file_format=True)
    print(json.dumps({"attributes": written}))


def flat(ds):
    """Every element of the tree, nested ones included, as (tag, value) pairs; sequences by tag only."""
    out = []
    for element in ds.iterall():
        value = None if element.VR == "SQ" else (element.value if not isinstance(element.value, (bytes, bytearray)) else bytes(element.value))
        out.append((int(element.tag), str(value) if value is not None else None))
    return out


def check(args):
    from dicomanonymizer.simpledicomanonymizer import anonymize_dataset, initialize_actions
    original = pydicom.dcmread(args.original)
    reference = pydicom.dcmread(args.original)
    anonymize_dataset(reference, base_rules_gen=lambda: initialize_actions(EDITION), delete_private_tags=True)
    ours = pydicom.dcmread(args.ours)

    before, after, mine = flat(original), flat(reference), flat(ours)
    tags_after, tags_mine = {t for t, _ in after}, {t for t, _ in mine}
    values_after, values_mine = set(after), set(mine)
    violations, removed, changed = [], 0, 0
    for tag, value in before:
        name = pydicom.datadict.keyword_for_tag(tag) or f"{tag:08X}"
        if tag not in tags_after:
            removed += 1
            if tag in tags_mine:
                violations.append(f"{name} ({tag:08X}): removed by the reference, present in ours")
        # UIDs of the DICOM root name SOP classes and the like, never a patient: the reference empties them inside
        # X/Z/U* sequences, the profile does not ask it.
        elif value is not None and value not in ("", "None") and (tag, value) not in values_after \
                and not value.startswith("1.2.840.10008."):
            changed += 1
            if (tag, value) in values_mine:
                violations.append(f"{name} ({tag:08X}): changed by the reference, original value kept in ours")
    print(json.dumps({"checked": len(before), "removed": removed, "changed": changed,
                      "violations": sorted(set(violations))}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(required=True)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.set_defaults(fn=make)
    c = sub.add_parser("check")
    c.add_argument("original")
    c.add_argument("ours")
    c.set_defaults(fn=check)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
