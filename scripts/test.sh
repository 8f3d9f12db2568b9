#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds, and runs every test against real peers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)
"$root/scripts/bootstrap.sh"
export SPINEPLAN_PYTHON="${SPINEPLAN_VENV:-$root/.venv}/bin/python"
# Several test suites load the model in one process; spinning OpenMP threads (the default) starved the suites that
# need the cooperative pool (a model load took 10 minutes in one full run). The daemon's unit sets the same.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
swift build --build-tests
swift test --skip-build --parallel --num-workers 2 "$@"
echo "test.sh: finished in $(( $(date +%s) - start )) s"
