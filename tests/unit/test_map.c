/* test_map.c - the field-map engine (formats/map_*.c): path syntax and
 * walking, every transform, labels, missing / null / array / object values,
 * header slots, and each compile error with its exact FILE:LINE: path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_map.h"

static const struct sf_tenant_info tenant = { "contoso", "00000000-0000-0000-0000-000000000001" };

/* Compile yaml (named t.yaml); on failure the error text goes to err. */
static struct sf_map *compile_kind(const char *yaml, enum sf_map_kind kind, char *err,
                                   size_t errlen)
{
    struct sf_doc *doc = NULL;
    struct sf_map *m = NULL;
    err[0] = '\0';
    assert_int_equal(sf_yaml_load_string("t.yaml", yaml, strlen(yaml), &doc, err, errlen), SF_OK);
    sf_err rc = sf_map_compile(doc->root, kind, &m, err, errlen);
    sf_doc_free(doc);
    if (rc) {
        assert_int_equal(rc, SF_ERR_CONFIG);
        assert_null(m);
        return NULL;
    }
    return m;
}

/* A CEF map whose fields: list starts at line 4. */
static char *cef_map(const char *fields)
{
    static char buf[8192];
    snprintf(buf, sizeof(buf),
             "format: cef\n"
             "header: {vendor: V, product: P, version: \"1\", event_id: E, name: N, severity: \"5\"}\n"
             "fields:\n%s", fields);
    return buf;
}

static void expect_error(const char *yaml, enum sf_map_kind kind, const char *want)
{
    char err[4096];
    struct sf_map *m = compile_kind(yaml, kind, err, sizeof(err));
    if (m) {
        sf_map_free(m);
        fail_msg("compiled, expected: %s", want);
    }
    assert_string_equal(err, want);
}

static struct sf_map *compile_ok(const char *yaml, enum sf_map_kind kind)
{
    char err[4096];
    struct sf_map *m = compile_kind(yaml, kind, err, sizeof(err));
    if (!m)
        fail_msg("compile failed: %s", err);
    return m;
}

/* Evaluate and dump the fields as "key=value\n" lines. */
static const char *eval_dump(const struct sf_map *m, const char *alert_json,
                             struct sf_record *r)
{
    static char out[8192];
    char err[256];
    json_object *alert = json_tokener_parse(alert_json);
    assert_non_null(alert);
    assert_int_equal(sf_map_eval(m, alert, &tenant, r, err, sizeof(err)), SF_OK);
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        const struct sf_field *f = &r->fields[i];
        assert_int_equal(strlen(sf_record_val(r, f)), f->len);
        k += (size_t)snprintf(out + k, sizeof(out) - k, "%s=%s\n", f->key, sf_record_val(r, f));
    }
    json_object_put(alert);
    return out;
}

/* One-shot: compile the fields as a CEF map, evaluate on alert, compare. */
static void check(const char *fields, const char *alert, const char *want)
{
    struct sf_map *m = compile_ok(cef_map(fields), SF_MAP_CEF);
    struct sf_record r;
    sf_record_init(&r);
    assert_string_equal(eval_dump(m, alert, &r), want);
    sf_record_free(&r);
    sf_map_free(m);
}

static const char *ALERT =
    "{\"id\":\"a1\",\"title\":\"T\",\"severity\":\"High\",\"n\":42,\"neg\":-7,\"f\":1.5,"
    "\"yes\":true,\"no\":false,\"nil\":null,\"empty\":\"\",\"obj\":{\"a\":1,\"b\":\"x/y\"},"
    "\"arr\":[\"T1\",\"T2\",null,\"\",\"T3\"],\"nums\":[1,2],\"odd.key\":\"dotted\","
    "\"created\":\"2021-04-27T12:19:27.7211305Z\",\"badtime\":\"yesterday\","
    "\"fqdn\":\"host1.corp.contoso.com\",\"short\":\"host2\",\"ip\":\"10.1.2.3\","
    "\"utf\":\"h\xc3\xa9llo\",\"mixed\":\"MiXeD\","
    "\"evidence\":["
    "{\"@odata.type\":\"#microsoft.graph.security.mailboxEvidence\",\"remediationStatus\":\"none\"},"
    "{\"@odata.type\":\"#microsoft.graph.security.futureEvidence\",\"deviceDnsName\":\"wrong\"},"
    "{\"@odata.type\":\"#microsoft.graph.security.deviceEvidence\",\"deviceDnsName\":\"pc1.contoso.com\","
    "\"remediationStatus\":\"none\",\"loggedOnUsers\":[{\"accountName\":\"liz\",\"domainName\":\"CONTOSO\"},"
    "{\"accountName\":\"jay\",\"domainName\":\"CONTOSO\"}],\"rank\":3},"
    "{\"@odata.type\":\"#microsoft.graph.security.fileEvidence\",\"remediationStatus\":\"Remediated\","
    "\"fileDetails\":{\"fileName\":\"a.exe\",\"sha1\":null}},"
    "{\"@odata.type\":\"#microsoft.graph.security.deviceEvidence\",\"deviceDnsName\":\"pc2\",\"rank\":4}"
    "]}";

