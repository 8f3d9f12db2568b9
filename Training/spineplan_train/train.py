"""Trains SpinePlanVNet on the cached sessions for a fixed wall-clock budget, then exports the weights.

    python -m spineplan_train.train --minutes 50
"""
import argparse
import glob
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import export
from .classes import CLASSES, DISCS, INDEX, MERGED_INTO_BACKGROUND
from .data import CACHE, IGNORE, TRAINING
from .losses import ce_and_soft_dice, frequency_weights, priors as class_priors
from .model import build, initialise
from . import slabs
from . import spider

OUT = os.path.join(TRAINING, "out")


def load_set(name, skip=()):
    items = []
    for path in sorted(glob.glob(os.path.join(CACHE, name, "*.npz"))):
        if os.path.basename(path)[:-4] in skip:
            continue
        try:
            z = np.load(path)
        except Exception:
            continue  # still being written
        items.append({"name": os.path.basename(path)[:-4], "raw": z["raw"], "labels": z["labels"],
                      "partial": bool(z["partial"])})
    return items


def normalise(raw):
    """Contract normalisation (p99.5 of positive values, nearest rank; clip to [0, 2]) in torch."""
    pos = raw[raw > 0]
    if pos.numel() == 0:
        return raw
    ref = torch.sort(pos).values[int(math.floor(0.995 * (pos.numel() - 1)))]
    return torch.clamp(raw / ref, 0, 2)


