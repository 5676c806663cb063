#!/usr/bin/env bash
# run.sh - the whole test suite: install dependencies, build with
# AddressSanitizer + UBSan, run every unit, golden, fuzz-replay and
# integration test; then the threaded delivery core's tests (test_ledger,
# test_delivery) and the Kafka state backend's (test_state_kafka) again under
# ThreadSanitizer (librdkafka's own races suppressed: tests/tsan.supp).
# Usage: bash tests/run.sh [ctest -R pattern] (a pattern skips the TSan run)
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
[ $# -gt 0 ] && exit 0
tsan=${SF_TSAN_BUILD:-build-tsan}
cmake -S . -B "$tsan" -DSIEMFWD_TSAN=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$tsan" -j"$(nproc)" --target test_ledger test_delivery test_state_kafka
# gcc 12's TSan cannot map its shadow with the kernel's 28+ bits of mmap
# randomisation: run without ASLR (setarch -R), as its docs suggest.
TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$top/tests/tsan.supp} \
    setarch "$(uname -m)" -R ctest --test-dir "$tsan" --output-on-failure --timeout 900 \
    -R '^unit\.test_(ledger|delivery|state_kafka)$'