/* ---- paths ---- */

static void test_paths(void **state)
{
    (void)state;
    check("  - {key: cs1, path: obj.b}\n"
          "  - {key: cs2, path: \"arr[0]\"}\n"
          "  - {key: cs3, path: \"arr[-1]\"}\n"
          "  - {key: cs4, path: \"arr[9]\"}\n"
          "  - {key: cs5, path: \"arr[-9]\"}\n"
          "  - {key: cs6, path: \"['odd.key']\"}\n"
          "  - {key: msg, path: \"[\\\"title\\\"]\"}\n"
          "  - {key: act, path: \"evidence[@odata.type=#microsoft.graph.security.deviceEvidence].deviceDnsName\"}\n"
          "  - {key: dhost, path: \"evidence[rank=4].deviceDnsName\"}\n"
          "  - {key: shost, path: \"evidence[@odata.type=#MICROSOFT.graph.security.DEVICEEVIDENCE].rank\"}\n"
          "  - {key: duser, path: \"evidence['@odata.type'='#microsoft.graph.security.fileEvidence'].fileDetails['fileName']\"}\n"
          "  - {key: suser, path: \"evidence[2].loggedOnUsers[-1].accountName\"}\n"
          "  - {key: reason, path: \"evidence[@odata.type=#nothing].deviceDnsName\"}\n"
          "  - {key: outcome, path: title.deeper}\n"
          "  - {key: app, path: \"obj[0]\"}\n"    /* an object is a list of one */
          "  - {key: proto, path: \"obj[1]\"}\n"
          "  - {key: type, path: \"title[0]\"}\n",
          ALERT,
          "cs1=x/y\ncs2=T1\ncs3=T3\ncs6=dotted\nmsg=T\nact=pc1.contoso.com\ndhost=pc2\n"
          "shost=3\nduser=a.exe\nsuser=jay\napp={\"a\":1,\"b\":\"x/y\"}\n");
}

static void test_path_fallback(void **state)
{
    (void)state;
    /* nil (null), empty ("") and absent paths do not yield; the first that does wins */
    check("  - {key: cs1, path: [nil, empty, absent, \"evidence[3].fileDetails.sha1\", title, id]}\n"
          "  - {key: cs2, path: [nil, absent]}\n"
          "  - {key: cs3, path: [\"evidence[*].nothing\", id], transform: [{join: \",\"}]}\n",
          ALERT, "cs1=T\ncs3=a1\n");
}

