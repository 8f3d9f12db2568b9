#!/usr/bin/env python3
"""Independent check of a `spineplan synth` case, using pydicom and numpy only.

Usage: check_synth_geometry.py CASE_DIR

Reads CASE_DIR/localizer/*.dcm (classic MR or Enhanced MR) and CASE_DIR/truth.json, and verifies that
every truth disc centre lies within half a slice thickness of a sagittal slice plane and projects inside
that slice's field of view. Prints a JSON report; exits 0 when every disc passes, 1 when any fails,
2 when the case cannot be read.
"""
import glob
import json
import os
import sys

import numpy as np
import pydicom

# DS values carry at most 16 characters, so allow a little rounding on the slab test.
TOLERANCE_MM = 1e-3


def frames_of(ds):
    """(position, row_dir, col_dir, spacing(row, col), thickness, rows, cols) for every frame of a dataset."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    if "PerFrameFunctionalGroupsSequence" in ds:
        shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else None
        out = []
        for item in ds.PerFrameFunctionalGroupsSequence:
            def pick(name):
                if name in item:
                    return getattr(item, name)[0]
                if shared is not None and name in shared:
                    return getattr(shared, name)[0]
                raise ValueError(f"frame lacks {name}")
            position = pick("PlanePositionSequence").ImagePositionPatient
            orientation = pick("PlaneOrientationSequence").ImageOrientationPatient
            measures = pick("PixelMeasuresSequence")
            out.append((position, orientation, measures.PixelSpacing, float(measures.SliceThickness), rows, cols))
    else:
        out = [(ds.ImagePositionPatient, ds.ImageOrientationPatient, ds.PixelSpacing, float(ds.SliceThickness), rows, cols)]
    result = []
    for position, orientation, spacing, thickness, r, c in out:
        o = np.array([float(v) for v in orientation])
        result.append({
            "position": np.array([float(v) for v in position]),
            "row_dir": o[:3], "col_dir": o[3:],
            "spacing": np.array([float(v) for v in spacing]),  # (between rows, between columns)
            "thickness": thickness, "rows": r, "cols": c,
        })
    return result


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    case = argv[1]
    try:
        with open(os.path.join(case, "truth.json")) as f:
            truth = json.load(f)
        files = sorted(glob.glob(os.path.join(case, "localizer", "*.dcm")))
        if not files:
            raise FileNotFoundError("no localizer/*.dcm")
        frames, frames_of_reference = [], set()
        for path in files:
            ds = pydicom.dcmread(path)
            frames_of_reference.add(str(ds.FrameOfReferenceUID))
            for frame in frames_of(ds):
                frame["file"] = os.path.basename(path)
                frames.append(frame)
    except Exception as error:  # noqa: BLE001 - any unreadable case is a usage failure
        print(json.dumps({"case": case, "ok": False, "error": str(error)}))
        return 2

    sagittal = []
    for frame in frames:
        normal = np.cross(frame["row_dir"], frame["col_dir"])
        normal /= np.linalg.norm(normal)
        frame["normal"] = normal
        if np.argmax(np.abs(normal)) == 0:
            sagittal.append(frame)

    results = []
    for disc in truth.get("discs", []):
        centre = np.array(disc["centre_lps_mm"], dtype=float)
        best = None
        for frame in sagittal:
            d = centre - frame["position"]
            distance = abs(float(d @ frame["normal"]))
            column = float(d @ frame["row_dir"]) / frame["spacing"][1]
            row = float(d @ frame["col_dir"]) / frame["spacing"][0]
            inside = -0.5 <= column <= frame["cols"] - 0.5 and -0.5 <= row <= frame["rows"] - 0.5
            within = distance <= frame["thickness"] / 2 + TOLERANCE_MM
            candidate = (not (within and inside), distance, frame["file"], column, row, within, inside, frame["thickness"])
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        if best is None:
            results.append({"level": disc["level"], "ok": False, "reason": "no sagittal slices"})
            continue
        _, distance, name, column, row, within, inside, thickness = best
        results.append({
            "level": disc["level"], "ok": bool(within and inside), "slice": name,
            "distance_to_plane_mm": round(distance, 3), "half_thickness_mm": thickness / 2,
            "pixel": [round(column, 2), round(row, 2)], "inside_fov": bool(inside),
        })

    ok = bool(results) and all(r["ok"] for r in results) and len(frames_of_reference) == 1
    report = {
        "case": case, "ok": ok, "sagittal_slices": len(sagittal), "frames": len(frames),
        "single_frame_of_reference": len(frames_of_reference) == 1, "discs": results,
    }
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
