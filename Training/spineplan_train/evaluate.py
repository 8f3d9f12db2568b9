"""Held-out evaluation of the shipped weights: Dice, disc centre and normal errors, level identity, abstention.

    python -m spineplan_train.evaluate --set eval-synth --set eval-real

Writes Training/out/eval-<set>.json (per-session rows and summaries) and prints the summaries.
"""
import argparse
import glob
import json
import math
import os

import numpy as np
import torch
from scipy import ndimage

from .classes import CLASSES, DISCS, INDEX, VERTEBRAE
from .data import CACHE, TRAINING
from .export import load_weights
from .train import normalise

OUT = os.path.join(TRAINING, "out")
MIN_DISC_VOXELS = 15
MATCH_MM = 12.0
# Abstention: a disc whose voxels are on average less sure than this, a gap in the disc sequence,
# a level predicted twice (two large components) or no sacrum below the lowest disc.
ABSTAIN_MEAN_PROB = 0.75
CUT_FRACTION = 0.3  # share of held-out phantom sessions also evaluated with a cut-off FOV
DISC_INDICES = [INDEX[d] for d in DISCS]


def voxel_to_lps(origin, axes, idx_dhw):
    """idx [N, 3] as (d, h, w) -> LPS mm [N, 3]."""
    whd = idx_dhw[:, ::-1].astype(np.float64)
    return origin + whd @ axes.T


def lps_to_voxel(origin, axes, p):
    whd = np.linalg.solve(axes, np.asarray(p) - origin)
    return whd[::-1]  # (d, h, w)


def disc_geometry(points, weights=None):
    w = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    centre = (points * w[:, None]).sum(0) / w.sum()
    q = points - centre
    cov = (q * w[:, None]).T @ q / w.sum()
    vals, vecs = np.linalg.eigh(cov)
    normal = vecs[:, 0]
    if normal[2] > 0:  # LPS: +z is superior; discs' normals point inferior
        normal = -normal
    return centre, normal


def angle_deg(a, b):
    return math.degrees(math.acos(min(1.0, abs(float(np.dot(a, b))) / (np.linalg.norm(a) * np.linalg.norm(b)))))


def cut_fov(raw, labels, rng):
    """Blanks a band at the top (through T12) or bottom (through S1), as a shortened localizer would."""
    raw, labels = raw.copy(), labels.copy()
    top = rng.random() < 0.5
    target = INDEX["T12"] if top else INDEX["S1"]
    rows = np.nonzero(labels == target)[1]
    if len(rows) == 0:
        return None
    cut = int(rows.mean())
    if top:
        raw[:, :cut] = 0
        labels[:, :cut] = 0
    else:
        raw[:, cut:] = 0
        labels[:, cut:] = 0
    return raw, labels, ("top" if top else "bottom"), cut


def predict(model, raw):
    x = normalise(torch.from_numpy(raw))[None, None]
    with torch.no_grad():
        return torch.softmax(model(x), 1)[0].numpy()


