#!/usr/bin/env bash
# demo.sh - set up everything on a fresh Debian 12 machine and run the demo:
# the bundled Defender emulator serves three customer tenants (Graph, MDE,
# SIEM API) over HTTPS with a test CA, and `siemfwd run` pulls their alerts and
# prints them as CEF and LEEF. New alerts keep arriving; Ctrl-C stops both.
# SIEMFWD_DEMO_ONCE=1 runs a single poll cycle and exits (used by the tests).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash packaging/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSIEMFWD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target siemfwd >/dev/null

work=$(mktemp -d /tmp/siemfwd-demo.XXXXXX)
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

sh tests/emulator/mkcerts.sh "$work/certs" >/dev/null
/usr/bin/python3 tests/emulator/defender_emu.py --certdir "$work/certs" --tenants 3 \
  --alerts-per-tenant 4 --history 2h --rate 6 --client-secret demo-secret-value \
  >"$work/emu.out" 2>"$work/emu.log" &
emu_pid=$!
for _ in $(seq 100); do
  grep -q '^READY' "$work/emu.out" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/^READY port=\([0-9]*\).*/\1/p' "$work/emu.out")
[ -n "$port" ] || { echo "emulator did not start:"; cat "$work/emu.log"; exit 1; }

export SIEMFWD_DEMO_URL="https://127.0.0.1:$port"
export SIEMFWD_DEMO_CA="$work/certs/ca.crt"
export SIEMFWD_DEMO_SECRET=demo-secret-value
export SIEMFWD_DEMO_STATE="$work/state"
echo "# Defender emulator on $SIEMFWD_DEMO_URL with 3 tenants; Ctrl-C to stop" >&2
once=()
[ -n "${SIEMFWD_DEMO_ONCE:-}" ] && once=(--once)
./build/siemfwd run -c config/examples/demo.yaml "${once[@]}"
