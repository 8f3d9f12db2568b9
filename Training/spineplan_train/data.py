"""Training and evaluation sessions from the virtual scanner, resampled onto the model grid and cached as .npz.

    python -m spineplan_train.data --set train      # phantoms from seed 100000 and vb3- acquisitions
    python -m spineplan_train.data --set eval-synth  # held-out phantoms from seed 900000
    python -m spineplan_train.data --set eval-real   # every vb2- case at 3 localizer geometries
    python -m spineplan_train.data --set calibrate   # unseen phantoms from seed 500000, vb3- at 3 new geometries

The calibration set chooses the planner's abstention threshold (`evaluate_plans --calibrate`): neither its phantoms
nor its acquisitions were trained on, but its real anatomy was (vb3-), and the held-out sets stay untouched.
"""
import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

from . import grid
from .classes import CANAL_NAMES, CLASSES, INDEX, MERGED_INTO_BACKGROUND

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINING = os.path.join(ROOT, "Training")
CACHE = os.path.join(TRAINING, "cache")
WORK = os.path.join(TRAINING, "data")
REAL = os.path.join(ROOT, "..", "shared", "data", "real")
SYNTH = os.path.join(ROOT, ".build-train-release", "release", "spineplan")
IGNORE = 255

TRAIN_SEED = 100000
EVAL_SEED = 900000
REAL_TRAIN_SEED = 200000
REAL_EVAL_SEED = 950000
CALIBRATION_SEED = 500000
REAL_CALIBRATION_SEED = 300000


def label_lut(scheme, partial):
    """Maps the session's label values to class indices; 255 = ignore (unlabelled voxels of partial cases)."""
    lut = np.full(256, IGNORE if partial else 0, dtype=np.uint8)
    for name, value in scheme.items():
        if name in INDEX:
            lut[value] = INDEX[name]
        elif name in CANAL_NAMES:
            lut[value] = INDEX["canal"]
        elif name in MERGED_INTO_BACKGROUND or name == "background":
            lut[value] = 0
    if partial:
        lut[scheme.get("background", 0)] = IGNORE
    return lut


def cache_session(session_dir, out_path, keep_dicom=False, args=()):
    """Resamples a synth session onto the model grid and writes image (raw), labels and geometry."""
    with open(os.path.join(session_dir, "labels", "labels.json")) as f:
        desc = json.load(f)
    with open(os.path.join(session_dir, "truth.json")) as f:
        truth = json.load(f)
    sag = np.load(os.path.join(session_dir, "labels", "sag.npy"))
    planes, pixels, _ = grid.read_sagittal(os.path.join(session_dir, "localizer"))
    origin, axes = grid.place(planes)
    raw = grid.resample(planes, pixels, origin, axes)
    labels = grid.resample(planes, [l.astype(np.float32) for l in sag], origin, axes, nearest=True)
    inside = grid.resample(planes, [np.ones_like(p) for p in pixels], origin, axes, nearest=True) > 0
    lut = label_lut(desc["label_scheme"], desc["partial"])
    classes = lut[labels.round().astype(np.uint8)]
    if desc["partial"]:
        classes[~inside] = 0  # outside the stack nothing is there: background is true
    np.savez_compressed(out_path, raw=raw.astype(np.float32), labels=classes, origin=origin, axes=axes,
                        partial=desc["partial"], truth=json.dumps(truth), slices=len(planes),
                        args=json.dumps(list(args)))
    if not keep_dicom:
        shutil.rmtree(session_dir)


