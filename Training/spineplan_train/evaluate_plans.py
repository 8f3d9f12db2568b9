"""End-to-end accuracy of the planes SpinePlan writes, on the held-out sessions (issue 6's model-fed target).

    python -m spineplan_train.evaluate_plans --set eval-synth --set eval-real [--weights W.safetensors]
    python -m spineplan_train.evaluate_plans --set calibrate [--write-threshold SIDECAR]   # choose the abstention threshold
    python -m spineplan_train.evaluate_plans --set eval-spider-thick --set eval-spider-single   # after spider_sessions

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

**Recall** (issue 14): every truth disc from L1/L2 to L5/S1 (to the lumbosacral disc in transitional anatomy: L4/S1,
L5/L6 and L6/S1 count too) inside the localizer's field of view must get a plane,
named or not, abstained or not, whose centre is within 10 mm of the disc centre (the nearest plane). In the field
of view: the centre projects inside the image rectangle of the nearest sagittal slice, and lies no farther than
10 mm (the recall radius, so a plane within 10 mm could be placed) outside the slab the sagittal stack covers
(outer slices ± half their thickness). Reported per set ("recall"): discs in view, found %, per-level found, and
for the found discs the centre and through-plane error and the angle (median, p95); per session ("sessions"):
levels all right, abstained, named wrongly (not abstained and a named plane wrong), named but incomplete.
vb2- references stop at L4/L5, so their recall covers L1/L2…L4/L5.

Sets: eval-synth, eval-real, calibrate (Training/data/<set>, from `data.py`); eval-spider-thick and
eval-spider-single (Training/cache/<set>, from `spider_sessions.py`: the held-out SPIDER patients as thick-slab
and single-slice localizers; eval-spider-thick is also summarised per thickness).
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

from .data import CACHE, ROOT, TRAINING, WORK
from .evaluate import category
from .export import dumps

BINARY = os.environ.get("SPINEPLAN_BINARY") or os.path.join(ROOT, ".build", "release", "spineplan")
if not os.environ.get("SPINEPLAN_BINARY") and not os.path.exists(BINARY):
    BINARY = os.path.join(ROOT, ".build-train-release", "release", "spineplan")
MATCH_MM = 12.0
RECALL_MM = 10.0
RECALL_LEVELS = ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1", "L4/S1", "L5/L6", "L6/S1")  # down to the lumbosacral disc
SETS = ["eval-synth", "eval-real", "calibrate", "eval-spider-thick", "eval-spider-single", "calibrate-spider-thick",
        "calibrate-spider-single"]


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


def set_dir(name):
    """The folder of a set's session folders: Training/data/<set> for the scanner's sets, Training/cache/<set> for the
    SPIDER exports (whichever of the two holds sessions)."""
    first = [CACHE, WORK] if "-spider-" in name else [WORK, CACHE]
    for root in first:
        folder = os.path.join(root, name)
        if os.path.isdir(folder) and any(os.path.exists(os.path.join(folder, c, "truth.json")) for c in os.listdir(folder)):
            return folder
    raise SystemExit(f"no sessions of {name} in {first[0]} or {first[1]}")


def sagittal_stack(localizer):
    """Geometry of the localizer's sagittal images: [(position along the normal, IPP, row dir, col dir, (row mm,
    col mm), rows, cols, thickness)] and the stack normal; ([], None) when there is none."""
    import pydicom
    slices, normal = [], None
    for f in sorted(os.listdir(localizer)):
        try:
            ds = pydicom.dcmread(os.path.join(localizer, f), stop_before_pixels=True)
            iop = np.array([float(v) for v in ds.ImageOrientationPatient])
            ipp = np.array([float(v) for v in ds.ImagePositionPatient])
            ps = [float(v) for v in ds.PixelSpacing]
        except Exception:  # noqa: BLE001 — not an image (or not one with geometry)
            continue
        n = np.cross(iop[:3], iop[3:])
        if abs(n[0]) < max(abs(n[1]), abs(n[2])):
            continue  # axial or coronal
        if normal is None:
            normal = n * np.sign(n[0])
        slices.append((float(ipp @ normal), ipp, iop[:3], iop[3:], ps, int(ds.Rows), int(ds.Columns),
                       float(ds.get("SliceThickness") or 0.0)))
    slices.sort(key=lambda s: s[0])
    return slices, normal


def in_view(centre, stack):
    """True when the centre projects inside the nearest sagittal image and is within RECALL_MM of the covered slab."""
    slices, normal = stack
    if not slices:
        return False
    c = np.asarray(centre, float)
    s = float(c @ normal)
    lo = slices[0][0] - slices[0][7] / 2 - RECALL_MM
    hi = slices[-1][0] + slices[-1][7] / 2 + RECALL_MM
    if not lo <= s <= hi:
        return False
    _, ipp, r_dir, c_dir, ps, rows, cols, _ = min(slices, key=lambda t: abs(t[0] - s))
    col = (c - ipp) @ r_dir / ps[1]
    row = (c - ipp) @ c_dir / ps[0]
    return -0.5 <= col <= cols - 0.5 and -0.5 <= row <= rows - 0.5


def recall(plan_json, truth, stack):
    """Every truth disc L1/L2…L5/S1 in view: found when the nearest plane's centre is within RECALL_MM."""
    planes = plan_json["planes"] if plan_json else []
    out = {"in_view": [], "found": [], "missed": [], "out_of_view": []}
    for d in truth["discs"]:
        if d["level"] not in RECALL_LEVELS:
            continue
        t_c = np.asarray(d["centre_lps_mm"], float)
        if not in_view(t_c, stack):
            out["out_of_view"].append(d["level"])
            continue
        out["in_view"].append(d["level"])
        best = min(planes, key=lambda p: np.linalg.norm(np.asarray(p["centre_lps_mm"], float) - t_c), default=None)
        dist = float(np.linalg.norm(np.asarray(best["centre_lps_mm"], float) - t_c)) if best else None
        if best is None or dist > RECALL_MM:
            out["missed"].append(d["level"])
            continue
        t_n = np.asarray(d["normal_lps"], float)
        c = np.asarray(best["centre_lps_mm"], float)
        out["found"].append({"level": d["level"], "plane_level": best.get("level"), "centre_mm": dist,
                             "through_plane_mm": float(abs((c - t_c) @ t_n / np.linalg.norm(t_n))),
                             "angle_deg": angle(best["normal"], t_n)})
    return out


