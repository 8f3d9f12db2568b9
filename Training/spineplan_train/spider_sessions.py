"""The held-out SPIDER slab patients as DICOM localizer sessions that `spineplan plan` accepts (issue 14, point 5).

    python -m spineplan_train.spider_sessions            # cache/eval-spider-thick/<case>/, cache/eval-spider-single/<case>/
    python -m spineplan_train.spider_sessions --render   # also a PNG of each session's central slice with its truth
    python -m spineplan_train.spider_sessions --training-patients   # cache/calibrate-spider-{thick,single}/

Each session has the virtual scanner's layout: `<case>/localizer/*.dcm` and `<case>/truth.json` (discs with
`level`, `centre_lps_mm`, `normal_lps`; vertebrae with `level`, `centre_lps_mm`; `anatomy`), so that
`evaluate_plans --set eval-spider-thick --set eval-spider-single` scores them like the phantoms.

Patients: `slabs.held_out_patients()` (the SPIDER 2D split), read from the full-resolution PNGs of
../shared/data/spider-slabs; a patient is used when `slabs.cache_all` would use it (pixel size known, at least 3
counted discs).

**Geometry** (the slab's own, as `slabs.py` estimates it): pixel spacing `spider.pixel_mm` of the central slice's
labels (lowest five discs 36.6 mm apart), thin-slice spacing `slabs.SLAB_WIDTH_MM` / N. Thin slice k (0 … N-1 in
the published order, which is left→right or right→left, not recorded) lies at x = ((N-1)/2 − k)·spacing (LPS), so
the slab is centred on x = 0. PNG rows run superior→inferior and columns anterior→posterior, so the image
orientation is row direction (0, 1, 0) (posterior) and column direction (0, 0, −1) (inferior); the top-left pixel
of every slice sits at y = −(W−1)/2·p, z = +(H−1)/2·p (image centred on the origin).

**Localizers.**
- `eval-spider-thick/<case>-t<T>`: neighbouring thin slices averaged into thick ones, g = round(T / spacing) thin
  slices each, at T = 3, 4.5 and 6 mm (a thickness that gives the same g as a thinner one is dropped); every thick
  slice that fits (N // g), centred in the slab. SliceThickness = SpacingBetweenSlices = g·spacing; each thick
  slice at the mean x of its thin slices.
- `eval-spider-single/<case>`: the central thin slice (index N // 2, the one the levels are counted on) alone,
  SliceThickness = spacing.
Sagittal MR Image Storage, 16-bit unsigned (8-bit PNG grey × 8), one Patient / Study / Series / Frame of
Reference per session, deterministic UIDs.

**Truth** (from the central thin slice, `slabs.count_levels`): every counted disc (L5/S1 upward) with its
component's centroid mapped through the geometry above (x = the central slice's position) and its normal: the
in-plane direction of least spread of the component's pixels (in mm), pointing inferior. Every counted vertebral
body likewise (centroid; S1 only where the sacrum is labelled). Anatomy: source "spider", lumbar count 5, no LSTV
(SPIDER gives no L6/LSTV labels; see slabs.py).
"""
import argparse
import json
import os
import shutil

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from . import slabs, spider
from .data import CACHE

THICKNESSES_MM = (3.0, 4.5, 6.0)
INTENSITY_SCALE = 8
THICK_SET = os.path.join(CACHE, "eval-spider-thick")
SINGLE_SET = os.path.join(CACHE, "eval-spider-single")
# The training patients made the same way: a real-T2 calibration set for the naming rules (the network has seen
# these patients, so it segments them better than new ones; the held-out sets are never used to choose anything).
CALIBRATE_THICK_SET = os.path.join(CACHE, "calibrate-spider-thick")
CALIBRATE_SINGLE_SET = os.path.join(CACHE, "calibrate-spider-single")


def uid(*parts):
    return generate_uid(prefix=None, entropy_srcs=["spineplan-spider-eval"] + [str(p) for p in parts])


def read_patient(case):
    folder = os.path.join(slabs.SLABS, case["case"])
    ks = case["slices"]
    images = np.stack([np.array(Image.open(os.path.join(folder, f"s{k:03d}_image.png")).convert("L")) for k in ks])
    masks = np.stack([np.array(Image.open(os.path.join(folder, f"s{k:03d}_labels.png"))) for k in ks])
    return images.astype(np.float32), masks


class Geometry:
    """Pixel (row, col) of thin slice k → LPS mm, as the module docstring describes."""

    def __init__(self, n, shape, pixel_mm):
        self.n, self.p = n, float(pixel_mm)
        self.spacing = slabs.SLAB_WIDTH_MM / n
        self.h, self.w = shape
        self.y0 = -(self.w - 1) / 2 * self.p
        self.z0 = (self.h - 1) / 2 * self.p

    def x(self, k):
        """x of thin slice k; k may be fractional (the mean of several thin slices)."""
        return ((self.n - 1) / 2 - k) * self.spacing

    def lps(self, k, row, col):
        return np.array([self.x(k), self.y0 + col * self.p, self.z0 - row * self.p])


