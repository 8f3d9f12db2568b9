"""SPIDER 2D (real clinical T2 sagittal slices, ../shared/data/spider2d) as 2.5D model-grid samples.

    python -m spineplan_train.spider --cache        # writes cache/spider/<patient>.npz
    python -m spineplan_train.spider --evaluate     # group Dice of the shipped weights on the held-out patients

The slices carry class masks (vertebra, disc, canal) but no level names and no pixel spacing, so they supervise
the model through *groups*: the summed probability of all vertebra classes, of all disc classes, of the canal and
of background (`group_loss`). That teaches what real T2 spine, and real T2 non-spine, look like; the level names
still come from the phantoms and the vb3- volumes.

Scale: the median distance between consecutive centres of the lowest five disc components is set to 36.6 mm, the
median L1/L2…L5/S1 spacing of the reference discs in ../shared/data/real (235 pairs, p10–p90 33–39 mm).
Placement: each patient's three slices go to the middle grid planes 7, 8, 9 (planes 5, 6 and 10, 11 repeat the
outer ones so the stack looks like a thin 7-slice localizer); only planes 7–9 are supervised. Level 0 of the
network convolves in-plane only (1×3×3), so the repeated planes add no false lateral anatomy to what is learned.
Split: patients in index order, every fifth (index % 5 == 4) held out; the held-out ones are never trained on.
"""
import argparse
import glob
import json
import os

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from .data import CACHE, IGNORE, ROOT
from .classes import CLASSES, DISCS, VERTEBRAE
from .grid import IN_PLANE_MM, SHAPE_DHW
from .losses import ce_and_soft_dice

SPIDER = os.path.join(ROOT, "..", "shared", "data", "spider2d")
OUT_DIR = os.path.join(CACHE, "spider")
LEVEL_SPACING_MM = 36.6
GROUPS = ["background", "vertebra", "disc", "canal"]
SUPERVISED_PLANES = (7, 8, 9)
PLANE_SOURCE = {5: 0, 6: 0, 7: 0, 8: 1, 9: 2, 10: 2, 11: 2}


def group_index():
    """For every model class, its group: 0 background, 1 vertebra, 2 disc, 3 canal."""
    g = np.zeros(len(CLASSES), dtype=np.int64)
    for i, name in enumerate(CLASSES):
        g[i] = 1 if name in VERTEBRAE else 2 if name in DISCS else 3 if name == "canal" else 0
    return g


def patients():
    with open(os.path.join(SPIDER, "index.json")) as f:
        index = json.load(f)
    by_patient = {}
    for case in index["cases"]:
        by_patient.setdefault(case["patient"], []).append(case["case"])
    ordered = sorted(by_patient)
    return [(p, sorted(by_patient[p]), i % 5 == 4) for i, p in enumerate(ordered)]


def pixel_mm(labels):
    """mm per pixel from the spacing of the lowest five disc components (see the module docstring)."""
    comp, n = ndimage.label(labels == 2)
    if n < 3:
        return None
    sizes = ndimage.sum(np.ones_like(comp), comp, range(1, n + 1))
    centres = [c for c, s in zip(ndimage.center_of_mass(np.ones_like(comp), comp, range(1, n + 1)), sizes) if s >= 30]
    centres = sorted(centres, key=lambda c: c[0])[-5:]
    if len(centres) < 3:
        return None
    gaps = [np.hypot(a[0] - b[0], a[1] - b[1]) for a, b in zip(centres, centres[1:])]
    return LEVEL_SPACING_MM / float(np.median(gaps))


def to_grid(image, labels, mm, centre):
    """One slice onto the model grid's 128×128 plane (H = rows, superior first; W = columns, anterior first)."""
    _, h, w = SHAPE_DHW
    step = IN_PLANE_MM / mm
    rows = centre[0] + (np.arange(h) - (h - 1) / 2) * step
    cols = centre[1] + (np.arange(w) - (w - 1) / 2) * step
    rr, cc = np.meshgrid(rows, cols, indexing="ij")
    # Low-pass to the grid's resolution before sampling, as an acquisition at ~2.5 mm would.
    smooth = ndimage.gaussian_filter(image.astype(np.float32), sigma=0.4 * step)
    raw = ndimage.map_coordinates(smooth, [rr, cc], order=1, mode="constant", cval=0.0)
    lab = ndimage.map_coordinates(labels, [rr, cc], order=0, mode="constant", cval=0)
    return raw.astype(np.float32), lab.astype(np.uint8)


