"""SPIDER slabs (../shared/data/spider-slabs): 853 real clinical T2 sagittal slices of 41 patients, with levels
counted up from the lumbosacral disc, turned into real-looking localizers on the model grid.

    python -m spineplan_train.slabs --cache     # cache/slabs/<patient>.npz and cache/slabs-manifest.json
    python -m spineplan_train.slabs --check     # prints each patient's counted sequence

**Counting.** On the slab's central slice the vertebral bodies (vertebra components anterior of the canal) and the
discs are ordered by row. The lowest labelled disc is L5/S1: in 37 of the 41 patients the sacrum is not labelled at
all (the lowest structure is that disc); in the others a vertebra component below it is the top of the sacrum (S1).
Walking up, bodies and discs must alternate (body above disc above body …); the first break stops the count and
everything above it is ignored by the loss. Levels above T10 are ignored (the model merges them into background).
SPIDER gives no L6/LSTV labels: a transitional spine would be counted as five lumbar vertebrae. That is a known
limitation of these labels, kept out of the LSTV figures (those come from the phantoms).

**Other slices** of the slab name each component after the nearest counted component of the central slice of the
same kind (within 12 pixels); unmatched components and the posterior elements (not levelled here) are ignored. The
unlabelled sacrum below L5/S1 is ignored too, so that the model is never taught that a real sacrum is background,
except the top of S1 (`sacral_top`): the band under the lumbosacral disc, as wide as its central 80 % and 0.4 disc
spacings deep, is labelled S1. Without it the network had never seen a real sacrum, and on real T2 it took S1 for a
lumbar vertebra and counted one level low.

**Geometry.** Pixel spacing: the median distance between the lowest five disc centres is set to 36.6 mm (as for
SPIDER 2D, `spider.py`). Slice spacing is not published; every slab covers exactly the slices where the dural sac is
labelled, so the slab width is taken as 18 mm (a typical lumbar dural sac width) and the spacing as 18 mm / N.

**Localizers.** `localizer()` averages neighbouring thin slices into thick ones (3–6 mm), keeps 1 to all of them,
and places them on the grid exactly as the contract places a real K-slice localizer (centred, one slice a plane).
Split: the same patients as SPIDER 2D are held out (index % 5 == 4 in sorted patient order), for both folders.
"""
import argparse
import glob
import json
import os

import numpy as np
from PIL import Image
from scipy import ndimage

from .classes import INDEX
from .data import CACHE, IGNORE, ROOT
from .grid import SHAPE_DHW
from . import spider

SLABS = os.path.join(ROOT, "..", "shared", "data", "spider-slabs")
OUT_DIR = os.path.join(CACHE, "slabs")
SLAB_WIDTH_MM = 18.0
DISC_NAMES_UP = ["L5/S1", "L4/L5", "L3/L4", "L2/L3", "L1/L2", "T12/L1", "T11/T12", "T10/T11"]
BODY_NAMES_UP = ["L5", "L4", "L3", "L2", "L1", "T12", "T11", "T10"]


def held_out_patients():
    """The SPIDER 2D split (spider.patients), so that no patient is trained on in one folder and tested in the other."""
    return {p for p, _, held in spider.patients() if held}


def components(lab, kind, min_pixels):
    comp, n = ndimage.label(lab == kind)
    if n == 0:
        return comp, []
    idx = range(1, n + 1)
    centres = ndimage.center_of_mass(np.ones_like(comp), comp, idx)
    sizes = ndimage.sum(np.ones_like(comp), comp, idx)
    return comp, [(i, c, int(s)) for i, c, s in zip(idx, centres, sizes) if s >= min_pixels]


def is_body(centre, canal):
    """A vertebra component lies anterior of the canal (smaller column) at its row: a body, not posterior elements."""
    if len(canal[0]) == 0:
        return True
    near = np.abs(canal[0] - centre[0]) < 15
    return not near.any() or centre[1] < canal[1][near].mean()