def evaluate_session(prob, labels, partial, truth, origin, axes, visible_rows=None):
    arg = prob.argmax(0)
    pmax = prob.max(0)
    row = {}
    # Dice per class (full labels only; for partial real cases only the labelled vertebral bodies count).
    dice = {}
    for name in VERTEBRAE + DISCS + ["canal"]:
        c = INDEX[name]
        t = labels == c
        if partial:
            if name not in VERTEBRAE or not t.any():
                continue
            # Compare only where the reference speaks: labelled bodies vs predictions inside labelled voxels.
            known = labels != 255
            p = (arg == c) & known
        else:
            p = arg == c
        if t.any():
            dice[name] = float(2 * (p & t).sum() / (p.sum() + t.sum()))
    row["dice"] = dice
    # Disc geometry.
    filled = [d for d in range(labels.shape[0]) if labels[d].any()]
    predicted = {}
    abstain_reasons = []
    for name in DISCS:
        c = INDEX[name]
        mask = arg == c
        n = int(mask.sum())
        if n < MIN_DISC_VOXELS:
            continue
        comps, k = ndimage.label(mask)
        sizes = ndimage.sum(mask, comps, range(1, k + 1))
        if k > 1 and sorted(sizes)[-2] >= 0.3 * max(sizes) and sorted(sizes)[-2] >= MIN_DISC_VOXELS:
            abstain_reasons.append(f"{name} twice")
        keep = comps == (int(np.argmax(sizes)) + 1)
        # Probability-weighted moments over the component and its rim give sub-voxel centres and normals.
        region = ndimage.binary_dilation(keep, iterations=1) & ((arg == c) | (arg == 0) | ~np.isin(arg, DISC_INDICES))
        idx = np.argwhere(region)
        pts = voxel_to_lps(origin, axes, idx)
        centre, normal = disc_geometry(pts, prob[c][region])
        conf = float(pmax[keep].mean())
        if conf < ABSTAIN_MEAN_PROB:
            abstain_reasons.append(f"{name} unsure ({conf:.2f})")
        predicted[name] = {"centre": centre, "normal": normal, "voxels": int(keep.sum()), "confidence": conf}
    order = [d for d in DISCS if d in predicted]
    # Sequence check: levels are contiguous top to bottom (names chain: lower of one = upper of the next).
    chain = sorted(order, key=lambda d: -predicted[d]["centre"][2])
    for a, b in zip(chain, chain[1:]):
        if a.split("/")[1] != b.split("/")[0]:
            abstain_reasons.append(f"gap {a}->{b}")
    if chain:
        s1 = arg == INDEX["S1"]
        if s1.sum() < 50 or not chain[-1].endswith("/S1"):
            abstain_reasons.append("no sacrum below the lowest disc")
    else:
        abstain_reasons.append("no disc")
    row["abstain"] = bool(abstain_reasons)
    row["abstain_reasons"] = abstain_reasons
    # Compare with truth.
    truth_discs = {d["level"]: d for d in truth["discs"]}
    shape = labels.shape
    visible, clipped = [], []
    for name, d in truth_discs.items():
        if name not in INDEX:
            continue
        dd, hh, ww = lps_to_voxel(origin, axes, d["centre_lps_mm"])
        if not (0 <= hh <= shape[1] - 1 and 0 <= ww <= shape[2] - 1 and filled and filled[0] - 0.5 <= dd <= filled[-1] + 0.5):
            continue
        if visible_rows is not None and not (visible_rows[0] <= hh <= visible_rows[1]):
            continue
        if not partial:
            # A disc cut by the grid, the stack or the FOV has a shifted centroid even in the truth labels:
            # it is neither measured nor required.
            idx = np.argwhere(labels == INDEX[name])
            if len(idx) < MIN_DISC_VOXELS:
                continue
            c, _ = disc_geometry(voxel_to_lps(origin, axes, idx))
            if np.linalg.norm(c - np.asarray(d["centre_lps_mm"])) > 3.0:
                clipped.append(name)
                continue
        visible.append(name)
    errors = []
    wrong = []
    for name in visible:
        t = truth_discs[name]
        if name not in predicted:
            wrong.append(f"missing {name}")
            continue
        p = predicted[name]
        e = float(np.linalg.norm(p["centre"] - np.asarray(t["centre_lps_mm"])))
        a = angle_deg(p["normal"], np.asarray(t["normal_lps"]))
        errors.append({"level": name, "centre_mm": e, "angle_deg": a})
        if e > MATCH_MM:
            wrong.append(f"{name} off by {e:.0f} mm")
    for name, p in predicted.items():
        dists = {tn: float(np.linalg.norm(p["centre"] - np.asarray(t["centre_lps_mm"]))) for tn, t in truth_discs.items()}
        nearest = min(dists, key=dists.get) if dists else None
        if nearest is not None and dists[nearest] < MATCH_MM and nearest != name:
            wrong.append(f"{name} is {nearest}")
        elif not partial and name not in truth_discs and (labels == INDEX[name]).sum() < MIN_DISC_VOXELS:
            wrong.append(f"spurious {name}")
    row["visible_discs"] = visible
    row["clipped_discs"] = clipped
    row["disc_errors"] = errors
    row["wrong"] = wrong
    row["all_levels_right"] = not wrong and bool(visible)
    return row


