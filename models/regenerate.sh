#!/usr/bin/env bash
# Regenerate everything under models/ from a clean state:
#   digits/           trained digits CNN (fp32, fp16, int8 QOperator, int8 QDQ) + references
#   onnx-node-tests/  subset of the ONNX backend node tests for the supported ops
#   contrib-tests/    onnxruntime com.microsoft ops (DynamicQuantizeLSTM) + references
#   recurrent-tests/  ONNX LSTM, GRU and RNN cases the node tests leave out + references
#   decoder/          small GPT-2-style decoder with a KV cache + references per decode step
# Usage: bash models/regenerate.sh   (set PYTHON to choose the interpreter; SKIP_INSTALL=1 to skip pip)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
PYTHON="${PYTHON:-python3}"

if [[ "${SKIP_INSTALL:-0}" != "1" ]]; then
  "$PYTHON" -m pip install -r requirements.txt
fi

rm -rf digits onnx-node-tests contrib-tests recurrent-tests decoder
"$PYTHON" make_digits.py
"$PYTHON" fetch_node_tests.py
"$PYTHON" make_contrib_tests.py
"$PYTHON" make_recurrent_tests.py
"$PYTHON" make_decoder.py
