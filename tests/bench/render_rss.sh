#!/bin/bash
# render_rss.sh - benchmark (numbers, not a test): peak RSS and wall time of
# `siemfwd render` over one large input in the three shapes it reads - a JSON
# array, an API page ({"value": [...]}) and JSON lines - built from the Graph
# alerts of tests/data/graph-alerts_v2.json repeated with distinct ids. Output
# goes to /dev/null; nothing is asserted. Temp dir removed at the end (KEEP=1
# keeps it).
#
# Use a build without sanitizers:
#   cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release -DSIEMFWD_TESTS=OFF
#   cmake --build build-rel -j2 --target siemfwd
#   SIEMFWD=$PWD/build-rel/siemfwd tests/bench/render_rss.sh
# Knobs (env): SIZE_MB (77: input size per shape), MAP (formats/maps/cef-defender.yaml),
# FORMAT (cef), BASELINE (a second siemfwd binary, e.g. an older build, measured
# the same way on the same files).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIEMFWD=${SIEMFWD:-$SRC/build/siemfwd}
SIZE_MB=${SIZE_MB:-77}
MAP=${MAP:-$SRC/formats/maps/cef-defender.yaml}
FORMAT=${FORMAT:-cef}
for bin in "$SIEMFWD" ${BASELINE:+"$BASELINE"}; do
    if [ ! -x "$bin" ]; then
        echo "siemfwd not found: $bin (set SIEMFWD / BASELINE)" >&2
        exit 2
    fi
done
if [ ! -x /usr/bin/time ]; then
    echo "/usr/bin/time (GNU time) is needed for the peak RSS" >&2
    exit 2
fi
DIR=$(mktemp -d)
if [ "${KEEP:-0}" != 1 ]; then
    trap 'rm -rf "$DIR"' EXIT
fi

python3 - "$SRC/tests/data/graph-alerts_v2.json" "$DIR" "$SIZE_MB" <<'PY'
import json, sys
src, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3]) * 1000 * 1000
alerts = json.load(open(src))["value"]
def gen():
    n, total = 0, 0
    while total < size:
        for a in alerts:
            a = dict(a, id="%s-%09d" % (a["id"][:24], n))
            s = json.dumps(a, separators=(",", ":"))
            total += len(s) + 2
            n += 1
            yield s
            if total >= size:
                return
lines = list(gen())
with open(out + "/array.json", "w") as f:
    f.write("[\n" + ",\n".join(lines) + "\n]\n")
with open(out + "/page.json", "w") as f:
    f.write('{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2",'
            '"value":[' + ",".join(lines) + "]}\n")
with open(out + "/lines.jsonl", "w") as f:
    f.write("\n".join(lines) + "\n")
print("input: %d alerts, %.1f MB per shape" % (len(lines), sum(map(len, lines)) / 1e6))
PY

measure() { # label binary file
    local rc=0 kb secs
    /usr/bin/time -o "$DIR/time" -f '%M %e' "$2" render -m "$MAP" --format "$FORMAT" "$3" \
        >/dev/null 2>"$DIR/err" || rc=$?
    read -r kb secs <"$DIR/time"
    printf '%-10s %-12s %8.1f MB %8.2f s  exit %d\n' "$1" "$(basename "$3")" \
        "$(awk "BEGIN { print $kb / 1024 }")" "$secs" "$rc"
}

echo "load: $(uptime | sed 's/.*load average: //')"
printf '%-10s %-12s %11s %10s\n' binary input 'peak RSS' wall
for f in array.json page.json lines.jsonl; do
    [ -n "${BASELINE:-}" ] && measure baseline "$BASELINE" "$DIR/$f"
    measure siemfwd "$SIEMFWD" "$DIR/$f"
done
