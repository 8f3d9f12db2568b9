#!/usr/bin/env bash
# Builds the virtual scanner, sets up Training/.venv, generates data, trains, exports and evaluates.
# Not part of CI. Usage: Training/train.sh [minutes]   (stage 1, default 50; stage 2 is 10 more at a lower rate;
# stage 3 is 30 more with SPIDER 2D real T2 slices mixed in: 90 minutes of training in all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
minutes="${1:-50}"
cd "$root"
swift build -c release --product spineplan --scratch-path .build-train-release
if [ ! -x "$here/.venv/bin/python" ]; then
    python3.11 -m venv "$here/.venv"
    "$here/.venv/bin/pip" install -q --upgrade pip
    "$here/.venv/bin/pip" install -q -r "$here/requirements.txt"
fi
py="$here/.venv/bin/python"
mkdir -p "$here/out"
cd "$here"
[ -f cache/train-info.json ] || "$py" -m spineplan_train.data --set train
"$py" -m spineplan_train.train --minutes "$minutes"
cp out/final.pt out/final-stage1.pt
cp out/train-log.json out/train-log-50min.json
"$py" -m spineplan_train.train --minutes 10 --lr 5e-4 --init out/final-stage1.pt
cp out/final.pt out/final-stage2.pt
cp out/train-log.json out/train-log-stage2.json
# Stage 3 adds real clinical T2 (SPIDER 2D, group labels) to what stages 1 and 2 learned.
[ -d cache/spider ] || "$py" -m spineplan_train.spider --cache
"$py" -m spineplan_train.train --minutes 30 --lr 1e-3 --spider-share 0.2 --init out/final-stage2.pt
"$py" -m spineplan_train.record_stages
[ -f cache/eval-synth-info.json ] || "$py" -m spineplan_train.data --set eval-synth
[ -f cache/eval-real-info.json ] || "$py" -m spineplan_train.data --set eval-real
"$py" -m spineplan_train.export --fixture-source cache/eval-synth/phantom-900000.npz
# The abstention threshold belongs to the weights: chosen on the calibration set (never the held-out sets), with
# the fresh sidecar's check still off, and written into that sidecar.
[ -f cache/calibrate-info.json ] || "$py" -m spineplan_train.data --set calibrate
SPINEPLAN_BINARY="$root/.build-train-release/release/spineplan" "$py" -m spineplan_train.evaluate_plans --set calibrate \
    --weights "$root/Sources/SpinePlanModel/Weights/spineplan-vnet.safetensors" \
    --write-threshold "$root/Sources/SpinePlanModel/Weights/spineplan-vnet.json"
"$py" -m spineplan_train.evaluate --set eval-synth --set eval-real
"$py" -m spineplan_train.spider --evaluate
