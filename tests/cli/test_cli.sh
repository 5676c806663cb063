#!/usr/bin/env bash
# test_cli.sh - the command line as a user meets it: exit codes 0/1/2,
# `siemfwd check` naming FILE:LINE: key for broken configs and maps,
# `render` skipping a bad alert with its position, help, version, consent-url.
set -uo pipefail
src=${SF_SOURCE_DIR:?}
bin=${SIEMFWD:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

expect() { # expect EXIT_CODE GREP_PATTERN -- command...
  local want=$1 pat=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [ "$rc" -ne "$want" ]; then bad "$* -> exit $rc, want $want"; cat "$tmp/err" | head -5; return; fi
  if [ -n "$pat" ] && ! grep -qE -- "$pat" "$tmp/out" "$tmp/err"; then
    bad "$* -> output lacks /$pat/"; head -5 "$tmp/out" "$tmp/err"; return; fi
  ok "$* (exit $rc)"
}

expect 0 "^usage: siemfwd" -- "$bin" --help
expect 0 "^siemfwd [0-9]+\.[0-9]+" -- "$bin" --version
expect 2 "unknown command" -- "$bin" frobnicate
expect 2 "^usage: siemfwd check" -- "$bin" check
expect 0 "^https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent\?client_id=abc" -- \
  "$bin" consent-url --client-id abc --tenant contoso.onmicrosoft.com

# broken configs: exit 2 and FILE:LINE: key: message
cfgdir=$src/tests/data/config
expect 2 "bad-unknown-key.yaml:[0-9]+: .*unknown key.*did you mean" -- "$bin" check -c "$cfgdir/bad-unknown-key.yaml"
expect 2 "bad-duration.yaml:[0-9]+: " -- "$bin" check -c "$cfgdir/bad-duration.yaml"
expect 2 "bad-range.yaml:[0-9]+: .*out of range" -- "$bin" check -c "$cfgdir/bad-range.yaml"
expect 2 "bad-yaml.yaml:[0-9]+: " -- "$bin" check -c "$cfgdir/bad-yaml.yaml"
expect 2 "bad-output-ref.yaml:[0-9]+: " -- "$bin" check -c "$cfgdir/bad-output-ref.yaml"
# source-dependent keys: checked by the source types after loading, same FILE:LINE form
expect 2 "bad-sources.yaml:10: tenants\[0\]\.source: 'grpah' is not one of graph, mde, siem" -- "$bin" check -c "$cfgdir/bad-sources.yaml"
expect 2 "bad-sources.yaml:20: tenants\[3\]: source siem needs api_base" -- "$bin" check -c "$cfgdir/bad-sources.yaml"
expect 2 "cannot open" -- "$bin" check -c "$tmp/missing.yaml"

# a config whose map is broken: the map's FILE:LINE is named
cat >"$tmp/broken-map.yaml" <<'EOM'
format: cef
header: {vendor: V, product: P, version: "1", event_id: {path: id}, name: {path: title}, severity: "5"}
fields:
  - {key: cat, path: category}
  - {key: msg, path: description, transform: [lowr]}
EOM
cat >"$tmp/cfg.yaml" <<EOM
state_dir: $tmp/state
tenants:
  - {name: t1, tenant_id: 00000000-0000-0000-0000-000000000001, client_id: x, client_secret: y}
formats:
  - {name: cef, type: cef, map: $tmp/broken-map.yaml}
outputs:
  - {name: out, type: file, format: cef, path: $tmp/out.cef}
  - {name: syslog, type: syslog, format: cef, address: "127.0.0.1:70000"}
EOM
chmod 600 "$tmp/cfg.yaml"
expect 2 "broken-map.yaml:5: fields\[1\]\.transform\[0\]: unknown transform 'lowr'.*lower" -- "$bin" check -c "$tmp/cfg.yaml"
expect 2 "cfg.yaml:8: outputs\[1\]\.address" -- "$bin" check -c "$tmp/cfg.yaml"
sed -i 's/lowr/lower/; s/70000/6514/' "$tmp/broken-map.yaml" "$tmp/cfg.yaml"
expect 0 "ok \(1 tenants, 1 formats, 2 outputs\)" -- "$bin" check -c "$tmp/cfg.yaml"

# render: samples render; a bad alert is reported with its position and skipped
maps=$src/formats/maps
expect 0 "^CEF:0\|Microsoft\|" -- "$bin" render -m "$maps/cef-defender.yaml" "$src/tests/data/graph-alerts_v2.json"
expect 0 "^LEEF:2.0\|Microsoft\|" -- "$bin" render -m "$maps/leef-mde.yaml" "$src/tests/data/mde-api-alerts.json"
expect 0 '"tenant":\{"name":"default"' -- "$bin" render --format json "$src/tests/data/siem-api-alerts.json"
printf '{"id":"a1","title":"one"}\n[1,2]\n{"id": broken\n{"id":"a2","title":"two"}\n' >"$tmp/mixed.jsonl"
expect 1 ":3: malformed JSON" -- "$bin" render -m "$maps/cef-defender.yaml" "$tmp/mixed.jsonl"
n=$(grep -c '^CEF:0' "$tmp/out"); [ "$n" -eq 2 ] && ok "render kept the 2 good alerts" || bad "render printed $n CEF lines, want 2"
grep -q "alert 2.*not a JSON object" "$tmp/err" && ok "render names alert 2 (not an object)" || bad "render did not name alert 2"
expect 1 "" -- "$bin" render -m "$maps/cef-defender.yaml" "$tmp/nonexistent.json"
exit $fail
