#!/usr/bin/env bash
# The GPU check, one command, under 8 minutes on one H100-class card:
#   1. installs what the GPU image lacks (wheels carried in .whl/, made here by bench/gpu_wheels.sh),
#   2. runs the tests that need CUDA (tests/learn/test_cuda.py: bf16 = fp32 decisions except recorded near-ties,
#      CAMs on CUDA = CAMs on CPU, DDP over NCCL with one process),
#   3. times training, inference and Grad-CAM for ResNet-18 and ResNet-101 (python -m bench.bench_gpu),
# and writes bench/results/gpu.json (figures) and gpu_tests.jsonl (the tests' figures), or $OUT/ when set.
#
#   bash bench/gpu_check.sh             on a GPU machine
#   bash bench/gpu_check.sh --dry-run   anywhere: the same steps on the CPU with tiny sizes (CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
DRY=""
[[ "${1:-}" == "--dry-run" ]] && DRY="--dry-run"
RESULTS="${OUT:-bench/results}"
[[ -n "$DRY" ]] && RESULTS="${VOWELCAM_DRY_RUN_DIR:-$(mktemp -d)}"
mkdir -p "$RESULTS"

if [[ -z "$DRY" ]] && compgen -G ".whl/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
"$PY" -c "import torch, vowelcam; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"

export VOWELCAM_GPU_REPORT="$RESULTS/gpu_tests.jsonl"
rm -f "$VOWELCAM_GPU_REPORT"
if [[ -z "$DRY" ]]; then
  "$PY" -m pytest -q -p no:cacheprovider tests/learn/test_cuda.py
  "$PY" -m bench.bench_gpu --compile --out "$RESULTS/gpu.json"
else
  "$PY" -m pytest -q -p no:cacheprovider tests/learn/test_cuda.py  # all skipped without CUDA: proves they import
  "$PY" -m bench.bench_gpu --dry-run --out "$RESULTS/gpu.json"
fi
echo "gpu_check: results in $RESULTS"
