#!/usr/bin/env bash
# Wheels of what vowelcam needs and the GPU image lacks (it has torch 2.11, torchvision, numpy, scipy, typer, rich,
# jinja2, matplotlib, pytest), for Python 3.12 on x86-64, into .whl/ (ignored by git; carried by the device tool).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 --platform any -d .whl \
  praat-parselmouth soundfile tomli-w platformdirs cffi pycparser
ls -la .whl
