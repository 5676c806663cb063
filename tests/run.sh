#!/usr/bin/env bash
# run.sh - the whole test suite: install dependencies, build with
# AddressSanitizer + UBSan, run every unit, golden, fuzz-replay and
# integration test. Usage: bash tests/run.sh [ctest -R pattern]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash packaging/deps.sh
build=${SF_BUILD:-build-test}
cmake -S . -B "$build" -DSIEMFWD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
args=(--test-dir "$build" --output-on-failure --timeout 900)
[ $# -gt 0 ] && args+=(-R "$1")
ctest "${args[@]}"