def cache_all():
    os.makedirs(OUT_DIR, exist_ok=True)
    written = []
    for patient, cases, held_out in patients():
        images = [np.array(Image.open(os.path.join(SPIDER, c + "_image.png")).convert("L")) for c in cases]
        masks = [np.array(Image.open(os.path.join(SPIDER, c + "_labels.png"))) for c in cases]
        mid = len(cases) // 2
        mm = pixel_mm(masks[mid])
        if mm is None:
            print(f"patient {patient}: fewer than 3 discs, skipped", flush=True)
            continue
        spine = np.nonzero((masks[mid] == 1) | (masks[mid] == 2))
        discs = np.nonzero(masks[mid] == 2)
        centre = (float(spine[0].mean()), float(discs[1].mean()))
        while len(images) < 3:
            images.append(images[-1])
            masks.append(masks[-1])
        raw = np.zeros(SHAPE_DHW, np.float32)
        labels = np.zeros(SHAPE_DHW, np.uint8)
        for plane, source in PLANE_SOURCE.items():
            r, l = to_grid(images[source], masks[source], mm, centre)
            raw[plane] = r
            labels[plane] = l if plane in SUPERVISED_PLANES else IGNORE
        out = os.path.join(OUT_DIR, f"spider-{patient:03d}.npz")
        np.savez_compressed(out, raw=raw, labels=labels, held_out=held_out, mm_per_pixel=mm,
                            cases=json.dumps(cases))
        written.append({"patient": patient, "cases": cases, "held_out": held_out, "mm_per_pixel": round(mm, 3)})
    with open(os.path.join(CACHE, "spider-manifest.json"), "w") as f:
        json.dump(written, f, indent=1)
    print(f"{len(written)} patients cached, {sum(w['held_out'] for w in written)} held out", flush=True)


def load(held_out):
    items = []
    for path in sorted(glob.glob(os.path.join(OUT_DIR, "*.npz"))):
        z = np.load(path)
        if bool(z["held_out"]) == held_out:
            items.append({"name": os.path.basename(path)[:-4], "raw": z["raw"], "labels": z["labels"]})
    return items


def group_loss(logits, target, groups, weights=None):
    """Cross-entropy + soft Dice on group probabilities (sum of each group's class probabilities)."""
    logp = torch.log_softmax(logits, 1)
    group_logp = torch.stack([torch.logsumexp(logp[:, groups == g], 1) for g in range(len(GROUPS))], 1)
    return ce_and_soft_dice(group_logp, target, weights)


def evaluate(model):
    """Per-group Dice (vertebra, disc, canal) on the supervised planes of the held-out patients."""
    from .evaluate import predict
    groups = group_index()
    rows = []
    for item in load(held_out=True):
        prob = predict(model, item["raw"])
        arg = prob.argmax(0)
        pred = groups[arg]
        np.savez_compressed(os.path.join(ROOT, "Training", "out", "pred", item["name"] + ".npz"),
                            arg=arg.astype(np.uint8))
        row = {"patient": item["name"]}
        for g in (1, 2, 3):
            p = np.concatenate([pred[d] == g for d in SUPERVISED_PLANES])
            t = np.concatenate([item["labels"][d] == g for d in SUPERVISED_PLANES])
            row[GROUPS[g]] = float(2 * (p & t).sum() / max(1, p.sum() + t.sum()))
        rows.append(row)
    summary = {g: round(float(np.mean([r[g] for r in rows])), 3) for g in GROUPS[1:]}
    summary["patients"] = len(rows)
    return summary, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", action="store_true")
    ap.add_argument("--evaluate", action="store_true")
    args = ap.parse_args(argv)
    if args.cache:
        cache_all()
    if args.evaluate:
        from .export import load_weights
        torch.set_num_threads(2)
        model, meta = load_weights()
        summary, rows = evaluate(model)
        with open(os.path.join(ROOT, "Training", "out", "eval-spider.json"), "w") as f:
            json.dump({"weights": meta["version"], "summary": summary, "rows": rows}, f, indent=1)
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
