#!/usr/bin/env python3
"""Tiles the middle sagittal localizer slice of each session into one PNG, to judge realism by eye; or, with
--overlays, tiles overlay PNGs (the console overlay) at the size they were rendered, each under its caption.

usage: montage.py OUT.png ROW_LABEL=SESSION_ROOT [ROW_LABEL=SESSION_ROOT ...]
       montage.py --overlays OUT.png [--columns N] CAPTION=OVERLAY.png [CAPTION=OVERLAY.png ...]
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


OVERLAY_TILE = 512


def overlay_sheet(out, columns, items):
    """Overlays no larger than a tile stay at their own size, so a 256 px overlay shows as a 256 px console
    would; larger ones are shrunk to the tile, as a small viewport would."""
    rows = (len(items) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * OVERLAY_TILE, rows * (OVERLAY_TILE + 20)), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    for i, (caption, path) in enumerate(items):
        img = Image.open(path).convert("RGB")
        img.thumbnail((OVERLAY_TILE, OVERLAY_TILE), Image.LANCZOS)
        x, y = (i % columns) * OVERLAY_TILE, (i // columns) * (OVERLAY_TILE + 20)
        draw.text((x + 4, y + 4), caption, fill=(255, 255, 255))
        sheet.paste(img, (x + (OVERLAY_TILE - img.width) // 2, y + 20 + (OVERLAY_TILE - img.height) // 2))
    sheet.save(out, optimize=True)


def main():
    if sys.argv[1] == "--overlays":
        args, columns = sys.argv[2:], 4
        if "--columns" in args:
            k = args.index("--columns")
            columns = int(args[k + 1])
            del args[k:k + 2]
        overlay_sheet(args[0], columns, [a.split("=", 1) for a in args[1:]])
        return
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
