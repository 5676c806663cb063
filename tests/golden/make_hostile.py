#!/usr/bin/python3
"""Write the hostile Graph alerts_v2 inputs for the golden tests into DIR.

Each file is one API page ({"value": [...]}) built from Microsoft's documented
sample with one hostile change, so the expected CEF/LEEF bytes differ from the
sample only where the hostility is. Deterministic: same bytes every run.
Usage: make_hostile.py SAMPLE_JSON DIR
"""
import copy
import json
import sys

sample_path, out_dir = sys.argv[1], sys.argv[2]
base = json.load(open(sample_path))["value"][0]


def write(name, alert, raw=None):
    path = f"{out_dir}/graph-hostile-{name}.json"
    with open(path, "wb") as f:
        if raw is not None:
            f.write(raw)
        else:
            f.write(json.dumps({"value": [alert]}, ensure_ascii=False,
                               indent=1).encode("utf-8"))


def variant(**changes):
    a = copy.deepcopy(base)
    a.update(changes)
    return a


write("pipes-equals", variant(
    title="a|b|c = d|e",
    description="key=value k2=v2 | pipe \\ backslash",
    category="Cat|egory=x"))
write("backslash-end", variant(
    title="ends with backslash\\",
    description="C:\\Windows\\Temp\\",
    detectorId="id\\"))
write("crlf-tabs", variant(
    title="line1\r\nline2\tTabbed",
    description="first line\nsecond\rthird\r\n\tindented\x01\x1f\x7f end"))
write("forged-cef", variant(
    title="CEF:0|Evil|Forged|1|100|Fake alert|10|src=6.6.6.6 act=allowed",
    description="LEEF:2.0|Evil|Forged|1|x|^cat=forged"))
write("huge-description", variant(description="A" * (1024 * 1024)))
write("unicode", variant(
    title="Ünïcödé 漢字 emoji 🛡️ alert",
    description="Ä" * 2000))
write("missing-fields", {"id": "da000000000000000000_1",
                         "lastUpdateDateTime": "2024-01-02T03:04:05.1234567Z"})
write("nulls", variant(title=None, description=None, severity=None,
                       category=None, evidence=None, mitreTechniques=None,
                       createdDateTime=None, alertWebUrl=None))
write("wrong-types", variant(title=12345, description=["a", "b"],
                             severity={"level": "high"}, category=True,
                             mitreTechniques="T1000", evidence={"x": 1}))
ev_unknown = variant()
ev_unknown["evidence"] = [
    {"@odata.type": "#microsoft.graph.security.futureEvidenceKind",
     "createdDateTime": "2021-04-27T12:19:27.7211305Z",
     "verdict": "unknownFutureValue", "strange": {"nested": [1, 2, 3]}},
    {"@odata.type": 17},
    "not an object",
    None,
] + base.get("evidence", [])
write("unknown-evidence", ev_unknown)
write("times", variant(createdDateTime="2024-02-29T23:59:59Z",
                       firstActivityDateTime="2024-02-29T23:59:59.1+02:00",
                       lastActivityDateTime="2024-03-01T00:00:00.1234567-05:30",
                       lastUpdateDateTime="not a time"))
# Invalid UTF-8 bytes inside JSON strings: JSON forbids them but APIs and
# proxies have been seen to produce them; json-c passes them through.
raw = json.dumps({"value": [variant(title="TITLE_MARK", description="DESC_MARK")]},
                 ensure_ascii=False).encode("utf-8")
raw = raw.replace(b"TITLE_MARK", b"bad \xff\xfe bytes \xc3( and \xed\xa0\x80 surrogate")
raw = raw.replace(b"DESC_MARK", b"truncated \xe2\x82 sequence \xf4\x90\x80\x80 end")
write("invalid-utf8", None, raw=raw)