def run_synth(out, seed, count, extra=()):
    cmd = [SYNTH, "synth", "--out", os.path.abspath(out), "--seed", str(seed), "--count", str(count), "--export-labels", *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return cmd


def phantom_batches(first_seed, count, batch, rng):
    """Batches of phantom sessions; every other batch overrides the localizer geometry for variety."""
    out = []
    for i, seed in enumerate(range(first_seed, first_seed + count, batch)):
        extra = []
        if i % 2 == 1:
            # "=" keeps a negative obliquity from being read as an option.
            extra = [f"--sagittal-slices={int(rng.integers(7, 16))}",
                     f"--slice-thickness={rng.uniform(3, 6):.1f}",
                     f"--obliquity={rng.uniform(-15, 15):.1f}",
                     f"--snr={rng.uniform(8, 40):.1f}"]
        out.append((seed, min(batch, first_seed + count - seed), extra))
    return out


def build_set(name, phantoms, real_prefix, real_per_case, phantom_seed, real_seed, keep_dicom, batch=20):
    """Generates and caches one data set; returns its manifest (written next to the cache)."""
    cache = os.path.join(CACHE, name)
    work = os.path.join(WORK, name)
    os.makedirs(cache, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(phantom_seed)
    manifest = []
    t0 = time.time()
    jobs = [(seed, n, extra, None) for seed, n, extra in phantom_batches(phantom_seed, phantoms, batch, rng)]
    if real_prefix:
        refs = os.path.join(REAL, "references.json")
        for i, path in enumerate(sorted(glob.glob(os.path.join(REAL, f"{real_prefix}*_image.nii.gz")))):
            extra = ["--from-volume", os.path.relpath(path, ROOT), "--references", os.path.relpath(refs, ROOT)]
            jobs.append((real_seed + 10 * i, real_per_case, extra, os.path.basename(path)))
    # Interleave real and phantom jobs so a training run that starts early sees both.
    phantom_jobs = [j for j in jobs if j[3] is None]
    real_jobs = [j for j in jobs if j[3] is not None]
    step = max(1, len(real_jobs) // max(1, len(phantom_jobs)))
    jobs = []
    while phantom_jobs or real_jobs:
        if phantom_jobs:
            jobs.append(phantom_jobs.pop(0))
        jobs.extend(real_jobs[:step])
        real_jobs = real_jobs[step:]
    for seed, n, extra, volume in jobs:
        if volume is None and all(os.path.exists(os.path.join(cache, f"phantom-{s}.npz")) for s in range(seed, seed + n)):
            for s in range(seed, seed + n):
                z = np.load(os.path.join(cache, f"phantom-{s}.npz"))
                args = json.loads(str(z["args"])) if "args" in z else extra
                manifest.append({"case": f"phantom-{s}", "seed": s, "args": args})
            continue
        runs = [(seed, n, extra)]
        while runs:
            s, k, ex = runs.pop(0)
            before = set(os.listdir(work))
            try:
                cmd = run_synth(work, s, k, ex)
            except subprocess.CalledProcessError:
                # The scanner refuses geometries that cannot cover the lumbar discs: retry one by one,
                # then without the geometry overrides.
                for case in set(os.listdir(work)) - before:
                    shutil.rmtree(os.path.join(work, case))
                if k > 1:
                    runs = [(s + j, 1, ex) for j in range(k)] + runs
                elif volume is None and ex:
                    runs.insert(0, (s, 1, []))
                continue
            for case in sorted(set(os.listdir(work)) - before):
                out = os.path.join(cache, case + ".npz")
                cache_session(os.path.join(work, case), out, keep_dicom, args=ex)
                manifest.append({"case": case, "seed": s, "args": ex})
        print(f"[{name}] {len(manifest)} sessions, {time.time() - t0:.0f} s", flush=True)
    text = json.dumps(manifest, indent=1)
    with open(os.path.join(CACHE, name + "-manifest.json"), "w") as f:
        f.write(text)
    info = {"sessions": len(manifest), "seconds": round(time.time() - t0, 1),
            "sha256": hashlib.sha256(text.encode()).hexdigest()}
    with open(os.path.join(CACHE, name + "-info.json"), "w") as f:
        json.dump(info, f)
    print(f"[{name}] done: {info}", flush=True)
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", required=True, choices=["train", "eval-synth", "eval-real", "calibrate"])
    ap.add_argument("--phantoms", type=int, default=None)
    ap.add_argument("--real-per-case", type=int, default=3)
    args = ap.parse_args(argv)
    if not os.path.exists(SYNTH):
        sys.exit(f"build the scanner first: swift build -c release --product spineplan --scratch-path .build-train-release")
    if args.set == "train":
        build_set("train", args.phantoms or 360, "vb3-", args.real_per_case, TRAIN_SEED, REAL_TRAIN_SEED, False)
    elif args.set == "eval-synth":
        build_set("eval-synth", args.phantoms or 240, None, 0, EVAL_SEED, 0, True)
    elif args.set == "calibrate":
        build_set("calibrate", args.phantoms or 100, "vb3-", args.real_per_case, CALIBRATION_SEED, REAL_CALIBRATION_SEED, True)
    else:
        build_set("eval-real", 0, "vb2-", args.real_per_case, 0, REAL_EVAL_SEED, True)


if __name__ == "__main__":
    main()
