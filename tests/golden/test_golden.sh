#!/usr/bin/env bash
# Golden files: every sample of Microsoft's documented responses, hostile
# alerts (make_hostile.py) and real-world shapes (inputs/) -> exact expected
# CEF and LEEF bytes (tests/golden/expected/). Every
# CEF line is also parsed by lognormalizer and compared with the source values.
# SF_UPDATE_GOLDEN=1 rewrites the expected files (review the diff!).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${SF_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
bin=${SIEMFWD:?set SIEMFWD to the siemfwd binary}
maps=$src/formats/maps
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/in"
cp "$src"/tests/data/*.json "$tmp/in/"
# real-world shapes (issue 10 A): long ids, odd evidence, bad times, placeholders
cp "$here"/inputs/*.json "$tmp/in/"
/usr/bin/python3 "$here/make_hostile.py" "$src/tests/data/graph-alerts_v2.json" "$tmp/in"

fail=0
for in in "$tmp"/in/*.json; do
  name=$(basename "$in" .json)
  case "$name" in
    graph-*) kind=defender ;;
    mde-*) kind=mde ;;
    siem-*) kind=siem ;;
    *) echo "no map for $name"; exit 1 ;;
  esac
  for fmt in cef leef; do
    out="$tmp/$name.$fmt"
    # exit 1 is allowed: hostile input may hold alerts that cannot render
    "$bin" render -m "$maps/$fmt-$kind.yaml" --tenant golden \
      --tenant-id 11111111-2222-3333-4444-555555555555 "$in" >"$out" 2>"$out.err" || true
    exp="$here/expected/$name.$fmt"
    if [ -n "${SF_UPDATE_GOLDEN:-}" ]; then
      if [ "$(wc -c <"$out")" -gt 65536 ]; then
        sha256sum <"$out" | cut -d' ' -f1 >"$exp.sha256"; rm -f "$exp"
      else
        cp "$out" "$exp"; rm -f "$exp.sha256"
      fi
      continue
    fi
    if [ -f "$exp.sha256" ]; then
      if [ "$(sha256sum <"$out" | cut -d' ' -f1)" != "$(cat "$exp.sha256")" ]; then
        echo "FAIL $name.$fmt: output hash differs from $exp.sha256"; fail=1
      fi
    elif ! cmp -s "$out" "$exp"; then
      echo "FAIL $name.$fmt differs from expected:"; diff "$exp" "$out" | head -20 || true
      cat "$out.err"; fail=1
    fi
  done
  # independent parser over the CEF lines, against the map's source values
  "$bin" render -m "$maps/cef-$kind.yaml" --fields --tenant golden \
    --tenant-id 11111111-2222-3333-4444-555555555555 "$in" >"$tmp/$name.fields" 2>/dev/null || true
  if [ -s "$tmp/$name.cef" ]; then
    if ! /usr/bin/python3 "$here/check_cef.py" "$tmp/$name.cef" "$tmp/$name.fields" >"$tmp/chk" 2>&1; then
      echo "FAIL $name.cef with lognormalizer:"; cat "$tmp/chk"; fail=1
    fi
  fi
done
[ -n "${SF_UPDATE_GOLDEN:-}" ] && { echo "golden files rewritten"; exit 0; }
n=$(ls "$tmp"/in/*.json | wc -l)
[ $fail -eq 0 ] && echo "ok: $n inputs x {cef,leef} match the golden files; CEF parsed by lognormalizer"
exit $fail