static void test_path_errors(void **state)
{
    (void)state;
    static const struct {
        const char *path, *msg;
    } cases[] = {
        { "a..b", "bad path 'a..b': expected a member name at column 3" },
        { ".a", "bad path '.a': expected a member name at column 1" },
        { "a.", "bad path 'a.': expected a member name at column 3" },
        { "a[", "bad path 'a[': expected a number, '*', a quoted key or member=value at column 3" },
        { "a[0", "bad path 'a[0': missing ']' at column 2" },
        { "a[0x]", "bad path 'a[0x]': expected ']' at column 4" },
        { "a[]", "bad path 'a[]': expected a number, '*', a quoted key or member=value at column 3" },
        { "a[x]", "bad path 'a[x]': expected a number, '*', a quoted key or member=value at column 3" },
        { "a[=x]", "bad path 'a[=x]': empty member name before '=' at column 3" },
        { "a[x=]", "bad path 'a[x=]': empty match value after '=' at column 5" },
        { "a[-0]", "bad path 'a[-0]': index -0 is not allowed (use 0 or -1) at column 3" },
        { "a['b]", "bad path 'a['b]': unterminated quote at column 3" },
        { "a]", "bad path 'a]': unexpected ']' at column 2" },
        { "a[0]b", "bad path 'a[0]b': expected '.' or '[' at column 5" },
        { "a.[0]", "bad path 'a.[0]': expected a member name at column 3" },
        { "a[99999999]", "bad path 'a[99999999]': index out of range at column 3" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char fields[256], want[512];
        snprintf(fields, sizeof(fields), "  - {key: cat, path: \"%s\"}\n", cases[i].path);
        snprintf(want, sizeof(want), "t.yaml:4: fields[0].path: %s", cases[i].msg);
        expect_error(cef_map(fields), SF_MAP_CEF, want);
    }
    expect_error(cef_map("  - {key: cat, path: \"\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].path: bad path '': empty path at column 1");
    /* in a list of paths the index is part of the key path, the line is the item's */
    expect_error(cef_map("  - key: cat\n    path:\n      - ok\n      - \"b[\"\n"), SF_MAP_CEF,
                 "t.yaml:7: fields[0].path[1]: bad path 'b[': expected a number, '*', a "
                 "quoted key or member=value at column 3");
}

/* ---- values and transforms ---- */

static void test_value_types(void **state)
{
    (void)state;
    check("  - {key: cn1, path: n}\n"
          "  - {key: cn2, path: neg}\n"
          "  - {key: cfp1, path: f}\n"
          "  - {key: cs1, path: yes}\n"
          "  - {key: cs2, path: no}\n"
          "  - {key: cs3, path: obj}\n"
          "  - {key: cs4, path: arr}\n"
          "  - {key: cs5, path: nil}\n"
          "  - {key: cs6, path: empty}\n"
          "  - {key: msg, path: nums}\n",
          ALERT,
          "cn1=42\ncn2=-7\ncfp1=1.5\ncs1=true\ncs2=false\ncs3={\"a\":1,\"b\":\"x/y\"}\n"
          "cs4=[\"T1\",\"T2\",null,\"\",\"T3\"]\nmsg=[1,2]\n");
}

static void test_constants_and_templates(void **state)
{
    (void)state;
    check("  - {key: cs1, value: plain text}\n"
          "  - {key: cs2, value: \"${tenant.name}/${tenant.id}\"}\n"
          "  - {key: cs3, value: \"https://x/alerts/${id}?n=${n}&o=${obj.b}$[&m=${absent}]\"}\n"
          "  - {key: cs4, value: \"cost $$5 and $${literal} $$[x] [y] ${id}\"}\n"
          "  - {key: cs5, value: \"${['odd.key']}\", transform: [upper]}\n",
          ALERT,
          "cs1=plain text\ncs2=contoso/00000000-0000-0000-0000-000000000001\n"
          "cs3=https://x/alerts/a1?n=42&o=x/y\ncs4=cost $$5 and ${literal} $[x] [y] a1\n"
          "cs5=DOTTED\n");
}

/* Regression: "suid=\\" / "suid=\\bob" for a logged-on user without a domain
 * or an account name, and ".../alerts/ID?tid=" without aadTenantId. A
 * missing required reference drops the value; $[...] drops only its part. */
static void test_template_no_half_values(void **state)
{
    (void)state;
    const char *suid = "  - {key: suid, path: \"u[*]\", transform: "
                       "[{template: \"$[${d}\\\\]${a}\"}, {join: \"; \"}]}\n";
    check(suid, "{\"u\":[{\"d\":\"C\",\"a\":\"liz\"},{\"a\":\"bob\"},{\"d\":\"C\"},"
          "{\"d\":\"\",\"a\":\"jay\"},{}]}", "suid=C\\liz; bob; jay\n");
    check(suid, "{\"u\":[{\"d\":\"C\"},{\"d\":null,\"a\":\"\"}]}", "");
    check(suid, "{\"u\":[\"text\"]}", "");        /* not an object: no members */
    const char *url = "  - {key: request, value: \"https://s/alerts/${id}$[?tid=${t}]\"}\n";
    check(url, "{\"id\":\"a1\",\"t\":\"T1\"}", "request=https://s/alerts/a1?tid=T1\n");
    check(url, "{\"id\":\"a1\"}", "request=https://s/alerts/a1\n");
    check(url, "{\"id\":\"a1\",\"t\":null}", "request=https://s/alerts/a1\n");
    check(url, "{\"t\":\"T1\"}", "");              /* no id: no link at all */
    /* a missing required reference leaves the value to default: */
    check("  - {key: msg, value: \"a ${x} b\", default: none}\n"
          "  - {key: act, value: \"$[${x}]$[${y}$]]-${z}\"}\n"
          "  - {key: cat, value: \"$[<${x}|${y}>]\"}\n",
          "{\"y\":2,\"z\":\"z\"}", "msg=none\nact=2]-z\n");
    /* tenant variables count as references too */
    struct sf_map *m = compile_ok(cef_map("  - {key: cs1, value: \"t=${tenant.name}\"}\n"
                                          "  - {key: cs2, value: \"x$[/${tenant.id}]\"}\n"),
                                  SF_MAP_CEF);
    struct sf_record r;
    char err[128];
    json_object *a = json_tokener_parse("{}");
    sf_record_init(&r);
    assert_int_equal(sf_map_eval(m, a, NULL, &r, err, sizeof(err)), SF_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(sf_record_val(&r, &r.fields[0]), "x");
    json_object_put(a);
    sf_record_free(&r);
    sf_map_free(m);
}

static void test_time_transforms(void **state)
{
    (void)state;
    check("  - {key: rt, path: created, transform: [epoch_ms]}\n"
          "  - {key: start, path: n, transform: [epoch_ms]}\n"
          "  - {key: end, path: badtime, transform: [epoch_ms]}\n"
          "  - {key: cs1, path: created, transform: [{time_format: \"%Y-%m-%dT%H:%M:%S\"}]}\n"
          "  - {key: cs2, path: created, transform: [{time_format: \"%b %d %Y %H:%M:%S.%L %%L\"}]}\n"
          "  - {key: cs3, path: badtime, transform: [{time_format: \"%Y\"}], default: none}\n",
          ALERT,
          "rt=1619525967721\nstart=42\ncs1=2021-04-27T12:19:27\n"
          "cs2=Apr 27 2021 12:19:27.721 %L\ncs3=none\n");
}

static void test_case_lookup(void **state)
{
    (void)state;
    const char *yaml =
        "format: cef\n"
        "tables:\n"
        "  sev: {informational: 3, low: 3, medium: 5, high: 8, _default: 0}\n"
        "  nodef: {a: b}\n"
        "header: {vendor: V, product: P, version: \"1\", event_id: E, name: N,\n"
        "         severity: {path: severity, transform: [lower, {lookup: sev}]}}\n"
        "fields:\n"
        "  - {key: cs1, path: mixed, transform: [lower]}\n"
        "  - {key: cs2, path: mixed, transform: [upper]}\n"
        "  - {key: cs3, path: severity, transform: [{lookup: sev}]}\n"
        "  - {key: cs4, path: title, transform: [{lookup: nodef}]}\n"
        "  - {key: cs5, path: n, transform: [{lookup: {\"42\": answer}}]}\n"
        "  - {key: cs6, path: title, transform: [{lookup: {T: ~, _default: x}}], default: gone}\n";
    struct sf_map *m = compile_ok(yaml, SF_MAP_CEF);
    struct sf_record r;
    sf_record_init(&r);
    /* lookup is exact: "High" is not "high", so the _default applies */
    assert_string_equal(eval_dump(m, ALERT, &r),
                        "cs1=mixed\ncs2=MIXED\ncs3=0\ncs4=T\ncs5=answer\ncs6=gone\n");
    assert_true(r.hdr[SF_HDR_SEVERITY].present);
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_SEVERITY]), "8");
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_VENDOR]), "V");
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_VERSION]), "1");
    sf_record_free(&r);
    sf_map_free(m);
}

