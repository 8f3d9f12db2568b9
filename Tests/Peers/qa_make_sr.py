#!/usr/bin/env python3
"""Writes a TID 1500 Comprehensive 3D SR with highdicom, independently of SpinePlan's writer, for the SR reader test.

usage: qa_make_sr.py PLAN_JSON EVIDENCE_DCM OUT_DCM
One planar ROI group per plane: tracking identifier '<level> oblique axial', the disc's SCT finding site, the centre
slice's FOV rectangle as a closed SCOORD3D polygon (P0 P1 P2 P3 P0), and NUM items for thickness, spacing, slice count
and confidence.
"""
import json
import sys

import highdicom as hd
import numpy as np
from highdicom.sr import CodedConcept
from pydicom import dcmread
from pydicom.sr.codedict import codes

SCT = {"T12/L1": "76206002", "L1/L2": "80064006", "L2/L3": "67459009", "L3/L4": "62551000", "L4/L5": "84020006",
       "L5/S1": "715056000"}

def build_sr(plan, evidence):
    """The SR for a plan dict (plan JSON schema), with `evidence` (a pydicom Dataset) as the localizer."""
    groups = []
    for i, p in enumerate(plan["planes"]):
        c = np.array(p["centre_lps_mm"]); r = np.array(p["row_direction"]); k = np.array(p["column_direction"])
        w, h = p["fov_mm"]
        p0 = c - r * w / 2 - k * h / 2
        corners = [p0, p0 + r * w, p0 + r * w + k * h, p0 + k * h, p0]
        level = p.get("level")
        sites = [hd.sr.FindingSite(anatomic_location=CodedConcept(SCT[level], "SCT", level + " disc"))] if level in SCT else None
        mm = codes.UCUM.Millimeter
        measurements = [
            hd.sr.Measurement(name=CodedConcept("112225", "DCM", "Slice Thickness"), value=p["thickness_mm"], unit=mm),
            hd.sr.Measurement(name=CodedConcept("112226", "DCM", "Spacing between slices"), value=p["spacing_mm"], unit=mm),
            hd.sr.Measurement(name=CodedConcept("SLICES", "99SPINEPLAN", "Number of slices"), value=p["slices"],
                              unit=CodedConcept("{slices}", "UCUM", "slices")),
            hd.sr.Measurement(name=CodedConcept("CONFIDENCE", "99SPINEPLAN", "Plane confidence"), value=p["confidence"],
                              unit=CodedConcept("1", "UCUM", "no units")),
        ]
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{level or f'unnamed disc {i + 1}'} oblique axial"),
            referenced_region=hd.sr.ImageRegion3D(graphic_type=hd.sr.GraphicTypeValues3D.POLYGON,
                                                 graphic_data=np.array(corners, dtype=float),
                                                 frame_of_reference_uid=evidence.FrameOfReferenceUID),
            finding_sites=sites, measurements=measurements))
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID()))),
        # As SpinePlan's writer and Docs/conformance.md: the generic "Imaging procedure" of CID 100 (241620005 is
        # "Cardiac MRI", not lumbar spine MRI).
        procedure_reported=CodedConcept("363679005", "SCT", "Imaging procedure"),
        imaging_measurements=groups)
    return hd.sr.Comprehensive3DSR(evidence=[evidence], content=report, series_instance_uid=hd.UID(), series_number=99,
                                   sop_instance_uid=hd.UID(), instance_number=1, manufacturer="qa peer")


if __name__ == "__main__":
    sr = build_sr(json.load(open(sys.argv[1])), dcmread(sys.argv[2]))
    sr.save_as(sys.argv[3], enforce_file_format=True)
    back = hd.sr.srread(sys.argv[3])
    print(json.dumps({"groups": len(back.content.get_planar_roi_measurement_groups())}))
