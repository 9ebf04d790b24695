#!/usr/bin/env bash
# cdmsa against its peers, in one command: onnxruntime on the same models and inputs
# (benches/compare_onnxruntime.py) and SCALE-Sim v2 on the same layers
# (benches/compare_scalesim.py). Each script installs what it needs with pip (pinned) and
# prints its ratios. Arguments go to compare_scalesim.py (e.g. --full).
#
#   bash benches/compare.sh            # SCALE-Sim on a subset of ResNet-50's layers
#   bash benches/compare.sh --full     # every layer (about half an hour of SCALE-Sim)
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
echo "== onnxruntime =="
python3 benches/compare_onnxruntime.py || status=$?
echo
echo "== SCALE-Sim v2 =="
python3 benches/compare_scalesim.py "$@" || status=$?
exit "$status"