static void test_host_domain(void **state)
{
    (void)state;
    check("  - {key: shost, path: fqdn, transform: [host]}\n"
          "  - {key: sourceDnsDomain, path: fqdn, transform: [domain]}\n"
          "  - {key: dhost, path: short, transform: [host]}\n"
          "  - {key: destinationDnsDomain, path: short, transform: [domain]}\n"
          "  - {key: dvchost, path: ip, transform: [host]}\n"
          "  - {key: deviceDnsDomain, path: ip, transform: [domain], default: none}\n"
          "  - {key: cs1, path: fqdn, transform: [domain, domain, upper]}\n",
          ALERT,
          "shost=host1\nsourceDnsDomain=corp.contoso.com\ndhost=host2\ndvchost=10.1.2.3\n"
          "deviceDnsDomain=none\ncs1=CONTOSO.COM\n");
}

static void test_bool01_default_truncate_affix(void **state)
{
    (void)state;
    check("  - {key: cn1, path: yes, transform: [bool01]}\n"
          "  - {key: cn2, path: no, transform: [bool01]}\n"
          "  - {key: cn3, value: \"TRUE\", transform: [bool01]}\n"
          "  - {key: cs1, value: \"0\", transform: [bool01]}\n"
          "  - {key: cs2, path: nums, transform: [first]}\n"
          "  - {key: cs3, path: title, transform: [bool01], default: maybe-not}\n"
          "  - {key: cs4, path: nil, transform: [{default: was-null}]}\n"
          "  - {key: cs5, path: empty, transform: [{default: was-empty}, upper]}\n"
          "  - {key: cs6, path: utf, transform: [{truncate: 2}]}\n"
          "  - {key: msg, path: utf, transform: [{truncate: 5}, {prefix: \"<\"}, {suffix: \">\"}]}\n"
          "  - {key: act, path: absent, transform: [{prefix: x}]}\n"
          "  - {key: cat, path: title, transform: [{default: unused}]}\n",
          ALERT,
          "cn1=1\ncn2=0\ncn3=1\ncs1=0\ncs2=1\ncs3=maybe-not\ncs4=was-null\ncs5=WAS-EMPTY\n"
          "cs6=h\xc3\xa9\nmsg=<h\xc3\xa9llo>\ncat=T\n");
}

static void test_reducers(void **state)
{
    (void)state;
    check("  - {key: cs1, path: \"arr[*]\", transform: [{join: \"; \"}]}\n"
          "  - {key: cs2, path: arr, transform: [{join: \"|\"}]}\n"
          "  - {key: cs3, path: title, transform: [{join: \",\"}]}\n"
          "  - {key: cs4, path: \"arr[*]\", transform: [lower, {prefix: \"#\"}, join, upper]}\n"
          "  - {key: cn1, path: \"evidence[*].remediationStatus\", transform: [{any: [remediated, blocked]}]}\n"
          "  - {key: cn2, path: \"evidence[*].remediationStatus\", transform: [{any: [prevented]}]}\n"
          "  - {key: cn3, path: absent, transform: [{any: [x]}]}\n"
          "  - {key: cs5, path: \"nums[*]\", transform: [{any: [x]}]}\n"
          "  - {key: cs6, path: \"arr[*]\", transform: [{prefix: \"x\"}, {any: [xt2]}]}\n"
          "  - {key: msg, path: \"evidence[*].nothing\", transform: [{any: [x]}], default: \"-\"}\n"
          "  - {key: cfp1, path: \"evidence[*]\", transform: [count]}\n"
          "  - {key: cfp2, path: \"evidence[*].deviceDnsName\", transform: [host, first]}\n"
          "  - {key: cfp3, path: \"nums[*]\", transform: [count]}\n"
          "  - {key: cfp4, path: title, transform: [{any: [t]}]}\n"
          "  - {key: suid, path: \"evidence[*].loggedOnUsers[*]\", transform: "
          "[{template: \"${domainName}\\\\${accountName}\"}, {join: \"; \"}]}\n"
          "  - {key: suser, path: \"evidence[*].loggedOnUsers[*]\", transform: [first, {template: \"${accountName}@${tenant.name}\"}]}\n"
          "  - {key: duser, path: \"evidence[*].loggedOnUsers[*]\", transform: [{join: \",\"}]}\n"
          "  - {key: dntdom, path: \"nothing[*]\", transform: [{join: \",\"}], default: none}\n",
          ALERT,
          "cs1=T1; T2; T3\ncs2=T1|T2|T3\ncs3=T\ncs4=#T1, #T2, #T3\ncn1=1\ncn2=0\ncs5=0\ncs6=1\nmsg=-\n"
          "cfp1=5\ncfp2=wrong\ncfp3=2\ncfp4=1\nsuid=CONTOSO\\liz; CONTOSO\\jay\nsuser=liz@contoso\n"
          "duser={\"accountName\":\"liz\",\"domainName\":\"CONTOSO\"},"
          "{\"accountName\":\"jay\",\"domainName\":\"CONTOSO\"}\ndntdom=none\n");
}

