#!/usr/bin/python3
"""Check CEF lines with an independent parser (liblognorm's lognormalizer).

Usage: check_cef.py CEF_FILE FIELDS_FILE
CEF_FILE holds rendered lines; FIELDS_FILE the `siemfwd render --fields`
output for the same alerts (the map's values before escaping). Every line
must parse, and every parsed extension value must equal the source value
after the renderer's documented changes: controls other than CR/LF (C1,
U+2028 and U+2029 included) become a space, trailing spaces are trimmed,
and an over-long value may be cut (then it must be a prefix).
liblognorm 2.0.6 (Debian 12) drops the first character of the first
extension key unless a space follows the 7th unescaped '|': we insert one
here, in the test only.
"""
import json
import subprocess
import sys
import tempfile


def space_after_header(line):
    out, bars, i = [], 0, 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            out.append(line[i:i + 2])
            i += 2
            continue
        out.append(c)
        if c == "|":
            bars += 1
            if bars == 7:
                out.append(" ")
        i += 1
    return "".join(out)


def is_control(ch):
    """C0, DEL, C1 (NEL among them), U+2028 and U+2029: all become a space."""
    o = ord(ch)
    return o < 0x20 or 0x7f <= o <= 0x9f or o in (0x2028, 0x2029)


def expected_value(v, keep_crlf=True):
    """Source value as the renderer must write it: controls become a space,
    except CR/LF in extension values (escaped as \\r, \\n); trailing spaces
    of an extension value are trimmed (formats/maps/README.md)."""
    out = "".join(" " if is_control(ch) and not (keep_crlf and ch in "\r\n")
                  else ch for ch in v)
    return out.rstrip(" ") if keep_crlf else out


def main():
    cef_lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
    fields = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
    if len(cef_lines) != len(fields):
        sys.exit(f"FAIL: {len(cef_lines)} CEF lines but {len(fields)} field records")
    with tempfile.NamedTemporaryFile("w", suffix=".rb", delete=False) as rb:
        rb.write("version=2\nrule=:%cef:cef%\n")
    feed = "\n".join(space_after_header(l) for l in cef_lines) + "\n"
    res = subprocess.run(["lognormalizer", "-r", rb.name, "-e", "json"],
                         input=feed.encode("utf-8"), capture_output=True, check=True)
    parsed = [json.loads(l) for l in res.stdout.decode("utf-8").splitlines() if l.strip()]
    if len(parsed) != len(cef_lines):
        sys.exit(f"FAIL: lognormalizer printed {len(parsed)} records for {len(cef_lines)} lines")
    bad = 0
    for n, (p, src) in enumerate(zip(parsed, fields), 1):
        if "cef" not in p:
            print(f"line {n}: lognormalizer could not parse it: {cef_lines[n-1][:200]}")
            bad += 1
            continue
        ext = p["cef"]["Extensions"]
        want = {k: expected_value(v) for k, v in src["fields"].items()
                if expected_value(v) != ""}
        if set(ext) != set(want):
            print(f"line {n}: keys differ: extra {sorted(set(ext) - set(want))} "
                  f"missing {sorted(set(want) - set(ext))}")
            bad += 1
        for k in sorted(set(ext) & set(want)):
            got, exp = ext[k], want[k]
            if got != exp and not (len(got) < len(exp) and exp.startswith(got)):
                print(f"line {n}: {k}: parsed {got[:80]!r} != source {exp[:80]!r}")
                bad += 1
        name = expected_value(src["header"].get("name", ""), keep_crlf=False)
        if p["cef"]["Name"] != name and not name.startswith(p["cef"]["Name"]):
            print(f"line {n}: Name: parsed {p['cef']['Name'][:80]!r} != {name[:80]!r}")
            bad += 1
    if bad:
        sys.exit(f"FAIL: {bad} differences")
    print(f"ok: {len(cef_lines)} CEF lines parsed by lognormalizer, values match the source")


if __name__ == "__main__":
    main()
