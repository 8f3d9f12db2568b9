"""End-to-end accuracy of the planes SpinePlan writes, on the held-out sessions (issue 6's model-fed target).

    python -m spineplan_train.evaluate_plans --set eval-synth --set eval-real [--weights W.safetensors]
    python -m spineplan_train.evaluate_plans --set calibrate [--write-threshold SIDECAR]   # choose the abstention threshold

SPINEPLAN_BINARY overrides the binary (default: the package's .build/release/spineplan).

Runs the release `spineplan plan` (the daemon's pipeline: preprocessing, network, planner) on each held-out
session's DICOM folder (`Training/data/<set>/<case>/localizer`) and compares the plan JSON, i.e. the planes of the
SR, with the session's `truth.json`:
- centre error: 3D distance between the plane centre and the truth disc centre; through-plane: its component along
  the truth normal (what positions the stack);
- angle: between the plane normal and the truth disc normal;
- levels: every truth disc among the planned levels (default L1/L2 … L5/S1, plus L5/L6 and L6/S1 when the anatomy
  has them) has a plane of the same name, and every named plane's nearest truth disc has its name (a plane named
  right but far off counts in the geometry figures, not as a wrong level). Abstained plans count as "abstained", not as right.
Unnamed planes of abstained plans are matched to the nearest truth disc for the geometry figures.
Real vb2- sessions have reference discs for T11/T12…L4/L5 only (no sacrum is labelled): a named plane of a level
the reference lacks (L5/S1) that lies more than 12 mm from every reference disc cannot be checked and is skipped;
their level figure is "every checkable named plane right" and "every reference disc L1/L2…L4/L5 planned".
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

from .data import ROOT, TRAINING, WORK
from .evaluate import category
from .export import dumps

BINARY = os.environ.get("SPINEPLAN_BINARY") or os.path.join(ROOT, ".build", "release", "spineplan")
MATCH_MM = 12.0


def angle(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    c = abs(float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.degrees(np.arccos(min(1.0, c))))


def plan(session, config):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [BINARY, "plan", os.path.join(session, "localizer"), "--sr", os.path.join(tmp, "sr.dcm"),
               "--json", os.path.join(tmp, "plan.json")]
        if config:
            cmd += ["--config", config]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            return None, run.stderr.strip().splitlines()[-1:] or ["exit %d" % run.returncode]
        with open(os.path.join(tmp, "plan.json")) as f:
            return json.load(f), []


def score(plan_json, truth):
    discs = {d["level"]: d for d in truth["discs"]}
    planes = plan_json["planes"]
    row = {"abstained": bool(plan_json.get("abstained")), "planes": len(planes), "errors": [], "wrong": [],
           "abstention_reason": plan_json.get("abstention_reason"), "level_probability": plan_json.get("level_probability")}
    for p in planes:
        c = np.asarray(p["centre_lps_mm"], float)
        nearest = min(discs.values(), key=lambda d: np.linalg.norm(np.asarray(d["centre_lps_mm"]) - c))
        dist = float(np.linalg.norm(np.asarray(nearest["centre_lps_mm"]) - c))
        name = p.get("level")
        if name and not row["abstained"]:
            if nearest["level"] == name:
                # Named right; a centre far off shows in the geometry figures, not as a wrong level.
                target = discs[name]
            elif name not in discs and dist > MATCH_MM:
                # A level the reference does not have (vb2- labels stop at L5, so L5/S1 has no reference disc),
                # and no reference disc near it: it cannot be checked, so it is neither right nor wrong.
                row.setdefault("unverified", []).append(name)
                continue
            else:
                row["wrong"].append(f"{name} plane is nearest to {nearest['level']} ({dist:.0f} mm)")
                continue
        elif dist <= MATCH_MM:
            target = nearest
        else:
            continue
        t_c = np.asarray(target["centre_lps_mm"], float)
        t_n = np.asarray(target["normal_lps"], float)
        row["errors"].append({"level": target["level"], "centre_mm": float(np.linalg.norm(c - t_c)),
                              "through_plane_mm": float(abs((c - t_c) @ t_n / np.linalg.norm(t_n))),
                              "angle_deg": angle(p["normal"], t_n), "confidence": p.get("confidence")})
    planned = {e["level"] for e in row["errors"]}
    wanted = [n for n in discs if n in ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1", "L5/L6", "L6/S1")]
    row["missing"] = [n for n in wanted if n not in planned]
    row["all_levels_right"] = (not row["abstained"] and not row["wrong"] and not row["missing"])
    return row


def summarise(rows):
    errs = [e for r in rows for e in r["errors"]]
    pct = lambda v, q: round(float(np.percentile(v, q)), 2) if len(v) else None  # noqa: E731
    c = [e["centre_mm"] for e in errs]
    t = [e["through_plane_mm"] for e in errs]
    a = [e["angle_deg"] for e in errs]
    answered = [r for r in rows if not r["abstained"]]
    return {
        "sessions": len(rows), "planes_measured": len(errs),
        "centre_mm": {"median": pct(c, 50), "p95": pct(c, 95)},
        "through_plane_mm": {"median": pct(t, 50), "p95": pct(t, 95)},
        "angle_deg": {"median": pct(a, 50), "p95": pct(a, 95)},
        "all_levels_right": round(sum(r["all_levels_right"] for r in rows) / max(1, len(rows)), 4),
        "abstained": round(sum(r["abstained"] for r in rows) / max(1, len(rows)), 4),
        "wrong_and_not_abstained": sum(1 for r in answered if r["wrong"]),
        "failed": sum(1 for r in rows if r.get("failure")),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", required=True, choices=["eval-synth", "eval-real", "calibrate"])
    ap.add_argument("--weights", help="safetensors file to use instead of the binary's bundled model")
    ap.add_argument("--tag", default="", help="suffix of the output file name")
    ap.add_argument("--write-threshold", metavar="SIDECAR",
                    help="with --set calibrate: write the chosen minimum_level_probability into this model sidecar")
    args = ap.parse_args(argv)
    if not os.path.exists(BINARY):
        raise SystemExit("build first: swift build -c release --product spineplan")
    config = None
    if args.weights:
        config = os.path.join(tempfile.mkdtemp(), "spineplan.yaml")
        with open(config, "w") as f:
            f.write(f"model:\n  path: {os.path.abspath(args.weights)}\n")
    for name in args.set:
        rows = []
        t0 = time.time()
        for case in sorted(os.listdir(os.path.join(WORK, name))):
            session = os.path.join(WORK, name, case)
            with open(os.path.join(session, "truth.json")) as f:
                truth = json.load(f)
            plan_json, failure = plan(session, config)
            if plan_json is None:
                rows.append({"case": case, "failure": failure, "abstained": True, "errors": [], "wrong": [],
                             "missing": [], "all_levels_right": False, "categories": category(truth)})
                continue
            row = score(plan_json, truth)
            row.update(case=case, categories=category(truth))
            rows.append(row)
        groups = {"all": rows}
        if name == "calibrate":
            groups["phantoms"] = [r for r in rows if r["case"].startswith("phantom")]
            groups["real"] = [r for r in rows if not r["case"].startswith("phantom")]
        if name in ("eval-synth", "calibrate"):
            groups["normal"] = [r for r in rows if not r["categories"]]
            for cat in ("lstv", "scoliosis>20", "implant"):
                groups[cat] = [r for r in rows if cat in r["categories"]]
        summary = {g: summarise(rs) for g, rs in groups.items()}
        out = os.path.join(TRAINING, "out", f"plans-{name}{args.tag}.json")
        with open(out, "w") as f:
            json.dump({"summary": summary, "rows": rows, "seconds": round(time.time() - t0)}, f, indent=1)
        print(name, json.dumps(summary, indent=1), flush=True)
        if name == "calibrate":
            print(sweep(groups), flush=True)
            chosen = recommend(rows)
            print(f"minimum_level_probability: {chosen} (the smallest threshold that names no calibration session wrongly, "
                  f"rounded up to a multiple of 0.05)", flush=True)
            if args.write_threshold:
                with open(args.write_threshold) as f:
                    sidecar = json.load(f)
                sidecar["minimum_level_probability"] = chosen
                sidecar["minimum_level_probability_chosen_on"] = (
                    f"{len(rows)} calibration sessions (Training/spineplan_train/data.py --set calibrate): unseen phantoms "
                    "from seed 500000 and vb3- volumes at new localizer geometries; never the held-out sets")
                with open(args.write_threshold, "w") as f:
                    f.write(dumps(sidecar))
                print(f"wrote it into {args.write_threshold}", flush=True)


def abstains_at(row, t):
    """True when a plan made with the check off abstains at threshold t: it abstained anyway, or its level
    probability is below t."""
    return row["abstained"] or (row.get("level_probability") is not None and row["level_probability"] < t)


def wrong_at(rows, t):
    return sum(1 for r in rows if r["wrong"] and not abstains_at(r, t))


def recommend(rows):
    """The smallest threshold (0.01 steps) at which no session is named wrongly, rounded up to a multiple of 0.05."""
    t = next(x / 100 for x in range(0, 101) if wrong_at(rows, x / 100) == 0)
    return round(float(np.ceil(t * 20 - 1e-9) / 20), 2)


def sweep(groups):
    """Level-probability thresholds against named-wrong sessions and abstentions, on plans made with the check off."""
    lines = ["threshold  " + "  ".join(f"{g:>24}" for g in groups), " " * 11 + "  ".join(f"{'wrong named / abstained':>24}" for _ in groups)]
    for t in [0.0] + [round(x, 2) for x in np.arange(0.50, 0.96, 0.025)]:
        cells = []
        for rows in groups.values():
            abstained = sum(abstains_at(r, t) for r in rows)
            cells.append(f"{wrong_at(rows, t):>10d} / {100 * abstained / max(1, len(rows)):>10.1f} %")
        lines.append(f"{t:>9.3f}  " + "  ".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