def disc_normal(rows, cols, p):
    """In-plane direction of least spread of a component's pixels, as an LPS unit vector pointing inferior."""
    yz = np.stack([cols * p, -rows * p], 1).astype(np.float64)
    yz -= yz.mean(0)
    w, v = np.linalg.eigh(yz.T @ yz)
    n = v[:, 0]
    if n[1] > 0:
        n = -n
    return np.array([0.0, n[0], n[1]]) / np.linalg.norm(n)


def truth_of(mask, geo, k):
    """truth.json content from the central slice's labels (slice index k)."""
    names, seq, notes = slabs.count_levels(mask)
    discs, vertebrae = [], []
    for kind, code, out in (("d", 2, discs), ("V", 1, vertebrae)):
        comp, items = slabs.components(mask, code, 1)
        for cid, c, _ in items:
            name = names.get((kind, cid))
            if name is None:
                continue
            centre = geo.lps(k, c[0], c[1])
            entry = {"centre_lps_mm": [round(float(v), 3) for v in centre], "level": name}
            if kind == "d":
                rr, cc = np.nonzero(comp == cid)
                entry["normal_lps"] = [round(float(v), 4) for v in disc_normal(rr, cc, geo.p)]
            out.append(entry)
    discs.sort(key=lambda d: -d["centre_lps_mm"][2])
    vertebrae.sort(key=lambda d: -d["centre_lps_mm"][2])
    anatomy = {"degenerated_discs": [], "lstv": False, "lstv_type": "none", "lumbar_count": 5, "metal_implant": False,
               "modic": [], "scoliosis_cobb_deg": 0.0, "source": "spider",
               "spider": {"sequence": seq, "notes": notes, "pixel_mm": round(geo.p, 4),
                          "thin_slice_mm": round(geo.spacing, 4), "thin_slices": geo.n, "central_thin_slice": k}}
    return {"anatomy": anatomy, "discs": discs, "vertebrae": vertebrae}


def write_localizer(folder, session_id, patient, slices, geo, thickness):
    """slices: [(x_mm, image float array)]; one series, instance numbers in list order."""
    os.makedirs(folder, exist_ok=True)
    study, series, frame = uid(session_id, "study"), uid(session_id, "series"), uid(session_id, "frame")
    for i, (x, img) in enumerate(slices, 1):
        sop = uid(session_id, "image", i)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = sop
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = sop
        ds.StudyDate = ds.ContentDate = "20250201"
        ds.StudyTime = ds.ContentTime = "080000"
        ds.AccessionNumber = f"SPIDER{patient}"
        ds.Modality = "MR"
        ds.Manufacturer = "SPIDER (van der Graaf et al. 2024), re-encoded by SpinePlan"
        ds.ReferringPhysicianName = ""
        ds.StudyDescription = "SPIDER LUMBAR SPINE T2"
        ds.SeriesDescription = "sag loc"
        ds.PatientName = f"SPIDER^{session_id}"
        ds.PatientID = f"SPIDER-{session_id}"
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.ScanningSequence = "SE"
        ds.SequenceVariant = "SK"
        ds.MRAcquisitionType = "2D"
        ds.SliceThickness = f"{thickness:.4g}"
        ds.SpacingBetweenSlices = f"{thickness:.4g}"
        ds.PatientPosition = "HFS"
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.StudyID = "1"
        ds.SeriesNumber = 1
        ds.InstanceNumber = i
        ds.ImagePositionPatient = [f"{x:.6g}", f"{geo.y0:.6g}", f"{geo.z0:.6g}"]
        ds.ImageOrientationPatient = ["0", "1", "0", "0", "0", "-1"]
        ds.FrameOfReferenceUID = frame
        ds.ImagesInAcquisition = len(slices)
        ds.PositionReferenceIndicator = ""
        ds.SliceLocation = f"{x:.6g}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = img.shape
        ds.PixelSpacing = [f"{geo.p:.6g}", f"{geo.p:.6g}"]
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.BurnedInAnnotation = "NO"
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = "1"
        ds.RescaleType = "US"
        ds.LossyImageCompression = "00"
        ds.PixelData = np.clip(np.round(img * INTENSITY_SCALE), 0, 65535).astype("<u2").tobytes()
        ds.save_as(os.path.join(folder, f"sag_{i:02d}.dcm"), enforce_file_format=True)


