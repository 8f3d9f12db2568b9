#!/usr/bin/env bash
# Receive path against DCMTK's storescp, same sender and files, interleaved (issue 15 point 2): a 12-slice 256²
# localizer (7 sagittal + 5 coronal) and 90 slices at 512² (the sagittal stacks of 6 patients, 15 each, in one
# association: the scanner makes at most 15). Usage: Benchmarks/receive-vs-storescp.sh [runs]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
runs="${1:-10}"
"$root/scripts/bootstrap.sh"
swift build -c release --product spineplan
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin=.build/release/spineplan
$bin synth --out "$work/small" --seed 5100 --count 1 --sagittal-slices 7 --matrix 256 >/dev/null
$bin synth --out "$work/large" --seed 5101 --count 6 --sagittal-slices 15 --matrix 512 >/dev/null
pick() {  # the stacks named by prefix of every synthetic session under a folder
    local from="$1" to="$2"; shift 2
    mkdir -p "$to"
    for case in "$from"/*/; do
        for prefix in "$@"; do
            for f in "$case"localizer/"$prefix"_*; do cp "$f" "$to/$(basename "$case")-$(basename "$f")"; done
        done
    done
}
pick "$work/small" "$work/case-12x256" sag cor
pick "$work/large" "$work/case-90x512" sag
"${SPINEPLAN_VENV:-$root/.venv}/bin/python" Benchmarks/receive_vs_storescp.py --spineplan "$bin" --runs "$runs" \
    --case "12x256=$work/case-12x256" --case "90x512=$work/case-90x512" --json out/bench/receive-vs-storescp.json
