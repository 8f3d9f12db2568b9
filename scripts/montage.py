#!/usr/bin/env python3
"""Tiles the middle sagittal localizer slice of each session into one PNG, to judge realism by eye.

usage: montage.py OUT.png ROW_LABEL=SESSION_ROOT [ROW_LABEL=SESSION_ROOT ...]
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw
from pydicom import dcmread

TILE = 224


def mid_sagittal(case_dir):
    loc = os.path.join(case_dir, "localizer")
    frames = []
    for name in sorted(os.listdir(loc)):
        ds = dcmread(os.path.join(loc, name))
        arr = ds.pixel_array
        arr = arr if arr.ndim == 3 else arr[None]
        iop = None
        for f in range(arr.shape[0]):
            if "PerFrameFunctionalGroupsSequence" in ds:
                pf = ds.PerFrameFunctionalGroupsSequence[f]
                iop = (pf.PlaneOrientationSequence[0] if "PlaneOrientationSequence" in pf else ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence[0]).ImageOrientationPatient
            else:
                iop = ds.ImageOrientationPatient
            normal = np.cross(np.array(iop[:3], float), np.array(iop[3:], float))
            if abs(normal[0]) > max(abs(normal[1]), abs(normal[2])):
                frames.append(arr[f].astype(np.float32))
    return frames[len(frames) // 2]


def tile(img):
    lo, hi = np.percentile(img, [1, 99.5])
    img = np.clip((img - lo) / max(hi - lo, 1e-6), 0, 1) * 255
    pil = Image.fromarray(img.astype(np.uint8))
    pil.thumbnail((TILE, TILE))
    canvas = Image.new("L", (TILE, TILE))
    canvas.paste(pil, ((TILE - pil.width) // 2, (TILE - pil.height) // 2))
    return canvas


def main():
    out, rows = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    grids = []
    for label, root in rows:
        cases = sorted(os.path.join(root, c) for c in os.listdir(root))[:8]
        grids.append((label, [tile(mid_sagittal(c)) for c in cases]))
    width = 8 * TILE
    sheet = Image.new("L", (width, len(grids) * (TILE + 20)), 0)
    draw = ImageDraw.Draw(sheet)
    for r, (label, tiles) in enumerate(grids):
        y = r * (TILE + 20)
        draw.text((4, y + 4), label, fill=255)
        for i, t in enumerate(tiles):
            sheet.paste(t, (i * TILE, y + 20))
    sheet.save(out)


if __name__ == "__main__":
    main()