def export(render=False, training=False):
    held = slabs.held_out_patients()
    with open(os.path.join(slabs.SLABS, "index.json")) as f:
        cases = [c for c in json.load(f)["cases"] if (c["patient"] in held) != training]
    thick_set, single_set = (CALIBRATE_THICK_SET, CALIBRATE_SINGLE_SET) if training else (THICK_SET, SINGLE_SET)
    for root in (thick_set, single_set):
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(root)
    manifest = []
    for case in cases:
        images, masks = read_patient(case)
        n = len(images)
        mid = n // 2
        mm = spider.pixel_mm(masks[mid])
        names, seq, notes = slabs.count_levels(masks[mid])
        if mm is None or sum(1 for k in names if k[0] == "d") < 3:
            print(f"{case['case']}: not counted ({seq}, {notes}), skipped", flush=True)
            manifest.append({"case": case["case"], "used": False, "sequence": seq, "notes": notes})
            continue
        geo = Geometry(n, images.shape[1:], mm)
        truth = truth_of(masks[mid], geo, mid)
        sessions = []
        seen = set()
        for t in THICKNESSES_MM:
            g = max(1, min(n, int(round(t / geo.spacing))))
            if g in seen:
                continue
            seen.add(g)
            k = n // g
            start = (n - k * g) // 2
            slices = [(geo.x(start + j * g + (g - 1) / 2), images[start + j * g:start + (j + 1) * g].mean(0))
                      for j in range(k)]
            sessions.append((thick_set, f"{case['case']}-t{t:g}", slices, g * geo.spacing))
        sessions.append((single_set, case["case"], [(geo.x(mid), images[mid])], geo.spacing))
        for root, sid, slices, thick in sessions:
            folder = os.path.join(root, sid)
            write_localizer(os.path.join(folder, "localizer"), sid, case["patient"], slices, geo, thick)
            with open(os.path.join(folder, "truth.json"), "w") as f:
                json.dump(truth, f, indent=1)
            if render:
                render_png(folder, os.path.join(folder, "check.png"))
            manifest.append({"case": case["case"], "session": os.path.relpath(folder, CACHE), "used": True,
                             "slices": len(slices), "thickness_mm": round(thick, 3), "pixel_mm": round(mm, 4),
                             "discs": [d["level"] for d in truth["discs"]]})
            print(f"{sid}: {len(slices)} slice(s) of {thick:.2f} mm, {mm:.3f} mm pixels, "
                  f"{len(truth['discs'])} discs {truth['discs'][0]['level']}…{truth['discs'][-1]['level']}", flush=True)
    with open(os.path.join(CACHE, ("calibrate" if training else "eval") + "-spider-manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def render_png(session, out, scale=2):
    """The slice nearest the truth discs' x, with each truth disc centre (red cross), its normal (green) and name
    position (vertebra centres blue), read back from the DICOM files: a check of geometry and truth."""
    from PIL import ImageDraw
    files = sorted(os.listdir(os.path.join(session, "localizer")))
    dss = [pydicom.dcmread(os.path.join(session, "localizer", f)) for f in files]
    with open(os.path.join(session, "truth.json")) as f:
        truth = json.load(f)
    x = truth["discs"][0]["centre_lps_mm"][0]
    ds = min(dss, key=lambda d: abs(float(d.ImagePositionPatient[0]) - x))
    img = ds.pixel_array.astype(np.float32)
    img = (255 * img / max(1.0, np.percentile(img, 99.5))).clip(0, 255).astype(np.uint8)
    pil = Image.fromarray(img).convert("RGB").resize((img.shape[1] * scale, img.shape[0] * scale))
    draw = ImageDraw.Draw(pil)
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    r_dir, c_dir = iop[:3], iop[3:]
    ps = [float(v) for v in ds.PixelSpacing]  # row spacing, column spacing

    def pix(p):
        d = np.asarray(p, float) - ipp
        return (d @ r_dir / ps[1] * scale, d @ c_dir / ps[0] * scale)  # (x, y) on the PNG

    for d in truth["discs"]:
        cx, cy = pix(d["centre_lps_mm"])
        draw.line([cx - 6, cy, cx + 6, cy], fill=(255, 0, 0), width=2)
        draw.line([cx, cy - 6, cx, cy + 6], fill=(255, 0, 0), width=2)
        tip = np.asarray(d["centre_lps_mm"]) + 15 * np.asarray(d["normal_lps"])
        tx, ty = pix(tip)
        draw.line([cx, cy, tx, ty], fill=(0, 255, 0), width=2)
        # The disc plane's trace: ±25 mm perpendicular to the normal within the sagittal plane.
        n = np.asarray(d["normal_lps"])
        along = np.array([0.0, -n[2], n[1]])
        a, b = pix(np.asarray(d["centre_lps_mm"]) - 25 * along), pix(np.asarray(d["centre_lps_mm"]) + 25 * along)
        draw.line([a, b], fill=(255, 255, 0), width=1)
        draw.text((cx + 30, cy - 6), d["level"], fill=(255, 255, 0))
    for v in truth["vertebrae"]:
        cx, cy = pix(v["centre_lps_mm"])
        draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], outline=(0, 128, 255), width=2)
        draw.text((cx + 8, cy - 6), v["level"], fill=(0, 128, 255))
    pil.save(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--render", action="store_true", help="also write <session>/check.png")
    ap.add_argument("--training-patients", action="store_true",
                    help="the training patients instead, into cache/calibrate-spider-thick and -single")
    args = ap.parse_args(argv)
    export(render=args.render, training=args.training_patients)


if __name__ == "__main__":
    main()
