"""Writes the shipped weights (safetensors + JSON sidecar) and the parity fixtures (contract §3 and §6)."""
import argparse
import hashlib
import json
import os
import re

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from .classes import CLASSES, INDEX, MERGED_INTO_BACKGROUND
from .model import DEFAULT_ARCH, build, count_flops

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WEIGHTS_DIR = os.path.join(ROOT, "Sources", "SpinePlanModel", "Weights")
FIXTURES_DIR = os.path.join(ROOT, "Tests", "SpinePlanModelTests", "Fixtures")
STEM = "spineplan-vnet"


def dumps(obj):
    """Indented JSON with short lists of numbers kept on one line."""
    text = json.dumps(obj, indent=1)
    return re.sub(r"\[[\s\d.,\-enul]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text) + "\n"


def sidecar(model, version, training, arch=DEFAULT_ARCH):
    return {
        "name": STEM, "version": version, "architecture": "SpinePlanVNet",
        "channels": arch["channels"], "kernels": arch["kernels"], "down": arch["down"],
        "enc_convs": arch["enc_convs"], "dec_convs": arch["dec_convs"],
        "input_grid": {"shape_dhw": [16, 128, 128], "in_plane_spacing_mm": 2.5, "normalisation": "p99.5-clip2"},
        "classes": CLASSES,
        "merged_into_background": MERGED_INTO_BACKGROUND,
        "output": "softmax over classes (head returns logits)",
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "flops_per_forward": int(count_flops(model)),
        "flops_note": "2 x multiply-adds of all convolutions for one 1x16x128x128 input",
        "training": training,
    }


def write_weights(model, version, training, directory=WEIGHTS_DIR):
    os.makedirs(directory, exist_ok=True)
    tensors = {k: v.detach().to(torch.float32).cpu().numpy() for k, v in model.state_dict().items()}
    path = os.path.join(directory, STEM + ".safetensors")
    save_file(tensors, path, metadata={"format": "pt", "version": version})
    meta = sidecar(model, version, training)
    with open(os.path.join(directory, STEM + ".json"), "w") as f:
        f.write(dumps(meta))
    return path, meta


def load_weights(directory=WEIGHTS_DIR):
    with open(os.path.join(directory, STEM + ".json")) as f:
        meta = json.load(f)
    model = build(len(meta["classes"]), meta)
    tensors = load_file(os.path.join(directory, STEM + ".safetensors"))
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
    return model.eval(), meta


def fixture_input(shape=(8, 32, 32), source=None, centre_hw=None):
    """A small realistic-looking input: a crop of a real model-grid array when given, else smooth noise."""
    d, h, w = shape
    if source is not None:
        D, H, W = source.shape
        d0, h0, w0 = (D - d) // 2, (H - h) // 2, (W - w) // 2
        if centre_hw is not None:  # crop around a disc so the argmax is not all background
            h0 = int(np.clip(centre_hw[0] - h // 2, 0, H - h))
            w0 = int(np.clip(centre_hw[1] - w // 2, 0, W - w))
        x = source[d0:d0 + d, h0:h0 + h, w0:w0 + w]
    else:
        rng = np.random.default_rng(1234)
        x = rng.random((d, h // 4, w // 4))
        x = np.repeat(np.repeat(x, 4, axis=1), 4, axis=2) + 0.1 * rng.random((d, h, w))
        x = np.clip(x * 1.2, 0, 2)
    return np.ascontiguousarray(x, dtype=np.float32)[None, None]


def write_fixtures(source=None, directory=FIXTURES_DIR, weights_dir=WEIGHTS_DIR, centre_hw=None):
    """Runs the SHIPPED weights in float64 on a small input and stores input, logits and probabilities."""
    torch.use_deterministic_algorithms(True)
    model, meta = load_weights(weights_dir)
    model = model.double()
    x = fixture_input(source=source, centre_hw=centre_hw)
    with torch.no_grad():
        logits = model(torch.from_numpy(x).double())
        probs = torch.softmax(logits, dim=1)
    os.makedirs(directory, exist_ok=True)
    save_file({"input": np.ascontiguousarray(x), "logits": np.ascontiguousarray(logits.float().numpy()),
               "probabilities": np.ascontiguousarray(probs.float().numpy())}, os.path.join(directory, "parity.safetensors"))
    with open(os.path.join(weights_dir, STEM + ".safetensors"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    info = {"weights": f"Sources/SpinePlanModel/Weights/{STEM}.safetensors", "weights_sha256": digest,
            "version": meta["version"], "input_shape": list(x.shape), "classes": len(meta["classes"]),
            "computed_in": "float64 (PyTorch, CPU, deterministic), stored as F32",
            "tolerance": {"f32_relative": 1e-4, "bf16_argmax_agreement": 0.995},
            "tensors": ["input", "logits", "probabilities"], "torch": torch.__version__,
            "command": "Training/.venv/bin/python -m spineplan_train.export" + (" --fixture-source ..." if source is not None else "")}
    if meta["version"].startswith("0.0.0"):
        info["note"] = ("random weights: probabilities are near uniform, so only the f32 check is meaningful; "
                        "the bf16 argmax check applies to trained weights")
    with open(os.path.join(directory, "parity.json"), "w") as f:
        f.write(dumps(info))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--random", action="store_true", help="export randomly initialised weights (version 0.0.0-random)")
    ap.add_argument("--fixture-source", help=".npz or .npy model-grid array to crop the parity input from")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.random:
        torch.manual_seed(0)
        model = build(len(CLASSES))
        write_weights(model, "0.0.0-random", {"data": "none: randomly initialised (torch.manual_seed(0))",
                                              "data_sha256": None, "command": "python -m spineplan_train.export --random",
                                              "seconds": 0})
    source, centre_hw = None, None
    if args.fixture_source:
        source = np.load(args.fixture_source)
        if hasattr(source, "files"):  # a training cache entry: raw grid, normalised as the contract says
            from .grid import normalise
            labels = source["labels"]
            source = normalise(source["raw"])
            rows, cols = np.nonzero((labels == INDEX["L3/L4"]).any(0))
            if len(rows):
                centre_hw = (int(rows.mean()), int(cols.mean()))
    write_fixtures(source, centre_hw=centre_hw)


if __name__ == "__main__":
    main()
