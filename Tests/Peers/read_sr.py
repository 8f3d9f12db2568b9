#!/usr/bin/env python3
"""Reads a SpinePlan SR with highdicom, independently of SpinePlan, and prints what it holds as one JSON line.

usage: read_sr.py SR_DCM
For every TID 1410 planar ROI group: tracking identifier and UID, finding site code, the polygon's points, the
centre (mean of P0..P3) and normal (row x column from P1-P0 and P3-P0), and the NUM items by code meaning.
"""
import json
import sys

import highdicom as hd
import numpy as np
from pydicom import dcmread


def main(path):
    sr = hd.sr.srread(path)
    ds = dcmread(path)
    groups = sr.content.get_planar_roi_measurement_groups()
    out = {"sop_class": str(ds.SOPClassUID), "modality": ds.Modality, "study": str(ds.StudyInstanceUID),
           "series": str(ds.SeriesInstanceUID), "patient_id": str(ds.PatientID), "patient_name": str(ds.PatientName),
           "template": str(ds.ContentTemplateSequence[0].TemplateIdentifier),
           "root": ds.ConceptNameCodeSequence[0].CodeMeaning,
           "procedure": [i.ConceptCodeSequence[0].CodeValue for i in ds.ContentSequence
                         if i.ConceptNameCodeSequence[0].CodeValue == "121058"],
           "observer_uid": [i.UID for i in ds.ContentSequence if i.ConceptNameCodeSequence[0].CodeValue == "121012"],
           "evidence": sorted(str(i.ReferencedSOPInstanceUID)
                              for s in ds.CurrentRequestedProcedureEvidenceSequence
                              for r in s.ReferencedSeriesSequence for i in r.ReferencedSOPSequence),
           "groups": []}
    for g in groups:
        region = g.roi
        points = np.array(region.value, dtype=float) if region is not None else np.zeros((0, 3))
        p0, p1, p3 = points[0], points[1], points[3]
        row, column = p1 - p0, p3 - p0
        normal = np.cross(row, column)
        site = g.finding_sites[0].value.value if g.finding_sites else None
        scheme = g.finding_sites[0].value.scheme_designator if g.finding_sites else None
        nums = {m.name.meaning: {"value": float(m.value), "unit": m.unit.value} for m in g.get_measurements()}
        out["groups"].append({
            "tracking_identifier": g.tracking_identifier, "tracking_uid": str(g.tracking_uid),
            "finding_site": site, "finding_site_scheme": scheme, "graphic_type": region.graphic_type.value if region is not None else None,
            "frame_of_reference": str(region.frame_of_reference_uid) if region is not None else None,
            "points": points.tolist(), "centre": points[:4].mean(axis=0).tolist(),
            "normal": (normal / np.linalg.norm(normal)).tolist(), "measurements": nums})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
