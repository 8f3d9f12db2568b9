"""Overlay and error figures for Docs/images/model-*.png from the evaluation output.

    python -m spineplan_train.figures
"""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from .classes import CLASSES  # noqa: E402
from .data import CACHE, ROOT, TRAINING  # noqa: E402
from .train import normalise  # noqa: E402

OUT = os.path.join(TRAINING, "out")
IMAGES = os.path.join(ROOT, "Docs", "images")


def colours():
    rng = np.random.default_rng(3)
    c = np.zeros((len(CLASSES), 4))
    for i, name in enumerate(CLASSES):
        if i == 0:
            continue
        if "/" in name:
            c[i] = (1.0, 0.85 - 0.06 * (i % 5), 0.1, 0.75)
        elif name == "canal":
            c[i] = (0.2, 0.9, 1.0, 0.35)
        else:
            c[i] = (*rng.uniform(0.2, 0.9, 3), 0.45)
    return ListedColormap(c)


def overlay(ax, set_name, row, title):
    import torch

    z = np.load(os.path.join(CACHE, set_name, row["case"] + ".npz"))
    p = np.load(os.path.join(OUT, "pred", row["case"] + ".npz"))
    image = normalise(torch.from_numpy(z["raw"])).numpy()
    arg = p["arg"]
    # Mid-sagittal: the slice with the most spine voxels predicted.
    d = int(np.argmax([(a > 0).sum() - (a == CLASSES.index("canal")).sum() for a in arg]))
    draw_labels(ax, image[d], arg[d], title)


def draw_labels(ax, image, arg, title):
    """One slice with its predicted classes; vertebrae named on the right, discs on the left."""
    ax.imshow(image, cmap="gray", vmin=0, vmax=1.5)
    ax.imshow(np.ma.masked_equal(arg, 0), cmap=colours(), vmin=0, vmax=len(CLASSES) - 1, interpolation="nearest")
    for c in np.unique(arg):
        name = CLASSES[c]
        if c == 0 or name == "canal":
            continue
        ys, xs = np.nonzero(arg == c)
        if len(xs) > 4:
            ax.text(xs.max() + 2 if "/" not in name else xs.min() - 2, ys.mean(), name, fontsize=6,
                    color="yellow" if "/" in name else "white", ha="left" if "/" not in name else "right",
                    va="center")
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def pick(rows, good):
    full = [r for r in rows if r["variant"] == "full"]
    if good:
        return [r for r in full if r["all_levels_right"] and not r["abstain"]]
    return [r for r in full if not r["all_levels_right"] or r["abstain"]]


def main():
    import torch

    os.makedirs(IMAGES, exist_ok=True)
    for set_name, label in [("eval-synth", "held-out phantom"), ("eval-real", "held-out real vb2-")]:
        path = os.path.join(OUT, set_name + ".json")
        if not os.path.exists(path):
            continue
        rows = json.load(open(path))["rows"]
        for kind in ("good", "bad"):
            chosen = pick(rows, kind == "good")
            if kind == "good":
                chosen = sorted(chosen, key=lambda r: np.mean([e["centre_mm"] for e in r["disc_errors"]] or [99]))
            chosen = chosen[:4]
            if not chosen:
                continue
            fig, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 3.6), squeeze=False)
            for ax, r in zip(axes[0], chosen):
                note = "right" if r["all_levels_right"] else "; ".join(r["wrong"][:2])
                if r["abstain"]:
                    note += " | abstain: " + "; ".join(r["abstain_reasons"][:1])
                overlay(ax, set_name, r, f"{r['case']}\n{note}")
            fig.suptitle(f"{label}: {kind} cases (mid-sagittal slice, predicted labels)", fontsize=9)
            fig.tight_layout()
            short = "synth" if set_name == "eval-synth" else "real"
            fig.savefig(os.path.join(IMAGES, f"model-{short}-{kind}.png"), dpi=110)
            plt.close(fig)
    # SPIDER 2D held-out patients (real clinical T2): predicted classes on the middle supervised plane.
    spider_eval = os.path.join(OUT, "eval-spider.json")
    if os.path.exists(spider_eval):
        from . import spider
        rows = json.load(open(spider_eval))["rows"]
        rows = sorted(rows, key=lambda r: -r["disc"])
        chosen = rows[:2] + rows[-2:]
        fig, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 3.6), squeeze=False)
        items = {i["name"]: i for i in spider.load(held_out=True)}
        for ax, r in zip(axes[0], chosen):
            item = items[r["patient"]]
            arg = np.load(os.path.join(OUT, "pred", r["patient"] + ".npz"))["arg"]
            d = spider.SUPERVISED_PLANES[1]
            image = normalise(torch.from_numpy(item["raw"])).numpy()
            draw_labels(ax, image[d], arg[d], f"{r['patient']}: Dice vertebra {r['vertebra']:.2f}, disc {r['disc']:.2f}")
        fig.suptitle("held-out SPIDER 2D (real T2): best and worst by disc Dice, predicted labels", fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(IMAGES, "model-spider.png"), dpi=110)
        plt.close(fig)
    # Error distributions.
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for set_name, colour in [("eval-synth", "tab:blue"), ("eval-real", "tab:orange")]:
        path = os.path.join(OUT, set_name + ".json")
        if not os.path.exists(path):
            continue
        rows = json.load(open(path))["rows"]
        errs = [e for r in rows for e in r["disc_errors"] if e["centre_mm"] <= 12]
        axes[0].hist([e["centre_mm"] for e in errs], bins=np.linspace(0, 8, 33), alpha=0.6, color=colour,
                     label=set_name, density=True)
        axes[1].hist([e["angle_deg"] for e in errs], bins=np.linspace(0, 12, 37), alpha=0.6, color=colour,
                     label=set_name, density=True)
    axes[0].set_xlabel("disc centre error (mm)")
    axes[1].set_xlabel("disc normal angle error (°)")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(IMAGES, "model-errors.png"), dpi=110)
    plt.close(fig)
    # Training curve: train.sh's stages chained (stage 1, stage 2, stage 3 = the last log).
    stage_logs = [os.path.join(OUT, n) for n in ("train-log-50min.json", "train-log-stage2.json", "train-log.json")]
    stage_logs = [p for p in stage_logs if os.path.exists(p)]
    if stage_logs:
        log, starts = [], []
        for path in stage_logs:
            offset = log[-1][0] if log else 0
            starts.append(offset)
            log += [[l[0] + offset, *l[1:]] for l in json.load(open(path))["log"]]
        steps = np.array([l[0] for l in log])
        ce = np.array([l[2] for l in log])
        dl = np.array([l[3] for l in log])
        grouped = np.array([l[4] if len(l) > 4 else 0 for l in log], dtype=bool)
        k = 20
        smooth = lambda v: np.convolve(v, np.ones(k) / k, mode="valid")  # noqa: E731
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
        named = ~grouped
        ax.plot(steps[named][k - 1:], smooth(ce[named]), label="cross-entropy (phantom, vb3-)")
        ax.plot(steps[named][k - 1:], smooth(dl[named]), label="soft Dice loss (phantom, vb3-)")
        if grouped.sum() > k:
            ax.plot(steps[grouped][k - 1:], smooth(ce[grouped] + dl[grouped]), label="group loss (SPIDER 2D)",
                    alpha=0.8)
        for x in starts[1:]:
            ax.axvline(x, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("step (batch 2; dotted lines: start of stages 2 and 3)")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(IMAGES, "model-training.png"), dpi=110)
        plt.close(fig)

if __name__ == "__main__":
    main()
