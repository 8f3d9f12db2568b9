#!/usr/bin/env bash
# End-to-end latency measured at the console: a pynetdicom console sends a typical sagittal + coronal localizer
# (7 + 5 slices, 256²) of N synthetic patients to a release `spineplan serve` on loopback and times, per session,
# the last C-STORE response to the SR's arrival. Prints the median and 95th percentile; writes every sample as JSON.
# Usage: Benchmarks/e2e-latency.sh [sessions (default 30)] [json out (default out/bench/e2e-latency.json)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
sessions="${1:-30}"
json="${2:-out/bench/e2e-latency.json}"
"$root/scripts/bootstrap.sh"
swift build -c release --product spineplan
mkdir -p "$(dirname "$json")"
export OMP_WAIT_POLICY=passive
exec "${SPINEPLAN_VENV:-$root/.venv}/bin/python" scripts/demo.py --spineplan .build/release/spineplan --out out/bench/e2e \
    --sessions "$sessions" --seed 3000 --sagittal-slices 7 --matrix 256 --planes sag,cor --json "$json"
