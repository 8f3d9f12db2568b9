#!/usr/bin/env bash
# Every speed figure in one run on one machine (issue 15 point 5): CPU and flags, inference, receive against storescp,
# end to end from the first and the last slice at three sizes, 1/2/4/8 consoles, start-up and RSS; written into
# Docs/performance.md between its bench:all markers. Usage: Benchmarks/all.sh [--sessions N] [--no-write]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/bootstrap.sh"
swift build -c release --product spineplan
swift build -c release --package-path Benchmarks --product LocalizerBenchmark
export OMP_WAIT_POLICY=passive
exec "${SPINEPLAN_VENV:-$root/.venv}/bin/python" Benchmarks/all.py "$@"