/* Regression: "evidence": {...} (a one-element list written as its
 * element) lost every evidence field; {} stays empty. */
static void test_lone_object_is_a_list_of_one(void **state)
{
    (void)state;
    const char *f =
        "  - {key: shost, path: \"evidence[@odata.type=#dev].name\"}\n"
        "  - {key: cs1, path: \"evidence[*].status\", transform: [{join: \",\"}]}\n"
        "  - {key: cs2, path: \"evidence[0].name\"}\n"
        "  - {key: cs3, path: \"evidence[-1].name\"}\n"
        "  - {key: cs4, path: \"evidence[1].name\", default: none}\n"
        "  - {key: cfp1, path: \"evidence[*]\", transform: [count]}\n"
        "  - {key: suid, path: \"evidence[*].users[*]\", transform: [{template: \"${a}\"}, join]}\n";
    check(f, "{\"evidence\":{\"@odata.type\":\"#dev\",\"name\":\"pc1\",\"status\":\"ok\","
          "\"users\":{\"a\":\"liz\"}}}",
          "shost=pc1\ncs1=ok\ncs2=pc1\ncs3=pc1\ncs4=none\ncfp1=1\nsuid=liz\n");
    check(f, "{\"evidence\":{}}", "cs4=none\ncfp1=0\n");
    check(f, "{\"evidence\":{\"@odata.type\":\"#other\",\"name\":\"pc1\"}}",
          "cs2=pc1\ncs3=pc1\ncs4=none\ncfp1=1\n");
}

static void test_unknown_evidence_skipped(void **state)
{
    (void)state;
    /* mailbox / future evidence types neither match nor break the walk */
    check("  - key: shost\n"
          "    path: \"evidence[@odata.type=#microsoft.graph.security.deviceEvidence].deviceDnsName\"\n"
          "    transform: [host]\n"
          "  - key: fname\n"
          "    path: \"evidence[@odata.type=#microsoft.graph.security.processEvidence].imageFile.fileName\"\n"
          "  - {key: cs1, path: \"evidence[*].fileDetails.fileName\", transform: [{join: \",\"}]}\n",
          ALERT, "shost=pc1\ncs1=a.exe\n");
    check("  - {key: shost, path: \"evidence[@odata.type=#x].a\"}\n"
          "  - {key: cs1, path: \"evidence[*].a\", transform: [{join: \",\"}]}\n",
          "{\"evidence\":\"not-an-array\"}", "");
}

static void test_labels(void **state)
{
    (void)state;
    check("  - {key: cs1, label: ThreatName, path: absent}\n"
          "  - {key: cs2, label: TenantId, value: \"${tenant.id}\"}\n"
          "  - {key: cs3, label: Nil, path: nil}\n"
          "  - {key: cat, path: title}\n"
          "  - {key: cn1, label: Count, path: n}\n",
          ALERT,
          "cs2=00000000-0000-0000-0000-000000000001\ncs2Label=TenantId\ncat=T\ncn1=42\n"
          "cn1Label=Count\n");
}

static void test_header_and_reuse(void **state)
{
    (void)state;
    const char *yaml =
        "format: cef\n"
        "header:\n"
        "  vendor: Microsoft\n"
        "  product: \"Defender for ${tenant.name}\"\n"
        "  version: 2.0\n"
        "  event_id: {path: absent, default: unknown}\n"
        "  name: {path: title}\n"
        "  severity: {path: absent}\n"
        "fields:\n"
        "  - {key: cat, path: title}\n";
    struct sf_map *m = compile_ok(yaml, SF_MAP_CEF);
    struct sf_record r;
    sf_record_init(&r);
    assert_string_equal(eval_dump(m, ALERT, &r), "cat=T\n");
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_PRODUCT]), "Defender for contoso");
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_VERSION]), "2.0");
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_EVENT_ID]), "unknown");
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_NAME]), "T");
    assert_false(r.hdr[SF_HDR_SEVERITY].present);
    /* a second alert into the same record starts from scratch */
    assert_string_equal(eval_dump(m, "{\"title\":\"second\"}", &r), "cat=second\n");
    assert_int_equal(r.n, 1);
    assert_string_equal(sf_record_val(&r, &r.hdr[SF_HDR_NAME]), "second");
    /* no tenant info: a template needing a tenant variable is missing */
    char err[128];
    json_object *a = json_tokener_parse("{}");
    assert_int_equal(sf_map_eval(m, a, NULL, &r, err, sizeof(err)), SF_OK);
    assert_false(r.hdr[SF_HDR_PRODUCT].present);
    json_object_put(a);
    /* not an object */
    a = json_tokener_parse("[1,2]");
    assert_int_equal(sf_map_eval(m, a, &tenant, &r, err, sizeof(err)), SF_ERR_INVALID);
    assert_string_equal(err, "alert is not a JSON object");
    json_object_put(a);
    sf_record_free(&r);
    sf_map_free(m);
}

