"""Numpy reference of the model grid (Docs/model-contract.md §1; Swift: SpinePlanGeometry/ModelGrid.swift).

Runs with numpy + pydicom only (the project's test venv):

    python Training/spineplan_train/grid.py DICOM_DIR --out OUT.npy

writes the normalised [D, H, W] float32 model-grid array of the session's sagittal stack.
"""
import argparse
import math
import os
import sys

import numpy as np

SHAPE_DHW = (16, 128, 128)
IN_PLANE_MM = 2.5


class Plane:
    """One slice: IPP, IOP row/column directions, PixelSpacing (between rows, between columns), size."""

    def __init__(self, position, row_dir, col_dir, spacing, rows, cols):
        self.position = np.asarray(position, dtype=np.float64)
        self.r = np.asarray(row_dir, dtype=np.float64)
        self.c = np.asarray(col_dir, dtype=np.float64)
        self.spacing = (float(spacing[0]), float(spacing[1]))
        self.rows, self.cols = int(rows), int(cols)

    @property
    def normal(self):
        n = np.cross(self.r, self.c)
        return n / np.linalg.norm(n)

    def centre(self):
        return (self.position + self.r * ((self.cols - 1) / 2 * self.spacing[1])
                + self.c * ((self.rows - 1) / 2 * self.spacing[0]))

    def pixel_coordinates(self, p):
        """Continuous (column, row) of points p [..., 3]."""
        d = p - self.position
        return d @ self.r / self.spacing[1], d @ self.c / self.spacing[0]


def is_sagittal(plane):
    n = np.abs(plane.normal)
    return n[0] >= n[1] and n[0] >= n[2]


def read_sagittal(dicom_dir):
    """Sagittal slices of a session (any depth below dicom_dir) as (planes, pixel arrays) in instance order."""
    import pydicom

    found = []
    for root, _, files in os.walk(dicom_dir):
        for name in files:
            path = os.path.join(root, name)
            try:
                ds = pydicom.dcmread(path)
            except Exception:
                continue
            if "ImageOrientationPatient" not in ds or "PixelData" not in ds:
                continue
            iop = [float(v) for v in ds.ImageOrientationPatient]
            plane = Plane([float(v) for v in ds.ImagePositionPatient], iop[:3], iop[3:],
                          [float(v) for v in ds.PixelSpacing], ds.Rows, ds.Columns)
            if not is_sagittal(plane):
                continue
            slope = float(getattr(ds, "RescaleSlope", 1) or 1)
            intercept = float(getattr(ds, "RescaleIntercept", 0) or 0)
            pixels = (ds.pixel_array.astype(np.float64) * slope + intercept).astype(np.float32)
            found.append((int(getattr(ds, "InstanceNumber", 0) or 0), str(getattr(ds, "SeriesInstanceUID", "")),
                          plane, pixels))
    if not found:
        raise ValueError(f"no sagittal slices under {dicom_dir}")
    found.sort(key=lambda t: (t[1], t[0]))
    # One stack: the series of the first sagittal slice found in instance order.
    series = found[0][1]
    found = [f for f in found if f[1] == series]
    return [f[2] for f in found], [f[3] for f in found], [f[0] for f in found]


