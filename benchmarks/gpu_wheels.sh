#!/usr/bin/env bash
# Download the wheels of benchmarks/gpu_wheels.txt into .whl/ (ignored by git) for the device run:
# Python 3.12, manylinux x86_64 or pure Python, no dependencies (the list is the closure).
# Usage: bash benchmarks/gpu_wheels.sh [PYTHON]   (PYTHON: a python with pip; default python3)
# Then `benchmarks/gpu_device.sh` on the device installs .whl/*.whl into /tmp/site.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-python3}
mkdir -p .whl
mapfile -t reqs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' benchmarks/gpu_wheels.txt | grep -v '^$')
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_34_x86_64 -d .whl "${reqs[@]}" 2>&1 | { grep -v "is ignored: it is neither" || true; }
# one version of each: a wheel left from an older list would stop the install on the device
for w in .whl/*.whl; do
    name=$(basename "$w" | cut -d- -f1 | tr 'A-Z_.' 'a-z--')
    printf '%s\n' "${reqs[@]}" | cut -d= -f1 | tr 'A-Z_.' 'a-z--' | grep -qx "$name" \
        || { echo "removing $w (not in gpu_wheels.txt)"; rm -f "$w"; }
done
n=$(ls .whl/*.whl | wc -l)
[ "$n" -eq "${#reqs[@]}" ] || { echo "expected ${#reqs[@]} wheels in .whl, found $n" >&2; exit 1; }
du -ch .whl/*.whl | tail -1
