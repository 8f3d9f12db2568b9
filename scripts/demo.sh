#!/usr/bin/env bash
# The main job: installs what it needs, builds SpinePlan, and runs the end-to-end demo on embedded defaults.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/bootstrap.sh"
swift build -c release --product spineplan
export SPINEPLAN_PYTHON="${SPINEPLAN_VENV:-$root/.venv}/bin/python"
exec "$root/.build/release/spineplan" demo "$@"