def through_plane_spacing(sorted_positions):
    gaps = sorted(g for g in np.diff(sorted_positions) if g > 1e-3)
    return gaps[len(gaps) // 2] if gaps else 4.0


def place(planes, shape_dhw=SHAPE_DHW, a=IN_PLANE_MM):
    """Grid origin and axes (columns: w, h, d steps in mm) placed on a stack; planes[0] gives the axes."""
    D, H, W = shape_dhw
    first = planes[0]
    r = first.r / np.linalg.norm(first.r)
    c = first.c / np.linalg.norm(first.c)
    n = np.cross(r, c)
    n = n / np.linalg.norm(n)
    positions = sorted(float(p.centre() @ n) for p in planes)
    t = through_plane_spacing(positions)
    centre = np.mean([p.centre() for p in planes], axis=0)
    centre_depth = float(D // 2) if len(planes) % 2 == 1 else (D - 1) / 2
    origin = centre - r * ((W - 1) / 2 * a) - c * ((H - 1) / 2 * a) - n * (centre_depth * t)
    axes = np.stack([r * a, c * a, n * t], axis=1)
    return origin, axes


def grid_points(origin, axes, shape_dhw=SHAPE_DHW):
    """LPS position of every voxel, [D, H, W, 3]."""
    D, H, W = shape_dhw
    d, h, w = np.meshgrid(np.arange(D), np.arange(H), np.arange(W), indexing="ij")
    idx = np.stack([w, h, d], axis=-1).astype(np.float64)
    return origin + idx @ axes.T


def _sample(plane, pixels, p, nearest):
    x, y = plane.pixel_coordinates(p)
    rows, cols = plane.rows, plane.cols
    inside = (x > -0.5) & (y > -0.5) & (x < cols - 0.5) & (y < rows - 0.5)
    out = np.zeros(x.shape, dtype=np.float32)
    if nearest:
        ci = np.clip(np.floor(x + 0.5), 0, cols - 1).astype(np.int64)
        ri = np.clip(np.floor(y + 0.5), 0, rows - 1).astype(np.int64)
        out[inside] = pixels[ri[inside], ci[inside]]
        return out
    cx = np.clip(x, 0, cols - 1)
    cy = np.clip(y, 0, rows - 1)
    if cols < 2 or rows < 2:
        ci = np.clip(np.floor(cx + 0.5), 0, cols - 1).astype(np.int64)
        ri = np.clip(np.floor(cy + 0.5), 0, rows - 1).astype(np.int64)
        out[inside] = pixels[ri[inside], ci[inside]]
        return out
    c0 = np.minimum(cols - 2, np.floor(cx).astype(np.int64))
    r0 = np.minimum(rows - 2, np.floor(cy).astype(np.int64))
    fx = (cx - c0).astype(np.float32)
    fy = (cy - r0).astype(np.float32)
    px = pixels.astype(np.float32)
    p00, p01 = px[r0, c0], px[r0, c0 + 1]
    p10, p11 = px[r0 + 1, c0], px[r0 + 1, c0 + 1]
    top = p00 + fx * (p01 - p00)
    bottom = p10 + fx * (p11 - p10)
    v = top + fy * (bottom - top)
    out[inside] = v[inside]
    return out


def resample(planes, pixels, origin, axes, shape_dhw=SHAPE_DHW, nearest=False):
    """Slices onto the grid: in-plane bilinear (or nearest), through-plane linear (or nearest), 0 outside."""
    D, H, W = shape_dhw
    n = axes[:, 2] / np.linalg.norm(axes[:, 2])
    order = sorted(range(len(planes)), key=lambda i: float(planes[i].centre() @ n))
    s_k = [float(planes[i].centre() @ n) for i in order]
    half = np.linalg.norm(axes[:, 2]) / 2
    out = np.zeros(shape_dhw, dtype=np.float32)
    points = grid_points(origin, axes, shape_dhw)
    for d in range(D):
        s = float((origin + d * axes[:, 2]) @ n)
        if s < s_k[0] - half - 1e-6 or s > s_k[-1] + half + 1e-6:
            continue
        upper = next((k for k, v in enumerate(s_k) if v >= s), len(s_k) - 1)
        lower = max(0, upper - 1)
        if s_k[upper] < s or upper == 0:
            lower = upper
        if s < s_k[0]:
            upper = lower = 0
        weight = 0.0
        if lower != upper:
            span = s_k[upper] - s_k[lower]
            weight = (s - s_k[lower]) / span if span > 0 else 0.0
        if nearest:
            if weight >= 0.5:
                lower = upper
            upper = lower
            weight = 0.0
        p = points[d]
        a = _sample(planes[order[lower]], pixels[order[lower]], p, nearest)
        if upper != lower and weight > 0:
            b = _sample(planes[order[upper]], pixels[order[upper]], p, nearest)
            a = a + np.float32(weight) * (b - a)
        out[d] = a
    return out


def normalise(values):
    """Divide by the nearest-rank 99.5th percentile of the positive values, clip to [0, 2]."""
    positive = np.sort(values[values > 0], kind="stable")
    if positive.size == 0:
        raise ValueError("no positive value on the model grid")
    reference = positive[int(math.floor(0.995 * (positive.size - 1)))]
    return np.clip(values / reference, 0, 2).astype(np.float32)


def session_grid(dicom_dir, labels=None, shape_dhw=SHAPE_DHW):
    """(normalised image, label grid or None, origin, axes, planes) of a session's sagittal stack.

    labels: [slices, rows, cols] array pixel for pixel on the sagittal slices in instance order.
    """
    planes, pixels, _ = read_sagittal(dicom_dir)
    origin, axes = place(planes, shape_dhw)
    image = normalise(resample(planes, pixels, origin, axes, shape_dhw))
    label_grid = None
    if labels is not None:
        label_grid = resample(planes, [l.astype(np.float32) for l in labels], origin, axes, shape_dhw,
                              nearest=True).round().astype(np.uint8)
    return image, label_grid, origin, axes, planes


def main(argv=None):
    ap = argparse.ArgumentParser(description="Model-grid array of a session's sagittal localizer stack.")
    ap.add_argument("dicom_dir")
    ap.add_argument("--out", required=True, help="output .npy, float32 [D, H, W]")
    args = ap.parse_args(argv)
    image, _, _, _, _ = session_grid(args.dicom_dir)
    np.save(args.out, image)


if __name__ == "__main__":
    sys.exit(main())
