#!/usr/bin/env python3
"""Every speed figure of issue 15 in one run on one machine, written into Docs/performance.md.

Runs, in order, on the release build: the CPU's model and flags; the inference benchmark (LocalizerBenchmark: peak,
forward pass per precision, per-step profile); the receive path against DCMTK's storescp; end to end at one console
for three localizer sizes, from the first slice sent and from the last; saturation throughput with 1, 2, 4 and 8
consoles; start-up time and idle RSS. The tables replace the section between the markers in Docs/performance.md,
and a latency-distribution plot (SVG, drawn here: no plotting library in the peers' venv) goes to Docs/images.
Called by Benchmarks/all.sh, which builds first.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BEGIN, END = "<!-- bench:all:begin -->", "<!-- bench:all:end -->"
SIZES = [("7 + 5 slices, 256²", 7, 256), ("15 + 5 slices, 256²", 15, 256), ("15 + 5 slices, 512²", 15, 512)]
FLAGS = ["avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16"]


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
        raise SystemExit(f"all.py: {cmd[0]} failed ({out.returncode})")
    return out.stdout


def cpu():
    text = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", text).group(1).strip()
    flags = set(re.search(r"flags\s*:\s*(.*)", text).group(1).split())
    return model, os.cpu_count(), [f for f in FLAGS if f in flags]


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def svg(series, path):
    """Cumulative distribution of each series' latencies (ms), one polyline each."""
    width, height, left, bottom = 640, 360, 60, 40
    top = max(max(v) for _, v in series) * 1.05
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    x = lambda ms: left + (width - left - 20) * ms / top
    y = lambda q: height - bottom - (height - bottom - 20) * q
    for tick in range(0, int(top) + 1, max(10, int(top / 8) // 10 * 10 or 10)):
        parts.append(f'<line x1="{x(tick):.1f}" y1="{y(0):.1f}" x2="{x(tick):.1f}" y2="{y(1):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{y(0) + 14:.1f}" text-anchor="middle">{tick}</text>')
    for q in (0, 0.5, 0.95, 1):
        parts.append(f'<text x="{left - 6}" y="{y(q) + 4:.1f}" text-anchor="end">{q:g}</text>')
    for i, (name, values) in enumerate(series):
        values = sorted(values)
        points = " ".join(f"{x(v):.1f},{y((k + 1) / len(values)):.1f}" for k, v in enumerate(values))
        colour = colours[i % len(colours)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{left + 10}" y="{24 + 14 * i}" fill="{colour}">{name}</text>')
    parts.append(f'<text x="{(width + left) / 2}" y="{height - 6}" text-anchor="middle">ms to the SR at the console (cumulative share of sessions)</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20, help="sessions per end-to-end size")
    ap.add_argument("--receive-runs", type=int, default=5)
    ap.add_argument("--console-seconds", type=float, default=20)
    ap.add_argument("--inference-runs", type=int, default=10)
    ap.add_argument("--no-write", action="store_true", help="print the section instead of writing Docs/performance.md")
    args = ap.parse_args()
    python = sys.executable
    binary = os.path.join(ROOT, ".build/release/spineplan")
    work = tempfile.mkdtemp(prefix="spineplan-bench-")
    model, cores, flags = cpu()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    lines = [BEGIN, "", f"**One run of `Benchmarks/all.sh`**, {when}, on **{model}**, {cores} cores, flags: "
             f"{', '.join(flags) or 'none of interest'} (absent: {', '.join(f for f in FLAGS if f not in flags) or 'none'}); "
             f"load average {load:.2f} at start. Release build, `OMP_WAIT_POLICY=passive`. Every figure below comes from "
             "this run; ratios are against a reference measured in the same run.", ""]

    # Inference.
    bench = run(["swift", "run", "-c", "release", "--package-path", "Benchmarks", "LocalizerBenchmark", "--runs",
                 str(args.inference_runs)], env={**os.environ, "OMP_WAIT_POLICY": "passive"})
    keep = [l for l in bench.splitlines() if re.match(r"^(cpu|first result|RSS with model|pipeline|peak f32|peak bf16|AMX|forward FLOPs|\[\w+\] (forward|rate))", l)]
    lines += ["### Inference (LocalizerBenchmark)", "", "```"] + keep + ["```", "",
              "Not measured in this run: PyTorch (eager f32, bf16 autocast, TorchScript) and ONNX Runtime on the same "
              "input. They live in `Training/.venv` (about 5 GB, never in CI); "
              + ("it is present but the comparison script is not written yet." if os.path.exists(os.path.join(ROOT, "Training/.venv/bin/python"))
                 else "it was not installed on this machine.") + " The last paired figures are in the issue (2.2–6.5× "
              "faster, another machine).", ""]

    # Receive path.
    receive_json = os.path.join(work, "receive.json")
    out = run(["bash", "Benchmarks/receive-vs-storescp.sh", str(args.receive_runs)])
    lines += ["### Receive path against storescp (same sender, interleaved)", "", "```"] + \
             [l for l in out.splitlines() if l.startswith(("12x256", "90x512", "RSS", "spineplan RSS"))] + ["```", ""]

    # End to end at one console.
    rows, series = [], []
    for label, sagittal, matrix in SIZES:
        js = os.path.join(work, f"e2e-{sagittal}-{matrix}.json")
        run([python, "scripts/demo.py", "--spineplan", binary, "--out", os.path.join(work, f"e2e-{sagittal}-{matrix}"),
             "--sessions", str(args.sessions), "--seed", "3000", "--sagittal-slices", str(sagittal), "--matrix", str(matrix),
             "--planes", "sag,cor", "--json", js], env={**os.environ, "OMP_WAIT_POLICY": "passive"})
        r = json.load(open(js))
        stages = r.get("daemon_stage_medians_ms", {})
        stage_text = ", ".join(f"{k.replace('ms_', '')} {v:.1f}" for k, v in stages.items() if k != "latency_ms")
        rows.append(f"| {label} | {r['from_first_median_ms']:.0f} / {r['from_first_p95_ms']:.0f} | {r['median_ms']:.0f} / {r['p95_ms']:.0f} | {stage_text} |")
        series += [(f"{label}, from the first slice", r["from_first_ms"]), (f"{label}, from the last slice", r["latencies_ms"])]
        startup = (r["start_seconds"], r["idle_rss_mib"])
    lines += ["### End to end at one console", "",
              f"{args.sessions} synthetic sessions a size, sagittal + coronal over one association (`scripts/demo.py`); the "
              "scanner makes at most 15 sagittal and 5 coronal slices, so the issue's 15 + 15 and 30 + 30 are 15 + 5 here.", "",
              "| localizer | from the first slice sent: median / p95 ms | from the last slice: median / p95 ms | daemon stage medians (ms) |",
              "|---|---|---|---|"] + rows + ["", "![latency distribution](images/e2e-latency-all.svg)", ""]
    os.makedirs(os.path.join(ROOT, "Docs/images"), exist_ok=True)
    if not args.no_write:
        svg(series, os.path.join(ROOT, "Docs/images/e2e-latency-all.svg"))

    # Consoles at once.
    sessions = os.path.join(work, "soak-sessions")
    run([binary, "synth", "--out", sessions, "--seed", "7000", "--count", "16", "--sagittal-slices", "7", "--matrix", "256"])
    rows = []
    for consoles in (1, 2, 4, 8):
        out = run([python, "Benchmarks/throughput.py", "--spineplan", binary, "--sessions", sessions, "--consoles", str(consoles),
                   "--seconds", str(args.console_seconds), "--state", os.path.join(work, f"state-{consoles}")],
                  env={**os.environ, "OMP_WAIT_POLICY": "passive"})
        r = json.loads(out.strip().splitlines()[-1])
        rows.append(f"| {consoles} | {r['sessions_per_second']:.2f} | {r['srs_during_load']} | {r['rejected_associations']} | {r['rss_peak_mib']:.0f} |")
    lines += ["### Throughput with several consoles", "",
              f"Each console sends 7 + 5 slices of 256² session after session for {args.console_seconds:.0f} s, fresh patient and UIDs "
              "each time (`Benchmarks/throughput.py`); sessions per second counts the SRs that arrived during the load; a "
              "rejected association (backpressure) is retried after 50 ms.", "",
              "| consoles | sessions/s | SRs | associations rejected | peak RSS MiB |", "|---|---|---|---|---|"] + rows + [""]

    lines += ["### Start-up", "", f"`spineplan serve` to listening with the model loaded: {startup[0]:.2f} s; RSS idle "
              f"{startup[1]:.0f} MiB (measured by `scripts/demo.py` in the last end-to-end run).", "", END]
    section = "\n".join(lines) + "\n"
    if args.no_write:
        print(section)
        return
    path = os.path.join(ROOT, "Docs/performance.md")
    doc = open(path).read()
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + section.rstrip("\n") + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n## Every figure in one run (issue 15 point 5)\n\n" + section
    open(path, "w").write(doc)
    print(section)


if __name__ == "__main__":
    main()
