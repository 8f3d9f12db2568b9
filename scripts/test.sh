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
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Unit and integration tests (real peers: pynetdicom, pydicom, highdicom, dciodvfy, DCMTK) in one run. Left out: the
# evaluations that regenerate Docs/ figures from local data when their environment variables are set.
# `--unit` runs only the fast unit tests, `--integration` only the suites against real peers, processes and data
# (`scripts/test-kinds.py` tells them apart from the sources); with neither, both run, as in CI.
kind=()
case "${1:-}" in
    --unit) kind=(--skip "$(python3 "$root/scripts/test-kinds.py" integration)"); shift ;;
    --integration) kind=(--filter "$(python3 "$root/scripts/test-kinds.py" integration)"); shift ;;
esac
status=0
swift test --skip-build --parallel --num-workers 2 --skip 'HeldOutEvaluationTests|OverlayPictureTests' "${kind[@]}" "$@" 2>&1 \
    | tee "$log" || status=$?
python3 "$root/scripts/test-summary.py" < "$log" || status=1
echo "test.sh: finished in $(( $(date +%s) - start )) s"
exit "$status"
