#!/usr/bin/env bash
# Long load on loopback (issue 16): N consoles for M minutes against a release `spineplan serve`; sessions lost and
# merged, and the daemon's RSS during and after. Bounded in time, loopback only. Exit 1 on a loss, a merge, or RSS
# over 300 MiB. Usage: scripts/soak.sh [consoles (8)] [minutes (10)] [json (out/bench/soak.json)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
consoles="${1:-8}"
minutes="${2:-10}"
json="${3:-out/bench/soak.json}"
"$root/scripts/bootstrap.sh"
swift build -c release --product spineplan
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
.build/release/spineplan synth --out "$work/sessions" --seed 4100 --count 16 --sagittal-slices 7 --matrix 256 >/dev/null
export OMP_WAIT_POLICY=passive
"${SPINEPLAN_VENV:-$root/.venv}/bin/python" scripts/soak.py --spineplan .build/release/spineplan --sessions "$work/sessions" \
    --state "$work/state" --consoles "$consoles" --seconds "$(( minutes * 60 ))" --json "$json"