static void test_leef_opts(void **state)
{
    (void)state;
    struct sf_render_opts o = { .max_len = 77, .leef_version = 9, .leef_delim = '?' };
    struct sf_map *m = compile_ok("format: leef\nleef_version: 2\ndelimiter: x5E\n"
                                  "header: {vendor: V, product: P, version: \"1\", event_id: E}\n"
                                  "fields:\n  - {key: customKey1, path: id}\n", SF_MAP_LEEF);
    sf_map_render_opts(m, &o);
    assert_int_equal(o.leef_version, 2);
    assert_int_equal(o.leef_delim, '^');
    assert_int_equal(o.max_len, 77);
    sf_map_free(m);
    m = compile_ok("format: leef\nleef_version: 1\n"
                   "header: {vendor: V, product: P, version: \"1\", event_id: E}\nfields: []\n",
                   SF_MAP_LEEF);
    sf_map_render_opts(m, &o);
    assert_int_equal(o.leef_version, 1);
    assert_int_equal(o.leef_delim, '\t');
    sf_map_free(m);
}

/* ---- compile errors ---- */

static void test_errors_top_level(void **state)
{
    (void)state;
    expect_error("format: cef\nfromat: x\nheader: {vendor: V, product: P, version: \"1\", "
                 "event_id: E, name: N, severity: \"5\"}\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:2: fromat: unknown key (did you mean 'format'?)");
    expect_error("format: leef\nheader: {vendor: V, product: P, version: \"1\", event_id: E}\n"
                 "fields: []\n", SF_MAP_CEF,
                 "t.yaml:1: format: this is a leef map, but a cef map is needed here");
    expect_error("format: ceff\nheader: {vendor: V, product: P, version: \"1\", event_id: E, "
                 "name: N, severity: \"5\"}\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:1: format: expected cef or leef (did you mean 'cef'?)");
    expect_error("header: {vendor: V, product: P, version: \"1\", event_id: E, name: N, "
                 "severity: \"5\"}\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:1: format: missing (cef or leef)");
    expect_error("- a\n- b\n", SF_MAP_CEF,
                 "t.yaml:1: a field map is a mapping with format:, header: and fields:, got a list");
    expect_error("format: cef\nheader: {vendor: V, product: P, version: \"1\", event_id: E, "
                 "name: N, severity: \"5\"}\nfields:\n  key: cat\n", SF_MAP_CEF,
                 "t.yaml:4: fields: expected a list, got a mapping");
    expect_error("format: cef\nheader: {vendor: V, product: P, version: \"1\", event_id: E, "
                 "name: N, severity: \"5\"}\n", SF_MAP_CEF,
                 "t.yaml:1: fields: missing (a list of {key: ..., path: ...})");
    expect_error("format: cef\nleef_version: 2\nheader: {vendor: V, product: P, version: \"1\", "
                 "event_id: E, name: N, severity: \"5\"}\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:2: leef_version: only for format: leef");
}

static void test_errors_header(void **state)
{
    (void)state;
    expect_error("format: cef\nheader:\n  vendor: V\n  product: P\n  version: \"1\"\n"
                 "  name: N\n  severity: \"5\"\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:3: header: missing 'event_id'");
    expect_error("format: cef\nheader: x\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:2: header: expected a mapping, got a scalar");
    expect_error("format: leef\nheader:\n  vendor: V\n  product: P\n  version: \"1\"\n"
                 "  event_id: E\n  name: N\nfields: []\n", SF_MAP_LEEF,
                 "t.yaml:7: header.name: LEEF has no name header field (use a field: e.g. title)");
    expect_error("format: cef\nheader:\n  vendor: V\n  product: P\n  version: \"1\"\n"
                 "  event_id: E\n  name: N\n  severity: \"5\"\n  vendr: X\nfields: []\n",
                 SF_MAP_CEF, "t.yaml:9: header.vendr: unknown key (did you mean 'vendor'?)");
    expect_error("format: cef\nheader:\n  vendor: [a, b]\n  product: P\n  version: \"1\"\n"
                 "  event_id: E\n  name: N\n  severity: \"5\"\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:3: header.vendor: expected a text value, got a list");
    expect_error("format: cef\nheader:\n  vendor: V\n  product: P\n  version: \"1\"\n"
                 "  event_id: {pth: id}\n  name: N\n  severity: \"5\"\nfields: []\n", SF_MAP_CEF,
                 "t.yaml:6: header.event_id.pth: unknown key (did you mean 'path'?)\n"
                 "t.yaml:6: header.event_id: needs path: or value:");
}

