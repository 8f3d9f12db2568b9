"""The confidence calibration table of Docs/planner.md from an evaluate_plans output file.

    python -m spineplan_train.confidence_table out/plans-eval-synth-1.2.0.json

Bins every scored plane by the plan's confidence and prints through-plane, angle and centre errors per bin, and the
rank correlation of confidence with the angle and centre errors.
"""
import json
import sys

import numpy as np
from scipy.stats import spearmanr


def main(path):
    rows = json.load(open(path))["rows"]
    errs = [e for r in rows for e in r["errors"] if e.get("confidence") is not None]
    c = np.array([e["confidence"] for e in errs]); a = np.array([e["angle_deg"] for e in errs])
    t = np.array([e["through_plane_mm"] for e in errs]); m = np.array([e["centre_mm"] for e in errs])
    print(len(errs), "planes")
    print("| confidence | planes | through-plane median / p90 | angle median / p90 | within 1 mm and 2° | angle > 5° | centre median / p95 |")
    print("|---|---|---|---|---|---|---|")
    for lo, hi in [(0, .2), (.2, .4), (.4, .6), (.6, .8), (.8, 1.01)]:
        s = (c >= lo) & (c < hi)
        if not s.any(): continue
        print(f"| {lo:.2f}–{min(hi,1):.2f} | {s.sum()} | {np.median(t[s]):.2f} / {np.percentile(t[s],90):.2f} mm | {np.median(a[s]):.2f} / {np.percentile(a[s],90):.2f}° | {100*np.mean((t[s]<=1)&(a[s]<=2)):.0f} % | {100*np.mean(a[s]>5):.0f} % | {np.median(m[s]):.2f} / {np.percentile(m[s],95):.2f} mm |")
    r1 = spearmanr(c, a); r2 = spearmanr(c, m)
    print(f"spearman conf~angle {r1.statistic:.2f} (p={r1.pvalue:.1e}), conf~centre {r2.statistic:.2f} (p={r2.pvalue:.1e})")


if __name__ == "__main__":
    main(sys.argv[1])