def augment(raw, labels, rng, named=True):
    """raw [D,H,W] float, labels [D,H,W] long. Geometric, FOV, slice, intensity augmentation of one sample.

    `named` is False for SPIDER samples, whose labels are groups, not level classes: their FOV cut-offs are
    placed at random rows instead of at T12 or the sacrum."""
    D, H, W = raw.shape
    # In-plane rotation, scale and shift, the same for every slice.
    if rng.random() < 0.8:
        ang = math.radians(rng.uniform(-12, 12))
        sc = rng.uniform(0.88, 1.12)
        tx, ty = rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15)
        theta = torch.tensor([[math.cos(ang) * sc, -math.sin(ang) * sc, tx],
                              [math.sin(ang) * sc, math.cos(ang) * sc, ty]], dtype=torch.float32)
        g = F.affine_grid(theta.expand(D, 2, 3), (D, 1, H, W), align_corners=False)
        raw = F.grid_sample(raw[:, None], g, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
        # Labels: nearest; outside the source becomes background (0) unless ignored everywhere.
        lab = F.grid_sample(labels[:, None].float(), g, mode="nearest", padding_mode="zeros", align_corners=False)
        labels = lab[:, 0].long()
    # Fewer sagittal slices: drop the outermost ones symmetrically so the stack stays centred.
    filled = [d for d in range(D) if raw[d].abs().sum() > 0]
    if filled and rng.random() < 0.3:
        k = int(rng.integers(1, 4))
        if len(filled) - 2 * k >= 3:
            for d in filled[:k] + filled[-k:]:
                raw[d] = 0
                labels[d] = torch.where(labels[d] == IGNORE, labels[d], torch.zeros_like(labels[d]))
    # FOV cut-offs: blank a band at the top or bottom (drops T12/T11 or the sacrum).
    if rng.random() < 0.3:
        top = rng.random() < 0.5
        rows = torch.nonzero((labels != 0) & (labels != IGNORE) & (labels != INDEX["canal"]))[:, 1]
        if named and len(rows) and rng.random() < 0.6:
            target = INDEX["T12"] if top else INDEX["S1"]
            t_rows = torch.nonzero(labels == target)[:, 1]
            centre = int(t_rows.float().mean()) if len(t_rows) else int(rows.float().mean())
            cut = centre + int(rng.integers(-8, 9))
        else:
            cut = int(rng.uniform(0.1, 0.4) * H) if top else int(rng.uniform(0.6, 0.9) * H)
        cut = max(1, min(H - 1, cut))
        sl = slice(0, cut) if top else slice(cut, H)
        raw[:, sl] = 0
        labels[:, sl] = 0
    # Intensity: bias field, gamma, contrast, noise (before the contract normalisation).
    raw = normalise(raw)
    if rng.random() < 0.7:
        coarse = torch.from_numpy(rng.normal(0, 0.25, (1, 1, 2, 4, 4)).astype(np.float32))
        field = F.interpolate(coarse, size=(D, H, W), mode="trilinear", align_corners=True)[0, 0]
        raw = raw * torch.exp(field)
    if rng.random() < 0.8:
        raw = raw.clamp(min=0) ** rng.uniform(0.6, 1.6)
    if rng.random() < 0.6:
        sigma = rng.uniform(0.0, 0.08)
        n1, n2 = torch.randn_like(raw) * sigma, torch.randn_like(raw) * sigma
        mask = raw > 0
        raw = torch.where(mask, torch.sqrt((raw + n1) ** 2 + n2 ** 2), raw)  # Rician, inside the stack only
    if rng.random() < 0.2:
        raw = F.avg_pool3d(raw[None, None], (1, 3, 3), stride=1, padding=(0, 1, 1))[0, 0]
    return normalise(raw), labels


def loss_fn(logits, target, n_classes, weights=None):
    return ce_and_soft_dice(torch.log_softmax(logits, 1), target, weights)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--minutes", type=float, default=50)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--real-share", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", help="state dict to continue from (a second, shorter cosine cycle)")
    ap.add_argument("--crop-w", type=int, default=64, help="training crop along the row direction (W)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--version", default="1.2.0", help="version written to the sidecar")
    ap.add_argument("--smoke", action="store_true", help="a trial run: writes nothing but out/smoke.pt")
    ap.add_argument("--spider-share", type=float, default=0.0,
                    help="share of batches drawn from SPIDER 2D (real T2, group labels; see spider.py)")
    ap.add_argument("--slab-share", type=float, default=0.0,
                    help="share of batches drawn from SPIDER slabs as real localizers (levels counted; slabs.py)")
    ap.add_argument("--init-shipped", action="store_true",
                    help="start from the shipped weights in Sources/SpinePlanModel/Weights")
    ap.add_argument("--resume", help="a checkpoint written by this script (model, optimiser, step, clock): go on")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    os.makedirs(OUT, exist_ok=True)
    items = load_set("train")
    phantoms = [i for i in items if not i["partial"]]
    real = [i for i in items if i["partial"]]
    print(f"train: {len(phantoms)} phantom sessions, {len(real)} real (vb3-) sessions", flush=True)
    spider_items = spider.load(held_out=False) if args.spider_share > 0 else []
    if args.spider_share > 0 and not spider_items:
        raise SystemExit("no SPIDER cache: run python -m spineplan_train.spider --cache")
    groups = torch.from_numpy(spider.group_index())
    if spider_items:
        gcounts = np.zeros(len(spider.GROUPS))
        for it in spider_items:
            lab = it["labels"][list(spider.SUPERVISED_PLANES)]
            gcounts += np.bincount(lab.ravel(), minlength=256)[:len(spider.GROUPS)]
        group_weights = frequency_weights(class_priors(gcounts))
        print(f"spider: {len(spider_items)} patients, group weights {np.round(group_weights.numpy(), 1).tolist()}",
              flush=True)
    n_classes = len(CLASSES)
    model = build(n_classes)
    counts = np.zeros(n_classes)
    for it in phantoms:
        counts += np.bincount(it["labels"].ravel(), minlength=256)[:n_classes]
    priors = class_priors(counts)
    initialise(model, priors)
    if args.init:
        model.load_state_dict(torch.load(args.init))
    if args.init_shipped:
        model.load_state_dict(export.load_weights()[0].state_dict())
    slab_items = slabs.load(held_out=False) if args.slab_share > 0 else []
    if args.slab_share > 0 and not slab_items:
        raise SystemExit("no slab cache: run python -m spineplan_train.slabs --cache")
    print(f"slabs: {len(slab_items)} training patients", flush=True)
    # Foreground classes are rare (a disc is ~0.1 % of the grid): weight them up to 10× in the cross-entropy.
    class_weights = frequency_weights(priors)
    print("class weights", np.round(class_weights.numpy(), 1).tolist(), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60
    t0 = time.time()
    step, log = 0, []
    if args.resume:
        # The wall clock already spent counts against the budget, so a stopped run resumes on the same schedule.
        state = torch.load(args.resume, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimiser"])
        step, log = state["step"], state["log"]
        t0 = time.time() - state["elapsed"]
        rng = np.random.default_rng(args.seed + step)
        print(f"resumed at step {step}, {state['elapsed']:.0f} s of {budget:.0f} s", flush=True)
    last_ckpt = t0
    last_reload = t0
    complete = os.path.exists(os.path.join(CACHE, "train-info.json"))
    while True:
        if not complete and time.time() - last_reload > 120:
            complete = os.path.exists(os.path.join(CACHE, "train-info.json"))
            # The data generator may still be running: pick up the sessions it has cached since.
            known = {i["name"] for i in phantoms + real}
            new = load_set("train", known)
            phantoms += [i for i in new if not i["partial"]]
            real += [i for i in new if i["partial"]]
            print(f"reload: {len(phantoms)} phantom, {len(real)} real sessions", flush=True)
            last_reload = time.time()
        elapsed = time.time() - t0
        if elapsed > budget:
            break
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / 50) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.97 + 0.03)
        for g in opt.param_groups:
            g["lr"] = lr
        xs, ys = [], []
        grouped = bool(spider_items) and rng.random() < args.spider_share
        slabbed = not grouped and bool(slab_items) and rng.random() < args.slab_share
        for _ in range(args.batch):
            if slabbed:
                sample = slabs.localizer(slab_items[int(rng.integers(len(slab_items)))], rng)
                it = {"raw": sample[0], "labels": sample[1]}
            else:
                pool = spider_items if grouped else real if (real and rng.random() < args.real_share) else phantoms
                it = pool[int(rng.integers(len(pool)))]
            x, y = augment(torch.from_numpy(it["raw"].copy()), torch.from_numpy(it["labels"].astype(np.int64)), rng,
                           named=not grouped)
            if args.crop_w < x.shape[2]:
                # Anterior-posterior crop around the spine: halves the cost, keeps the full cranio-caudal
                # context that level identity needs.
                cols = torch.nonzero((y != 0) & (y != IGNORE))[:, 2]
                centre = int(cols.float().mean()) if len(cols) else x.shape[2] // 2
                w0 = centre - args.crop_w // 2 + int(rng.integers(-12, 13))
                w0 = max(0, min(x.shape[2] - args.crop_w, w0))
                x, y = x[:, :, w0:w0 + args.crop_w], y[:, :, w0:w0 + args.crop_w]
            xs.append(x)
            ys.append(y)
        x = torch.stack(xs)[:, None]
        y = torch.stack(ys)
        model.train()
        logits = model(x)
        if grouped:
            loss, ce, dl = spider.group_loss(logits, y, groups, group_weights)
        else:
            loss, ce, dl = loss_fn(logits, y, n_classes, class_weights)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        log.append((step, round(elapsed, 1), ce, dl, 1 if grouped else 2 if slabbed else 0))
        if step % 10 == 0:
            line = (f"step {step} t={elapsed:.0f}s lr={lr:.2e} ce={np.mean([l[2] for l in log[-10:]]):.4f} "
                    f"dice_loss={np.mean([l[3] for l in log[-10:]]):.4f}")
            if sys.stdout.isatty():
                # The budget is wall-clock, so the time left is exact; only a terminal gets it (logs stay one format).
                line += f"  [{100 * elapsed / budget:.0f} %, {(budget - elapsed) / 60:.0f} min left]"
            print(line, flush=True)
        if time.time() - last_ckpt > 300 and not args.smoke:
            # Everything a resumed run needs; kept in Training/out (not in git).
            tmp = os.path.join(OUT, "checkpoint.pt.tmp")
            torch.save({"model": model.state_dict(), "optimiser": opt.state_dict(), "step": step,
                        "elapsed": time.time() - t0, "log": log}, tmp)
            os.replace(tmp, os.path.join(OUT, "checkpoint.pt"))
            last_ckpt = time.time()
    seconds = time.time() - t0
    if args.smoke:
        torch.save(model.state_dict(), os.path.join(OUT, "smoke.pt"))
        print(f"smoke: {step} steps in {seconds:.0f} s", flush=True)
        return
    torch.save(model.state_dict(), os.path.join(OUT, "final.pt"))
    with open(os.path.join(OUT, "train-log.json"), "w") as f:
        json.dump({"steps": step, "seconds": seconds, "batch": args.batch, "log": log}, f)
    while not os.path.exists(os.path.join(CACHE, "train-info.json")):
        time.sleep(10)
    info = json.load(open(os.path.join(CACHE, "train-info.json")))
    training = {
        "data": (f"{len(phantoms)} virtual-scanner phantom sessions (seeds {TRAIN_SEED_TEXT}) and {len(real)} "
                 "acquisitions of the 50 MyoSegmenTUM vb3- volumes (3 geometries each, seeds 200000+); "
                 "held out: phantom seeds 900000+, all vb2- cases"
                 + (f"; {len(spider_items)} SPIDER 2D patients (real T2, group labels only; every fifth patient "
                    "held out)" if spider_items else "")
                 + (f"; {len(slab_items)} SPIDER slab patients as real localizers (levels counted from L5/S1; "
                    "the SPIDER 2D held-out patients held out)" if slab_items else "")),
        "data_sha256": info["sha256"],
        "data_generation_seconds": info["seconds"],
        "command": "Training/train.sh (python -m spineplan_train.train --minutes %g --batch %d --crop-w %d "
                   "--spider-share %g --slab-share %g%s)" % (args.minutes, args.batch, args.crop_w, args.spider_share,
                                                            args.slab_share, " --init-shipped" if args.init_shipped else ""),
        "seconds": round(seconds),
        "steps": step, "batch": args.batch, "samples_seen": step * args.batch,
        "loss": "class-weighted cross-entropy (sqrt inverse frequency, 1..10) + soft Dice; unlabelled voxels of "
                "partial (real) cases ignored",
        "eval_seeds": {"phantom": "900000-900239", "real_vb2": "950000+10*i, 3 sessions each"},
        "train_seeds": {"phantom": TRAIN_SEED_TEXT, "real_vb3": "200000+10*i, 3 sessions each"},
        "merged_into_background": MERGED_INTO_BACKGROUND,
        "cpu": "2 cores, shared with Swift builds (see Docs/model-card.md)",
    }
    export.write_weights(model.eval(), args.version, training)
    print(f"done: {step} steps in {seconds:.0f} s", flush=True)


TRAIN_SEED_TEXT = "100000-100359"

if __name__ == "__main__":
    main()
