#!/usr/bin/env bash
# Builds the virtual scanner, sets up Training/.venv, generates data, trains, exports and evaluates.
# Not part of CI. Usage: Training/train.sh [minutes]   (default 50)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
minutes="${1:-50}"
cd "$root"
swift build -c release --product spineplan --scratch-path .build-train-release
if [ ! -x "$here/.venv/bin/python" ]; then
    python3.11 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q --upgrade pip
    # The CPU-only wheel is much smaller; fall back to PyPI's torch when its index is unreachable.
    "$here/.venv/bin/pip" install -q torch==2.15.0 --index-url https://download.pytorch.org/whl/cpu || true
    "$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
fi
py="$here/.venv/bin/python"
mkdir -p "$here/out"
cd "$here"
[ -f cache/train-info.json ] || "$py" -m spineplan_train.data --set train
"$py" -m spineplan_train.train --minutes "$minutes"
[ -f cache/eval-synth-info.json ] || "$py" -m spineplan_train.data --set eval-synth
[ -f cache/eval-real-info.json ] || "$py" -m spineplan_train.data --set eval-real
"$py" -m spineplan_train.export --fixture-source cache/eval-synth/phantom-900000.npz
"$py" -m spineplan_train.evaluate --set eval-synth --set eval-real