static void test_errors_fields(void **state)
{
    (void)state;
    expect_error(cef_map("  - {key: cat, pth: category}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].pth: unknown key (did you mean 'path'?)\n"
                 "t.yaml:4: fields[0]: needs path: or value:");
    expect_error(cef_map("  - {key: cat, path: a, value: b}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0]: give either path: or value:, not both");
    expect_error(cef_map("  - {path: a}\n"), SF_MAP_CEF, "t.yaml:4: fields[0]: missing key:");
    expect_error(cef_map("  - cat\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0]: a field is a mapping with key: and path: or value:, "
                 "got a scalar");
    expect_error(cef_map("  - {key: cat, path: a}\n  - {key: msg, path: b}\n"
                         "  - {key: cat, path: c}\n"), SF_MAP_CEF,
                 "t.yaml:6: fields[2].key: duplicate key 'cat' (already written by line 4)");
    expect_error(cef_map("  - {key: cs1Label, value: x}\n  - {key: cs1, label: L, path: b}\n"),
                 SF_MAP_CEF,
                 "t.yaml:5: fields[1].label: duplicate key 'cs1Label' (already written by line 4)");
    expect_error(cef_map("  - {key: cs1, label: \"\", path: b}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].label: empty label");
    expect_error(cef_map("  - {key: catt, path: a}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].key: 'catt' is not a CEF extension key (did you mean 'cat'?)");
    expect_error(cef_map("  - {key: rawEvent, path: a}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].key: CEF key 'rawEvent' is set by ArcSight after "
                 "ingestion (consumer key) and must not be sent");
    expect_error("format: leef\nheader: {vendor: V, product: P, version: \"1\", event_id: E}\n"
                 "fields:\n  - {key: \"bad key\", path: a}\n", SF_MAP_LEEF,
                 "t.yaml:4: fields[0].key: LEEF key 'bad key': character 0x20 at offset 3 is "
                 "not allowed (keys are [A-Za-z0-9_])");
    expect_error(cef_map("  - {key: cat, path: \"a[*]\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0]: path yields a list ([*]): add a join, any, count or "
                 "first transform");
    expect_error(cef_map("  - {key: cat, path: {a: b}}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].path: expected a path or a list of paths");
    expect_error(cef_map("  - {key: cat, path: a, default: ~}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].default: default: needs a value");
}

static void test_errors_transforms(void **state)
{
    (void)state;
    expect_error(cef_map("  - {key: cat, path: a}\n  - {key: msg, path: b}\n"
                         "  - {key: act, path: c}\n"
                         "  - key: app\n    path: d\n    transform: [host, lowr]\n"), SF_MAP_CEF,
                 "t.yaml:9: fields[3].transform[1]: unknown transform 'lowr' (did you mean 'lower'?)");
    expect_error(cef_map("  - {key: cat, path: a, transform: [{lookup: sevv}]}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].transform[0]: unknown lookup table 'sevv' (tables: are "
                 "declared at the top of the map)");
    expect_error("format: cef\ntables:\n  sev: {a: 1}\n"
                 "header: {vendor: V, product: P, version: \"1\", event_id: E, name: N, severity: \"5\"}\n"
                 "fields:\n  - {key: cat, path: a, transform: [{lookup: sevv}]}\n", SF_MAP_CEF,
                 "t.yaml:6: fields[0].transform[0]: unknown lookup table 'sevv' (did you mean 'sev'?)");
    expect_error(cef_map("  - {key: cat, path: a, transform: [join, {lookup: {a: [1]}}]}\n"),
                 SF_MAP_CEF, "t.yaml:4: fields[0].transform[1].a: expected a string, got a list");
    expect_error(cef_map("  - {key: cat, path: a, transform: [lookup]}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].transform[0]: transform 'lookup' needs an argument "
                 "({lookup: ...})");
    expect_error(cef_map("  - {key: cat, path: a, transform: [{lower: x}]}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].transform[0]: transform 'lower' takes no argument "
                 "(write it as a plain name)");
    expect_error(cef_map("  - {key: cat, path: a, transform: [{truncate: 0}]}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].transform[0]: truncate: '0' is not a length in 1..1000000");
    expect_error(cef_map("  - {key: cat, path: a, transform: [{truncate: 5, upper: 1}]}\n"),
                 SF_MAP_CEF, "t.yaml:4: fields[0].transform[0]: a transform is a name or a "
                 "mapping with one key (e.g. {lookup: severity}), got 2 keys");
    expect_error(cef_map("  - {key: cat, path: a, transform: [[lower]]}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].transform[0]: a transform is a name or a one-key "
                 "mapping, got a list");
    expect_error(cef_map("  - {key: cat, path: a, transform: [{any: {a: b}}]}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].transform[0]: any: expected a list of values");
    expect_error(cef_map("  - {key: cat, path: a, transform: [{time_format: \"\"}]}\n"),
                 SF_MAP_CEF, "t.yaml:4: fields[0].transform[0]: time_format: '' is empty or "
                 "produces no text");
    expect_error(cef_map("  - {key: cat, value: \"${tenant.nme}\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].value: unknown variable '${tenant.nme}' (did you mean "
                 "'${tenant.name}'?)");
    expect_error(cef_map("  - {key: cat, value: \"a ${id\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].value: unclosed '${' at column 3");
    expect_error(cef_map("  - {key: cat, value: \"${a[*]}\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].value: '${a[*]}': a list path ([*]) cannot be used in "
                 "a template");
    expect_error(cef_map("  - {key: cat, value: \"${a}$[x${b}\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].value: unclosed '$[' at column 5 (end the optional "
                 "group with ']', write $] for a literal ']' inside it)");
    expect_error(cef_map("  - {key: cat, value: \"$[${a}$[${b}]]\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].value: '$[' at column 7: optional groups do not nest "
                 "(the group opened at column 1 is still open)");
    expect_error(cef_map("  - {key: cat, value: \"${a}$[?x=1]\"}\n"), SF_MAP_CEF,
                 "t.yaml:4: fields[0].value: the optional group '$[' at column 5 holds no "
                 "${...}, so it would always be written");
    expect_error(cef_map("  - key: cat\n    path: a\n    transform: [{template: \"$[${d}\"}]\n"),
                 SF_MAP_CEF, "t.yaml:6: fields[0].transform[0]: unclosed '$[' at column 1 (end "
                 "the optional group with ']', write $] for a literal ']' inside it)");
}

static void test_errors_leef_options(void **state)
{
    (void)state;
    const char *rest = "header: {vendor: V, product: P, version: \"1\", event_id: E}\nfields: []\n";
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "format: leef\nleef_version: 3\n%s", rest);
    expect_error(yaml, SF_MAP_LEEF, "t.yaml:2: leef_version: expected 1 or 2");
    snprintf(yaml, sizeof(yaml), "format: leef\nleef_version: 1\ndelimiter: \"^\"\n%s", rest);
    expect_error(yaml, SF_MAP_LEEF,
                 "t.yaml:3: delimiter: LEEF 1.0 always uses TAB; a delimiter needs leef_version: 2");
    snprintf(yaml, sizeof(yaml), "format: leef\ndelimiter: \"==\"\n%s", rest);
    expect_error(yaml, SF_MAP_LEEF, "t.yaml:2: delimiter: expected one character or a hex "
                 "code like x5E or 0x09 (not '=', CR or LF)");
}

static void test_errors_several(void **state)
{
    (void)state;
    /* every problem is reported, one line each, in document order */
    expect_error(cef_map("  - {key: cat, path: \"a[\"}\n"
                         "  - {key: msg, path: b, transform: [nope]}\n"
                         "  - {key: act, path: c, transform: [{lookup: t}]}\n"),
                 SF_MAP_CEF,
                 "t.yaml:4: fields[0].path: bad path 'a[': expected a number, '*', a quoted "
                 "key or member=value at column 3\n"
                 "t.yaml:5: fields[1].transform[0]: unknown transform 'nope'\n"
                 "t.yaml:6: fields[2].transform[0]: unknown lookup table 't' (tables: are "
                 "declared at the top of the map)");
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_map_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "format: cef\nheader: {vendor: V, product: P, version: \"1\", "
                       "event_id: E, name: N, severity: \"5\"}\nfields:\n  - {key: cat, path: \"a[\"}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct sf_map *m = NULL;
    char err[512], want[600];
    assert_int_equal(sf_map_load(path, SF_MAP_CEF, &m, err, sizeof(err)), SF_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s:4: fields[0].path: bad path 'a[': expected a number, "
             "'*', a quoted key or member=value at column 3", path);
    assert_string_equal(err, want);
    assert_null(m);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sf_map_load(path, SF_MAP_CEF, &m, err, sizeof(err)), SF_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s:1: the field map is empty", path);
    assert_string_equal(err, want);
    unlink(path);
    assert_int_not_equal(sf_map_load("/nonexistent/map.yaml", SF_MAP_CEF, &m, err, sizeof(err)),
                         SF_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_path_fallback),
        cmocka_unit_test(test_path_errors),
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_constants_and_templates),
        cmocka_unit_test(test_template_no_half_values),
        cmocka_unit_test(test_time_transforms),
        cmocka_unit_test(test_case_lookup),
        cmocka_unit_test(test_host_domain),
        cmocka_unit_test(test_bool01_default_truncate_affix),
        cmocka_unit_test(test_reducers),
        cmocka_unit_test(test_lone_object_is_a_list_of_one),
        cmocka_unit_test(test_unknown_evidence_skipped),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_header_and_reuse),
        cmocka_unit_test(test_leef_opts),
        cmocka_unit_test(test_errors_top_level),
        cmocka_unit_test(test_errors_header),
        cmocka_unit_test(test_errors_fields),
        cmocka_unit_test(test_errors_transforms),
        cmocka_unit_test(test_errors_leef_options),
        cmocka_unit_test(test_errors_several),
        cmocka_unit_test(test_load_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
