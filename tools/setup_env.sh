#!/usr/bin/env bash
# Idempotent set-up of the project's environment in .venv/ (see docs/get_started.md).
#
# 1. creates .venv with Python 3.11 (the Python the on-disk torch wheels are built for);
# 2. installs the pinned stack from requirements/pins.txt (the one place where versions live);
# 3. builds mmcv with its compiled ops from the source distribution, once per torch version, and keeps
#    the wheel in a cache outside the repository ($LCNET_MM_CACHE, default ~/.cache/lcnet-mm) so that
#    later set-ups and CI runs on the same machine reuse it;
# 4. installs lcnet-mm itself in editable mode with its test extra (pytest, ruff, timm, the runtimes).
# A second run when nothing changed only checks that the environment imports, and returns in seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PINS="$ROOT/requirements/pins.txt"
CACHE="${LCNET_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lcnet-mm}"
BASE_PYTHON="${LCNET_MM_PYTHON:-python3.11}"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
pin() {  # pin NAME -> version from pins.txt
    local v
    v=$(sed -n "s/^$1==\([^ #]*\).*/\1/p" "$PINS" | head -n 1)
    [ -n "$v" ] || die "no pin for '$1' in $PINS"
    printf '%s' "$v"
}

# The stamp covers everything that decides what gets installed; if it matches and the stack imports,
# there is nothing to do.
stamp=$(cat "$PINS" "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
stamp_file="$VENV/.lcnet-mm-setup"
import_check='import mmcv, mmcv.ops, mmdet.models, mmpretrain.models, mmseg.models, lcnet_mm, onnxruntime, openvino; mmcv.ops.nms'
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] && [ -x "$VENV/bin/ruff" ] \
        && "$VENV/bin/python" -c "$import_check" 2>/dev/null; then
    say "environment in .venv is up to date (pins $stamp)"
    exit 0
fi

command -v "$BASE_PYTHON" >/dev/null || die "$BASE_PYTHON not found; set LCNET_MM_PYTHON to a Python 3.11 interpreter"
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV with $BASE_PYTHON"
    "$BASE_PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
# pip.conf on these machines names index locations that do not exist for most packages; pip warns
# once per package. Those lines say nothing about this project, so they are dropped.
quiet_pip() { "$PY" -m pip --disable-pip-version-check -q "$@" 2> >(grep -v '^WARNING: Location' >&2); }
pip_install() { quiet_pip install -c "$PINS" "$@"; }

TORCH=$(pin torch)
MMCV=$(pin mmcv)
say "installing torch $TORCH, torchvision, setuptools, ninja (first time: ~2 min, 5.5 GB)"
pip_install torch torchvision setuptools ninja numpy wheel

# --- mmcv with compiled ops, one wheel per (torch, python) --------------------------------------
pyver=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
wheel_dir="$CACHE/mmcv-wheels/torch-$TORCH-$pyver"
mkdir -p "$wheel_dir"
find_wheel() { ls "$wheel_dir"/mmcv-"$MMCV"-*.whl 2>/dev/null | head -n 1; }
(
    # Two set-ups at once (a test run beside a training run) must not build twice.
    flock 9
    if [ -z "$(find_wheel)" ]; then
        build_dir=$(mktemp -d "${TMPDIR:-/tmp}/mmcv-build.XXXXXX")
        log="$wheel_dir/build.log"
        say "building mmcv $MMCV with its compiled ops against torch $TORCH."
        say "this happens once per torch version and takes ~14 minutes on 2 cores; log: $log"
        quiet_pip download --no-deps --no-binary :all: \
            "mmcv==$MMCV" -d "$build_dir" || die "could not download the mmcv $MMCV source distribution"
        tar -xzf "$build_dir"/mmcv-"$MMCV".tar.gz -C "$build_dir"
        src="$build_dir/mmcv-$MMCV"
        # torch >= 2.10 headers need C++20; mmcv 2.1.0 hard-codes -std=c++17 for torch > 1.12.
        sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
        grep -q -- '-std=c++20' "$src/setup.py" || die "could not patch the C++ standard in mmcv's setup.py"
        start=$(date +%s)
        if ! MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
                "$PY" -m pip wheel --disable-pip-version-check --no-build-isolation --no-deps \
                -w "$build_dir/wheel" "$src" >"$log" 2>&1; then
            tail -n 30 "$log" >&2
            die "mmcv build failed (full log: $log). Needs gcc >= 10 with C++20, Python headers, and torch $TORCH installed in .venv."
        fi
        built=$(ls "$build_dir"/wheel/mmcv-*.whl)
        # Move into place in one rename so an interrupted build never leaves a half wheel in the cache.
        cp "$built" "$wheel_dir/.partial.whl"
        mv "$wheel_dir/.partial.whl" "$wheel_dir/$(basename "$built")"
        rm -rf "$build_dir"
        say "mmcv built in $(( $(date +%s) - start )) s, cached in $wheel_dir"
    fi
) 9>"$wheel_dir/.lock"
mmcv_wheel=$(find_wheel)
[ -n "$mmcv_wheel" ] || die "no mmcv wheel in $wheel_dir after the build"

say "installing mmcv (cached wheel), mmengine, mmdet, mmpretrain, mmsegmentation and lcnet-mm[test] (+ onnx, onnxruntime, openvino)"
pip_install "$mmcv_wheel" mmengine mmdet mmpretrain mmsegmentation ftfy regex opencv-python
pip_install --no-build-isolation -e "$ROOT[test]"
# Later installs may have moved setuptools; keep the pinned one that still has pkg_resources.
pip_install setuptools

"$PY" -c "$import_check" || die "the environment does not import: $import_check"
[ -x "$VENV/bin/ruff" ] || die "ruff (the linter of make test) is missing from $VENV/bin"
printf '%s' "$stamp" >"$stamp_file"
say "done: $("$PY" -c 'import torch, mmcv, mmdet, mmpretrain, mmseg, mmengine; print(f"torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, mmseg {mmseg.__version__}")')"
