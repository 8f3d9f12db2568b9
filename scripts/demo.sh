#!/usr/bin/env bash
# The main job: installs what it needs, builds SpinePlan, and runs the end-to-end demo on embedded defaults:
# `spineplan serve` on loopback, a pynetdicom console sending a synthetic 3-plane localizer, the SR and overlay back.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/bootstrap.sh"
swift build -c release --product spineplan
python="${SPINEPLAN_VENV:-$root/.venv}/bin/python"
exec "$python" "$root/scripts/demo.py" --spineplan "$root/.build/release/spineplan" --out "$root/out/demo" "$@"