def session_outcome(row):
    if row["abstained"]:
        return "abstained"
    if row["wrong"]:
        return "named_wrongly"
    return "all_right" if row["all_levels_right"] else "named_incomplete"


def summarise_recall(rows):
    pct = lambda v, q: round(float(np.percentile(v, q)), 2) if len(v) else None  # noqa: E731
    found = [f for r in rows for f in r["recall"]["found"]]
    in_view = sum(len(r["recall"]["in_view"]) for r in rows)
    by_level = {}
    for lv in RECALL_LEVELS:
        n = sum(lv in r["recall"]["in_view"] for r in rows)
        if n:
            by_level[lv] = f"{sum(f['level'] == lv for r in rows for f in r['recall']['found'])}/{n}"
    outcomes = [session_outcome(r) for r in rows]
    return {
        "discs_in_view": in_view, "found": len(found),
        "found_pct": round(100 * len(found) / in_view, 1) if in_view else None,
        "found_by_level": by_level,
        "out_of_view": sum(len(r["recall"]["out_of_view"]) for r in rows),
        "centre_mm": {"median": pct([f["centre_mm"] for f in found], 50), "p95": pct([f["centre_mm"] for f in found], 95)},
        "through_plane_mm": {"median": pct([f["through_plane_mm"] for f in found], 50),
                             "p95": pct([f["through_plane_mm"] for f in found], 95)},
        "angle_deg": {"median": pct([f["angle_deg"] for f in found], 50), "p95": pct([f["angle_deg"] for f in found], 95)},
        "sessions": {k: outcomes.count(k) for k in ("all_right", "abstained", "named_wrongly", "named_incomplete")},
    }


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
        "recall": summarise_recall(rows),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", action="append", required=True, choices=SETS)
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
        root = set_dir(name)
        for case in sorted(os.listdir(root)):
            session = os.path.join(root, case)
            if not os.path.exists(os.path.join(session, "truth.json")):
                continue
            with open(os.path.join(session, "truth.json")) as f:
                truth = json.load(f)
            plan_json, failure = plan(session, config)
            stack = sagittal_stack(os.path.join(session, "localizer"))
            if plan_json is None:
                rows.append({"case": case, "failure": failure, "abstained": True, "errors": [], "wrong": [],
                             "missing": [], "all_levels_right": False, "categories": category(truth),
                             "recall": recall(None, truth, stack)})
                continue
            row = score(plan_json, truth)
            row.update(case=case, categories=category(truth), recall=recall(plan_json, truth, stack),
                       warnings=plan_json.get("warnings", []), transitional=plan_json.get("transitional_anatomy"))
            rows.append(row)
        groups = {"all": rows}
        if name == "calibrate":
            groups["phantoms"] = [r for r in rows if r["case"].startswith("phantom")]
            groups["real"] = [r for r in rows if not r["case"].startswith("phantom")]
        if name in ("eval-synth", "calibrate"):
            groups["normal"] = [r for r in rows if not r["categories"]]
            for cat in ("lstv", "scoliosis>20", "implant"):
                groups[cat] = [r for r in rows if cat in r["categories"]]
        if name.endswith("spider-thick"):
            for t in sorted({r["case"].rsplit("-t", 1)[1] for r in rows}, key=float):
                groups[f"t{t}mm"] = [r for r in rows if r["case"].rsplit("-t", 1)[1] == t]
        summary = {g: summarise(rs) for g, rs in groups.items()}
        out = os.path.join(TRAINING, "out", f"plans-{name}{args.tag}.json")
        with open(out, "w") as f:
            json.dump({"summary": summary, "rows": rows, "seconds": round(time.time() - t0)}, f, indent=1)
        print(name, json.dumps(summary, indent=1), flush=True)
        print(recall_table(name, summary), flush=True)
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


def recall_table(name, summary):
    """One line a group: found %, centre / through-plane / angle (median, p95) of found discs, session outcomes."""
    lines = [f"{name}: group  sessions  found  centre mm  through mm  angle deg  right/abstained/wrong/incomplete"]
    for g, s in summary.items():
        r = s["recall"]
        fmt = lambda m: f"{m['median']}/{m['p95']}"  # noqa: E731
        found = f"{r['found_pct']}% ({r['found']}/{r['discs_in_view']})" if r["discs_in_view"] else "-"
        o = r["sessions"]
        lines.append(f"  {g:>12} {s['sessions']:>4}  {found:>18}  {fmt(r['centre_mm']):>11}  {fmt(r['through_plane_mm']):>11}"
                     f"  {fmt(r['angle_deg']):>11}  {o['all_right']}/{o['abstained']}/{o['named_wrongly']}/{o['named_incomplete']}")
    return "\n".join(lines)


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