def summarise(rows):
    out = {"sessions": len(rows)}
    if not rows:
        return out
    vert, disc = [], []
    per_class = {}
    for r in rows:
        for k, v in r["dice"].items():
            per_class.setdefault(k, []).append(v)
    out["dice_per_class"] = {k: round(float(np.mean(v)), 4) for k, v in per_class.items()}
    vert = [v for k, vs in per_class.items() if k in VERTEBRAE for v in vs]
    disc = [v for k, vs in per_class.items() if k in DISCS for v in vs]
    out["dice_vertebrae_mean"] = round(float(np.mean(vert)), 4) if vert else None
    out["dice_discs_mean"] = round(float(np.mean(disc)), 4) if disc else None
    errs = [e for r in rows for e in r["disc_errors"] if e["centre_mm"] <= MATCH_MM]
    if errs:
        c = np.array([e["centre_mm"] for e in errs])
        a = np.array([e["angle_deg"] for e in errs])
        out["disc_centre_mm"] = {"median": round(float(np.median(c)), 2), "p95": round(float(np.percentile(c, 95)), 2),
                                 "n": len(errs)}
        out["disc_angle_deg"] = {"median": round(float(np.median(a)), 2), "p95": round(float(np.percentile(a, 95)), 2)}
    n = len(rows)
    out["all_levels_right"] = round(sum(r["all_levels_right"] for r in rows) / n, 4)
    out["abstained"] = round(sum(r["abstain"] for r in rows) / n, 4)
    out["right_or_abstained"] = round(sum(r["all_levels_right"] or r["abstain"] for r in rows) / n, 4)
    answered = [r for r in rows if not r["abstain"]]
    out["all_levels_right_when_answered"] = (round(sum(r["all_levels_right"] for r in answered) / len(answered), 4)
                                             if answered else None)
    out["wrong_and_not_abstained"] = sum((not r["all_levels_right"]) and not r["abstain"] for r in rows)
    return out


def category(truth):
    a = truth["anatomy"]
    cats = []
    if a.get("lstv"):
        cats.append("lstv")
    if abs(a.get("scoliosis_cobb_deg", 0)) > 20:
        cats.append("scoliosis>20")
    if a.get("metal_implant"):
        cats.append("implant")
    return cats


def run_set(model, name, rows_out):
    rows = []
    rng = np.random.default_rng(4242)
    paths = sorted(glob.glob(os.path.join(CACHE, name, "*.npz")))
    for i, path in enumerate(paths):
        z = np.load(path)
        truth = json.loads(str(z["truth"]))
        raw, labels = z["raw"], z["labels"]
        partial = bool(z["partial"])
        variants = [("full", raw, labels, None)]
        if name == "eval-synth" and i < int(CUT_FRACTION * len(paths)):
            cut = cut_fov(raw, labels, rng)
            if cut is not None:
                r2, l2, side, row = cut
                variants.append((f"cut-{side}", r2, l2, (0, row) if side == "bottom" else (row, 127)))
        for variant, r, l, vis in variants:
            prob = predict(model, r)
            row = evaluate_session(prob, l, partial, truth, z["origin"], z["axes"], vis)
            row["case"] = os.path.basename(path)[:-4]
            row["variant"] = variant
            row["categories"] = category(truth) + ([] if variant == "full" else ["cut-fov"])
            row["anatomy"] = truth["anatomy"]
            rows.append(row)
            if variant == "full":
                np.savez_compressed(os.path.join(OUT, "pred", row["case"] + ".npz"),
                                    arg=prob.argmax(0).astype(np.uint8), pmax=prob.max(0).astype(np.float16))
    groups = {"all": rows, "normal": [r for r in rows if not r["categories"]]}
    for c in ["lstv", "scoliosis>20", "implant", "cut-fov"]:
        groups[c] = [r for r in rows if c in r["categories"]]
    summary = {g: summarise(rs) for g, rs in groups.items() if rs}
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump({"summary": summary, "rows": rows}, f, indent=1, default=float)
    rows_out.extend(rows)
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(os.path.join(OUT, "pred"), exist_ok=True)
    model, meta = load_weights()
    print(f"weights {meta['version']}", flush=True)
    for name in args.set:
        summary = run_set(model, name, [])
        print(name, json.dumps(summary, indent=1), flush=True)


if __name__ == "__main__":
    main()
