#!/usr/bin/env bash
# Cross-compile the C++ core's portable path for arm64 (aarch64) and run a smoke test of every
# weight/matmul mode under QEMU user emulation: the "builds on arm64" check that this x86-64
# machine can run. The wheel for arm64 itself is cibuildwheel's job (pyproject.toml).
#   needs: g++-aarch64-linux-gnu and qemu-user (Debian: apt-get install g++-aarch64-linux-gnu qemu-user)
#   usage: bash scripts/check_arm64_core.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CXX="${CXX_AARCH64:-aarch64-linux-gnu-g++}"
command -v "$CXX" > /dev/null || { echo "check_arm64_core: $CXX not found (apt-get install g++-aarch64-linux-gnu)" >&2; exit 2; }
command -v qemu-aarch64 > /dev/null || { echo "check_arm64_core: qemu-aarch64 not found (apt-get install qemu-user)" >&2; exit 2; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
# The same portable sources CMakeLists.txt builds on a non-x86 target, with its warnings.
"$CXX" -std=c++17 -O2 -Wall -Wextra -Werror -fno-math-errno -pthread -I"$ROOT/csrc" \
  "$ROOT/csrc/lstm.cpp" "$ROOT/csrc/cpu.cpp" "$ROOT/csrc/parallel.cpp" "$ROOT/csrc/kernels_generic.cpp" \
  "$ROOT/scripts/arm64_core_smoke.cpp" -o "$OUT/smoke"
file "$OUT/smoke" | sed 's/, BuildID.*//'
qemu-aarch64 -L /usr/aarch64-linux-gnu "$OUT/smoke"