def count_levels(lab):
    """Names of the central slice's components: {(kind, component id): name}, the sequence seen and notes."""
    canal = np.nonzero(lab == 3)
    _, verts = components(lab, 1, 40)
    _, discs = components(lab, 2, 40)
    items = [("V", i, c) for i, c, _ in verts if is_body(c, canal)] + [("d", i, c) for i, c, _ in discs]
    items.sort(key=lambda t: -t[2][0])  # bottom-up
    names, notes = {}, []
    if not any(k == "d" for k, _, _ in items):
        return names, "", ["no disc"]
    seq = "".join(k for k, _, _ in items)
    start = seq.index("d")
    if start == 1:
        names[("V", items[0][1])] = "S1"
    elif start > 1:
        notes.append("more than one vertebra component below the lowest disc")
        return names, seq, notes
    expected, d_i, v_i = "d", 0, 0
    for kind, cid, _ in items[start:]:
        if kind != expected:
            notes.append(f"sequence breaks after {d_i} discs")
            break
        if kind == "d":
            if d_i >= len(DISC_NAMES_UP):
                break
            names[("d", cid)] = DISC_NAMES_UP[d_i]
            d_i += 1
            expected = "V"
        else:
            if v_i >= len(BODY_NAMES_UP):
                break
            names[("V", cid)] = BODY_NAMES_UP[v_i]
            v_i += 1
            expected = "d"
    if d_i < 5:
        notes.append(f"only {d_i} discs counted")
    return names, seq, notes


def named_labels(lab, central, names, lowest_disc_row, spacing_px=None):
    """Class indices for one slice, naming components after the central slice's counted ones."""
    out = np.full(lab.shape, IGNORE, np.uint8)
    out[lab == 0] = 0
    out[lab == 3] = INDEX["canal"]
    canal = np.nonzero(lab == 3)
    ref = {}
    for kind, code in (("V", 1), ("d", 2)):
        comp, items = components(central, code, 1)
        for cid, c, _ in items:
            if (kind, cid) in names:
                ref.setdefault(kind, []).append((np.array(c), names[(kind, cid)]))
    for kind, code in (("V", 1), ("d", 2)):
        comp, items = components(lab, code, 1)
        for cid, c, _ in items:
            if kind == "V" and not is_body(c, canal):
                continue  # posterior elements: left ignored
            best, dist = None, 12.0
            for r, name in ref.get(kind, []):
                dd = float(np.hypot(*(np.array(c) - r)))
                if dd < dist:
                    best, dist = name, dd
            if best is not None:
                out[comp == cid] = INDEX[best]
    # The unlabelled sacrum: below the lumbosacral disc nothing unlabelled is known to be background.
    if "S1" not in {n for _, n in sum(ref.values(), [])}:
        band = np.zeros_like(out, dtype=bool)
        band[int(lowest_disc_row) + 3:, :] = True
        out[band & (lab == 0)] = IGNORE
        if spacing_px:
            out[sacral_top(out == INDEX["L5/S1"], spacing_px) & (lab == 0)] = INDEX["S1"]
    return out


def sacral_top(disc, spacing_px):
    """The top of the S1 body under a lumbosacral disc mask: the band that the disc rests on, as wide as the disc's
    central 80 % and 0.4 disc spacings deep, following the disc's tilt. The lumbosacral disc always sits on S1's
    upper endplate, so this band is sacrum in every spine; the rest of the sacrum stays unlabelled (ignored)."""
    rows, cols = np.nonzero(disc)
    band = np.zeros(disc.shape, bool)
    if len(rows) < 20:
        return band
    pts = np.stack([rows, cols], 1).astype(float)
    c = pts.mean(0)
    w, v = np.linalg.eigh(np.cov((pts - c).T))
    u, n = v[:, 1], v[:, 0]
    if n[0] < 0:
        n = -n  # caudal: towards larger rows
    s, t = (pts - c) @ u, (pts - c) @ n
    lo, hi = np.percentile(s, 10), np.percentile(s, 90)
    edges = np.arange(np.floor(lo), np.ceil(hi) + 1)
    low = np.array([t[(s >= a) & (s < a + 1)].max() if np.any((s >= a) & (s < a + 1)) else np.nan for a in edges])
    if np.all(np.isnan(low)):
        return band
    low = np.where(np.isnan(low), np.nanmax(low), low)
    depth = 0.4 * spacing_px
    r0, r1 = int(max(0, rows.min())), int(min(disc.shape[0], rows.max() + depth + 2))
    gr, gc = np.mgrid[r0:r1, 0:disc.shape[1]]
    q = np.stack([gr.ravel(), gc.ravel()], 1).astype(float) - c
    qs, qt = q @ u, q @ n
    inside = (qs >= lo) & (qs < hi)
    k = np.clip(np.floor(qs - edges[0]).astype(int), 0, len(edges) - 1)
    under = inside & (qt > low[k] + 0.5) & (qt <= low[k] + depth)
    band[gr.ravel()[under], gc.ravel()[under]] = True
    return band


def cache_all():
    os.makedirs(OUT_DIR, exist_ok=True)
    held = held_out_patients()
    with open(os.path.join(SLABS, "index.json")) as f:
        index = json.load(f)
    manifest = []
    for case in index["cases"]:
        folder = os.path.join(SLABS, case["case"])
        ks = case["slices"]
        images = [np.array(Image.open(os.path.join(folder, f"s{k:03d}_image.png")).convert("L")) for k in ks]
        masks = [np.array(Image.open(os.path.join(folder, f"s{k:03d}_labels.png"))) for k in ks]
        mid = len(ks) // 2
        names, seq, notes = count_levels(masks[mid])
        mm = spider.pixel_mm(masks[mid])
        row = {"case": case["case"], "patient": case["patient"], "slices": len(ks), "sequence": seq,
               "notes": notes, "held_out": case["patient"] in held}
        if mm is None or sum(1 for k in names if k[0] == "d") < 3:
            row["used"] = False
            manifest.append(row)
            print(f"{case['case']}: not counted ({notes}), skipped", flush=True)
            continue
        lowest = max(c[0] for cid, c, _ in components(masks[mid], 2, 40)[1] if ("d", cid) in names)
        spine = np.nonzero((masks[mid] == 1) | (masks[mid] == 2))
        discs = np.nonzero(masks[mid] == 2)
        centre = (float(spine[0].mean()), float(discs[1].mean()))
        raws, labs = [], []
        spacing_px = 36.6 / mm  # the median lumbar disc spacing, as the pixel size was chosen (spider.pixel_mm)
        for img, m in zip(images, masks):
            r, l = spider.to_grid(img, named_labels(m, masks[mid], names, lowest, spacing_px), mm, centre)
            raws.append(r)
            labs.append(l)
        spacing = SLAB_WIDTH_MM / len(ks)
        np.savez_compressed(os.path.join(OUT_DIR, f"{case['case']}.npz"), raw=np.stack(raws), labels=np.stack(labs),
                            held_out=row["held_out"], mm_per_pixel=mm, slice_mm=spacing, names=json.dumps(sorted(set(names.values()))))
        row.update(used=True, mm_per_pixel=round(mm, 3), slice_mm=round(spacing, 3),
                   levels=sorted(set(names.values())))
        manifest.append(row)
    with open(os.path.join(CACHE, "slabs-manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    used = [m for m in manifest if m.get("used")]
    print(f"{len(used)} of {len(manifest)} patients counted and cached, {sum(m['held_out'] for m in used)} held out",
          flush=True)


def load(held_out):
    items = []
    for path in sorted(glob.glob(os.path.join(OUT_DIR, "*.npz"))):
        z = np.load(path)
        if bool(z["held_out"]) == held_out:
            items.append({"name": os.path.basename(path)[:-4], "thin": z["raw"], "thin_labels": z["labels"],
                          "slice_mm": float(z["slice_mm"])})
    return items


def localizer(item, rng, thickness_mm=None, count=None):
    """A K-slice localizer on the model grid from a slab: thick slices averaged from thin ones, centred as the
    contract centres a real stack. Returns raw [D,H,W] float32 and labels [D,H,W] uint8."""
    thin, lab = item["thin"], item["thin_labels"]
    n = len(thin)
    t = thickness_mm if thickness_mm is not None else rng.uniform(3.0, 6.0)
    g = max(1, min(n, int(round(t / item["slice_mm"]))))
    k_max = max(1, n // g)
    k = count if count is not None else int(rng.integers(1, k_max + 1))
    k = max(1, min(k, k_max, SHAPE_DHW[0]))
    free = n - k * g
    start = free // 2 if count is not None else int(rng.integers(0, free + 1))
    D = SHAPE_DHW[0]
    first = D // 2 - (k - 1) // 2 if k % 2 == 1 else D // 2 - k // 2
    raw = np.zeros(SHAPE_DHW, np.float32)
    labels = np.zeros(SHAPE_DHW, np.uint8)
    for j in range(k):
        a = start + j * g
        raw[first + j] = thin[a:a + g].mean(0)
        labels[first + j] = lab[a + g // 2]
    return raw, labels


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    if args.check:
        with open(os.path.join(SLABS, "index.json")) as f:
            for case in json.load(f)["cases"]:
                ks = case["slices"]
                m = np.array(Image.open(os.path.join(SLABS, case["case"], f"s{ks[len(ks) // 2]:03d}_labels.png")))
                names, seq, notes = count_levels(m)
                print(case["case"], seq, sorted(set(names.values())), notes)
    if args.cache:
        cache_all()


if __name__ == "__main__":
    main()
