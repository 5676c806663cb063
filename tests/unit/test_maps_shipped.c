/* test_maps_shipped.c - every map in formats/maps/ compiles for its format
 * (and is refused for the other), and evaluates the matching sample in
 * tests/data/ to the documented field values (defender-api.md §5.1-5.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_map.h"

#define TENANT_ID "11111111-2222-3333-4444-555555555555"
static const struct sf_tenant_info tenant = { "contoso", TENANT_ID };

static const char *srcdir(void)
{
    const char *d = getenv("SF_SOURCE_DIR");
    return d ? d : ".";
}

static struct sf_map *load(const char *name, enum sf_map_kind kind)
{
    char path[1024], err[2048];
    struct sf_map *m = NULL;
    snprintf(path, sizeof(path), "%s/formats/maps/%s", srcdir(), name);
    if (sf_map_load(path, kind, &m, err, sizeof(err)) != SF_OK)
        fail_msg("%s: %s", name, err);
    return m;
}

/* First alert of a sample: {"value": [...]} or a bare array. Caller puts. */
static json_object *sample(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/data/%s", srcdir(), name);
    json_object *doc = json_object_from_file(path), *arr = doc, *alert;
    assert_non_null(doc);
    if (json_object_is_type(doc, json_type_object))
        assert_true(json_object_object_get_ex(doc, "value", &arr));
    alert = json_object_get(json_object_array_get_idx(arr, 0));
    json_object_put(doc);
    assert_non_null(alert);
    return alert;
}

static const char *field(const struct sf_record *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->fields[i].key, key) == 0)
            return sf_record_val(r, &r->fields[i]);
    return NULL;
}

static void expect(const struct sf_record *r, const char *key, const char *want)
{
    const char *got = field(r, key);
    if (!want && got)
        fail_msg("%s: expected absent, got '%s'", key, got);
    if (want && (!got || strcmp(got, want) != 0))
        fail_msg("%s: expected '%s', got '%s'", key, want, got ? got : "(absent)");
}

static void expect_hdr(const struct sf_record *r, enum sf_hdr h, const char *want)
{
    assert_true(r->hdr[h].present);
    assert_string_equal(sf_record_val(r, &r->hdr[h]), want);
}

/* key's label pair comes right after it. */
static void expect_label(const struct sf_record *r, const char *key, const char *label)
{
    char lk[64];
    snprintf(lk, sizeof(lk), "%sLabel", key);
    for (size_t i = 0; i + 1 < r->n; i++) {
        if (strcmp(r->fields[i].key, key) == 0) {
            assert_string_equal(r->fields[i + 1].key, lk);
            assert_string_equal(sf_record_val(r, &r->fields[i + 1]), label);
            return;
        }
    }
    fail_msg("%s not followed by %s", key, lk);
}

static void eval(const struct sf_map *m, json_object *alert, struct sf_record *r)
{
    char err[256];
    if (sf_map_eval(m, alert, &tenant, r, err, sizeof(err)) != SF_OK)
        fail_msg("eval: %s", err);
    for (size_t i = 0; i < r->n; i++)  /* keys are unique within a record */
        for (size_t j = i + 1; j < r->n; j++)
            assert_string_not_equal(r->fields[i].key, r->fields[j].key);
}

static void test_all_compile_for_their_format_only(void **state)
{
    (void)state;
    static const char *const cef[] = { "cef-defender.yaml", "cef-mde.yaml", "cef-siem.yaml" };
    static const char *const leef[] = { "leef-defender.yaml", "leef-mde.yaml", "leef-siem.yaml" };
    char path[1024], err[2048];
    for (int i = 0; i < 3; i++) {
        struct sf_map *m = NULL;
        sf_map_free(load(cef[i], SF_MAP_CEF));
        sf_map_free(load(leef[i], SF_MAP_LEEF));
        snprintf(path, sizeof(path), "%s/formats/maps/%s", srcdir(), cef[i]);
        assert_int_equal(sf_map_load(path, SF_MAP_LEEF, &m, err, sizeof(err)), SF_ERR_CONFIG);
        assert_non_null(strstr(err, "format: this is a cef map, but a leef map is needed here"));
        assert_null(m);
    }
    struct sf_map *m = load("leef-defender.yaml", SF_MAP_LEEF);
    struct sf_render_opts o = { 0 };
    sf_map_render_opts(m, &o);
    assert_int_equal(o.leef_version, 2);
    assert_int_equal(o.leef_delim, '^');
    sf_map_free(m);
}

static void test_cef_defender_graph(void **state)
{
    (void)state;
    struct sf_map *m = load("cef-defender.yaml", SF_MAP_CEF);
    json_object *alert = sample("graph-alerts_v2.json");
    struct sf_record r;
    sf_record_init(&r);
    eval(m, alert, &r);
    expect_hdr(&r, SF_HDR_VENDOR, "Microsoft");
    expect_hdr(&r, SF_HDR_PRODUCT, "Microsoft Defender ATP");
    expect_hdr(&r, SF_HDR_VERSION, "2.0");
    expect_hdr(&r, SF_HDR_EVENT_ID, "e0da400f-affd-43ef-b1d5-afc2eb6f2756");
    expect_hdr(&r, SF_HDR_NAME, "Suspicious execution of hidden file");
    expect_hdr(&r, SF_HDR_SEVERITY, "3");  /* low */
    assert_string_equal(r.fields[0].key, "cat");
    expect(&r, "cat", "DefenseEvasion");
    expect(&r, "sourceServiceName", "antivirus");
    expect(&r, "shost", "tempDns");
    expect(&r, "sourceDnsDomain", NULL);   /* "tempDns" has no domain part */
    expect(&r, "fname", "MsSense.exe");
    expect(&r, "filePath", "C:\\Program Files\\temp");
    expect(&r, "sntdom", "NT AUTHORITY");
    expect(&r, "suser", "SYSTEM");
    expect(&r, "fileHash", "5f1e8acedc065031aad553b710838eb366cfee9a");
    expect(&r, "cs6", "8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec");
    expect_label(&r, "cs6", "Sha256");
    expect(&r, "cs5", NULL);
    expect(&r, "cs5Label", NULL);
    expect(&r, "cs1", NULL);               /* threatDisplayName: null */
    expect(&r, "cs4", NULL);
    expect(&r, "src", NULL);
    expect(&r, "cn1", "1");                /* process evidence: detected */
    expect_label(&r, "cn1", "WasExecutingWhileDetected");
    expect(&r, "cn2", "0");                /* every remediationStatus is none */
    expect_label(&r, "cn2", "RemediationIsSuccess");
    expect(&r, "externalId", "da637551227677560813_-961444813");
    expect(&r, "flexString1", "https://security.microsoft.com/alerts/da637551227677560813_-961444813"
           "?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c");
    expect_label(&r, "flexString1", "LinkToWDATP");
    expect(&r, "rt", "1619525967721");     /* 2021-04-27T12:19:27.7211305Z */
    expect(&r, "suid", NULL);              /* loggedOnUsers: [] */
    expect(&r, "cs2", TENANT_ID);
    expect_label(&r, "cs2", "TenantId");
    expect(&r, "cs3", "da637551227677560813_-961444813");
    expect_label(&r, "cs3", "AlertId");
    expect(&r, "cn3", "28282");
    expect_label(&r, "cn3", "IncidentId");
    expect(&r, "flexString2", "contoso");
    expect(&r, "start", "1619423150116");
    expect(&r, "end", "1619942218222");
    expect(&r, "act", "new");
    expect(&r, "deviceExternalId", "73e7e2de709dff64ef64b1d0c30e67fab63279db");
    expect(&r, "deviceCustomDate1", "1619965141326");
    assert_non_null(strstr(field(&r, "msg"), "A hidden file has been launched."));

    struct sf_buf out;
    struct sf_render_opts o = { 0 };
    char err[256];
    sf_buf_init(&out, 0);
    sf_map_render_opts(m, &o);
    assert_int_equal(sf_render_cef(&r, &o, &out, err, sizeof(err)), SF_OK);
    const char *head = "CEF:0|Microsoft|Microsoft Defender ATP|2.0|"
                       "e0da400f-affd-43ef-b1d5-afc2eb6f2756|Suspicious execution of hidden file|3|"
                       "cat=DefenseEvasion sourceServiceName=antivirus shost=tempDns fname=MsSense.exe "
                       "filePath=C:\\\\Program Files\\\\temp ";
    assert_memory_equal(out.data, head, strlen(head));
    sf_buf_free(&out);

    /* no evidence at all: nothing to say about remediation or the device */
    json_object_object_del(alert, "evidence");
    eval(m, alert, &r);
    expect(&r, "cn2", NULL);
    expect(&r, "cn2Label", NULL);
    expect(&r, "shost", NULL);
    expect(&r, "fname", NULL);
    expect(&r, "rt", "1619525967721");
    sf_record_free(&r);
    json_object_put(alert);
    sf_map_free(m);
}

static json_object *obj(const char *json)
{
    json_object *j = json_tokener_parse(json);
    assert_non_null(j);
    return j;
}

/* The sample enriched with the evidence kinds it lacks. */
static void test_cef_defender_graph_rich(void **state)
{
    (void)state;
    struct sf_map *m = load("cef-defender.yaml", SF_MAP_CEF);
    json_object *alert = sample("graph-alerts_v2.json"), *ev, *dev;
    assert_true(json_object_object_get_ex(alert, "evidence", &ev));
    json_object_object_add(alert, "threatDisplayName", json_object_new_string("HackTool:Win32/Mikatz!dha"));
    json_object_object_add(alert, "actorDisplayName", json_object_new_string("BORON"));
    json_object_object_add(alert, "severity", json_object_new_string("high"));
    dev = json_object_array_get_idx(ev, 0);
    json_object_object_add(dev, "deviceDnsName", json_object_new_string("liz-bean.contoso.com"));
    json_object_object_add(dev, "loggedOnUsers", obj("[{\"accountName\":\"liz-bean\",\"domainName\":"
                           "\"contoso\"},{\"accountName\":\"jay-hardee\",\"domainName\":\"contoso\"}]"));
    json_object_array_add(ev, obj("{\"@odata.type\":\"#microsoft.graph.security.ipEvidence\","
                                  "\"remediationStatus\":\"none\",\"ipAddress\":\"218.90.204.141\"}"));
    json_object_array_add(ev, obj("{\"@odata.type\":\"#microsoft.graph.security.urlEvidence\","
                                  "\"remediationStatus\":\"Prevented\",\"url\":\"http://down.esales360.cn/\"}"));
    json_object_array_add(ev, obj("{\"@odata.type\":\"#microsoft.graph.security.userEvidence\","
                                  "\"userAccount\":{\"accountName\":\"liz.bean\",\"domainName\":\"CONTOSO\"}}"));
    json_object_array_add(ev, obj("{\"@odata.type\":\"#microsoft.graph.security.someFutureEvidence\","
                                  "\"fileDetails\":{\"fileName\":\"wrong.exe\"}}"));
    struct sf_record r;
    sf_record_init(&r);
    eval(m, alert, &r);
    expect_hdr(&r, SF_HDR_SEVERITY, "8");
    expect(&r, "shost", "liz-bean");
    expect(&r, "sourceDnsDomain", "contoso.com");
    expect(&r, "sntdom", "CONTOSO");      /* userEvidence wins over the process account */
    expect(&r, "suser", "liz.bean");
    expect(&r, "fname", "MsSense.exe");
    expect(&r, "cs1", "HackTool:Win32/Mikatz!dha");
    expect_label(&r, "cs1", "ThreatName");
    expect(&r, "cs4", "BORON");
    expect_label(&r, "cs4", "Actor");
    expect(&r, "src", "218.90.204.141");
    expect(&r, "request", "http://down.esales360.cn/");
    expect(&r, "cn2", "1");               /* one evidence was prevented */
    expect(&r, "suid", "contoso\\liz-bean; contoso\\jay-hardee");
    sf_record_free(&r);
    json_object_put(alert);
    sf_map_free(m);
}

static void test_leef_defender_graph(void **state)
{
    (void)state;
    struct sf_map *m = load("leef-defender.yaml", SF_MAP_LEEF);
    json_object *alert = sample("graph-alerts_v2.json");
    struct sf_record r;
    sf_record_init(&r);
    eval(m, alert, &r);
    expect_hdr(&r, SF_HDR_VENDOR, "Microsoft");
    expect_hdr(&r, SF_HDR_EVENT_ID, "e0da400f-affd-43ef-b1d5-afc2eb6f2756");
    assert_false(r.hdr[SF_HDR_NAME].present);
    assert_false(r.hdr[SF_HDR_SEVERITY].present);
    expect(&r, "cat", "DefenseEvasion");
    expect(&r, "sev", "4");
    expect(&r, "devTime", "1619525967721");
    expect(&r, "devTimeFormat", NULL);   /* epoch ms needs none (§2.5) */
    expect(&r, "usrName", "SYSTEM");
    expect(&r, "identSrc", "1.1.1.1");
    expect(&r, "identHostName", "tempDns");
    expect(&r, "alertId", "da637551227677560813_-961444813");
    expect(&r, "tenant", "contoso");
    expect(&r, "tenantId", TENANT_ID);
    expect(&r, "incidentId", "28282");
    expect(&r, "title", "Suspicious execution of hidden file");
    expect(&r, "sha1", "5f1e8acedc065031aad553b710838eb366cfee9a");
    expect(&r, "sha256", "8963a19fb992ad9a76576c5638fd68292cffb9aaac29eb8285f9abf6196a7dec");
    expect(&r, "fileName", "MsSense.exe");
    expect(&r, "filePath", "C:\\Program Files\\temp");
    expect(&r, "threatName", NULL);
    expect(&r, "mitreTechniques", "T1564.001");
    expect(&r, "status", "new");
    expect(&r, "classification", "unknown");
    expect(&r, "alertWebUrl", "https://security.microsoft.com/alerts/da637551227677560813_-961444813"
           "?tid=b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c");
    sf_record_free(&r);
    json_object_put(alert);
    sf_map_free(m);
}

static void test_mde_maps(void **state)
{
    (void)state;
    struct sf_map *m = load("cef-mde.yaml", SF_MAP_CEF);
    json_object *alert = sample("mde-api-alerts.json");
    struct sf_record r;
    sf_record_init(&r);
    eval(m, alert, &r);
    expect_hdr(&r, SF_HDR_EVENT_ID, "17e10bbc-3a68-474a-8aad-faef14d43952");
    expect_hdr(&r, SF_HDR_NAME, "Low-reputation arbitrary code executed by signed executable");
    expect_hdr(&r, SF_HDR_SEVERITY, "3");
    expect(&r, "cat", "Execution");
    expect(&r, "sourceServiceName", "WindowsDefenderAtp");
    expect(&r, "shost", "temp123");
    expect(&r, "sourceDnsDomain", "middleeast.corp.microsoft.com");
    expect(&r, "fname", "suspicious.dll");          /* the File evidence, not the Process */
    expect(&r, "filePath", "c:\\temp");
    expect(&r, "sntdom", "DOMAIN");
    expect(&r, "suser", "temp123");                 /* relatedUser before evidence */
    expect(&r, "fileHash", "8563f95b2f8a284fc99da44500cd51a77c1ff36c");
    expect(&r, "cs6", "dc0ade0c95d6db98882bc8fa6707e64353cd6f7767ff48d6a81a6c2aef21c608");
    expect(&r, "cn1", "1");
    expect(&r, "externalId", "da637472900382838869_1364969609");
    expect(&r, "flexString1", "https://security.microsoft.com/alerts/da637472900382838869_1364969609"
           "?tid=a839b112-1253-6432-9bf6-94542403f21c");
    expect(&r, "rt", "1611693237722");              /* 2021-01-26T20:33:57.7220239Z */
    expect(&r, "cs2", TENANT_ID);
    expect(&r, "cs3", "da637472900382838869_1364969609");
    expect_label(&r, "cs3", "AlertId");
    expect(&r, "cn3", "1126093");                   /* a JSON number here */
    expect_label(&r, "cn3", "IncidentId");
    expect(&r, "start", "1611693092956");
    expect(&r, "end", "1611693093057");
    expect(&r, "act", "New");
    expect(&r, "deviceExternalId", "111e6dd8c833c8a052ea231ec1b19adaf497b625");
    expect(&r, "cs1", NULL);
    sf_map_free(m);

    m = load("leef-mde.yaml", SF_MAP_LEEF);
    eval(m, alert, &r);
    expect(&r, "sev", "4");
    expect(&r, "devTime", "1611693237722");
    expect(&r, "usrName", "temp123");
    expect(&r, "identHostName", "temp123.middleeast.corp.microsoft.com");
    expect(&r, "mitreTechniques", "T1064,T1085,T1220");
    expect(&r, "incidentId", "1126093");
    expect(&r, "tenantId", TENANT_ID);
    expect(&r, "sha1", "8563f95b2f8a284fc99da44500cd51a77c1ff36c");
    expect(&r, "classification", NULL);              /* null */
    expect(&r, "status", "New");
    sf_record_free(&r);
    json_object_put(alert);
    sf_map_free(m);
}

static void test_siem_maps(void **state)
{
    (void)state;
    struct sf_map *m = load("cef-siem.yaml", SF_MAP_CEF);
    json_object *alert = sample("siem-api-alerts.json");
    struct sf_record r;
    sf_record_init(&r);
    eval(m, alert, &r);
    expect_hdr(&r, SF_HDR_EVENT_ID, "b20af1d2-5990-4672-87f1-acc2a8ff7725");
    expect_hdr(&r, SF_HDR_NAME, "Suspicious File Activity");
    expect_hdr(&r, SF_HDR_SEVERITY, "High");        /* documented: as-is */
    expect(&r, "cat", "Malware");
    expect(&r, "sourceServiceName", "EDR");
    expect(&r, "shost", "mymachine1");
    expect(&r, "sourceDnsDomain", "domain.com");
    expect(&r, "fname", "cmdParent.exe");
    expect(&r, "filePath", "C:\\WINDOWS\\SysWOW64\\boo3\\qwerty");
    expect(&r, "fileHash", "aabbccddee1122334455aabbccddee1122334455");
    expect(&r, "cs5", "854b85cbff2752fcb88606bca76f83c6");
    expect_label(&r, "cs5", "Md5");
    expect(&r, "cs6", NULL);                         /* "" is missing */
    expect(&r, "cs4", NULL);
    expect(&r, "suser", NULL);
    expect(&r, "cn1", NULL);                         /* null: not known */
    expect(&r, "cn2", NULL);
    expect(&r, "externalId", "da637370718981685665_16349121");
    expect(&r, "flexString1", "https://securitycenter.windows.com/alert/da637370718981685665_16349121");
    expect(&r, "rt", "1601474960357");               /* 2020-09-30T14:09:20.35743Z */
    expect(&r, "cs2", TENANT_ID);
    expect(&r, "deviceExternalId", "deadbeef000040830ee54503926f556dcaf82bb0");
    expect(&r, "msg", "Test Alert");
    expect(&r, "cs3", "da637370718981685665_16349121:R4xEdgAvDb2LQl3BgHoA3NYqKmRSiIAG7dpxAJCYZhY=");
    expect_label(&r, "cs3", "DetectionId");

    /* the documented TRUE/FALSE -> 1/0 for the AV booleans */
    json_object_object_add(alert, "RemediationIsSuccess", json_object_new_boolean(1));
    json_object_object_add(alert, "WasExecutingWhileDetected", json_object_new_string("FALSE"));
    json_object_object_add(alert, "Severity", json_object_new_string("Informational"));
    eval(m, alert, &r);
    expect(&r, "cn2", "1");
    expect(&r, "cn1", "0");
    expect_hdr(&r, SF_HDR_SEVERITY, "Low");
    sf_map_free(m);

    m = load("leef-siem.yaml", SF_MAP_LEEF);
    eval(m, alert, &r);
    expect(&r, "sev", "2");
    expect(&r, "devTime", "1601474960357");
    expect(&r, "alertId", "da637370718981685665_16349121");
    expect(&r, "tenantId", TENANT_ID);
    expect(&r, "md5", "854b85cbff2752fcb88606bca76f83c6");
    expect(&r, "identHostName", "mymachine1.domain.com");
    sf_record_free(&r);
    json_object_put(alert);
    sf_map_free(m);
}

/* Regression: externalId is cut at the dictionary's 40 characters, so a
 * 52-character Graph id could not be traced back; cs3 keeps it whole. */
static void test_long_alert_id_kept_whole(void **state)
{
    (void)state;
    static const char *const id = "adda21de253ca551df2175818825088751ac4ed5e365dae35a1a";
    static const struct { const char *map, *sample, *key, *idkey; } t[] = {
        { "cef-defender.yaml", "graph-alerts_v2.json", "cs3", "id" },
        { "cef-mde.yaml", "mde-api-alerts.json", "cs3", "id" },
        { "cef-siem.yaml", "siem-api-alerts.json", "cs3", "AlertId" },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct sf_map *m = load(t[i].map, SF_MAP_CEF);
        json_object *alert = sample(t[i].sample);
        struct sf_record r;
        struct sf_buf out;
        char err[256];
        json_object_object_add(alert, t[i].idkey, json_object_new_string(id));
        json_object_object_del(alert, "FullId");
        sf_record_init(&r);
        sf_buf_init(&out, 0);
        eval(m, alert, &r);
        expect(&r, t[i].key, id);
        assert_int_equal(sf_render_cef(&r, NULL, &out, err, sizeof(err)), SF_OK);
        assert_non_null(strstr(out.data, " externalId=adda21de253ca551df2175818825088751ac4ed5 "));
        assert_non_null(strstr(out.data, " cs3=adda21de253ca551df2175818825088751ac4ed5e365dae35a1a "));
        sf_buf_free(&out);
        sf_record_free(&r);
        json_object_put(alert);
        sf_map_free(m);
    }
}

/* Regression: "suid=\\" and "suid=\\bob" for logged-on users without a
 * domain or an account, and ".../alerts/ID?tid=" without aadTenantId. */
static void test_no_dangling_templates(void **state)
{
    (void)state;
    struct sf_map *m = load("cef-defender.yaml", SF_MAP_CEF);
    json_object *alert = sample("graph-alerts_v2.json"), *ev;
    struct sf_record r;
    sf_record_init(&r);
    assert_true(json_object_object_get_ex(alert, "evidence", &ev));
    json_object_object_add(json_object_array_get_idx(ev, 0), "loggedOnUsers",
                           obj("[{\"accountName\":\"bob\"},{\"domainName\":\"CONTOSO\"},"
                               "{\"accountName\":\"liz\",\"domainName\":\"\"},"
                               "{\"accountName\":\"jay\",\"domainName\":\"CONTOSO\"}]"));
    eval(m, alert, &r);
    expect(&r, "suid", "bob; liz; CONTOSO\\jay");
    json_object_object_add(json_object_array_get_idx(ev, 0), "loggedOnUsers",
                           obj("[{\"domainName\":\"CONTOSO\"},{\"accountName\":null}]"));
    eval(m, alert, &r);
    expect(&r, "suid", NULL);
    sf_map_free(m);
    json_object_put(alert);

    alert = sample("mde-api-alerts.json");
    json_object_object_del(alert, "aadTenantId");
    m = load("cef-mde.yaml", SF_MAP_CEF);
    eval(m, alert, &r);
    expect(&r, "flexString1", "https://security.microsoft.com/alerts/da637472900382838869_1364969609");
    sf_map_free(m);
    m = load("leef-mde.yaml", SF_MAP_LEEF);
    eval(m, alert, &r);
    expect(&r, "alertWebUrl", "https://security.microsoft.com/alerts/da637472900382838869_1364969609");
    json_object_object_add(alert, "aadTenantId", json_object_new_string(""));
    eval(m, alert, &r);
    expect(&r, "alertWebUrl", "https://security.microsoft.com/alerts/da637472900382838869_1364969609");
    sf_record_free(&r);
    json_object_put(alert);
    sf_map_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_compile_for_their_format_only),
        cmocka_unit_test(test_cef_defender_graph),
        cmocka_unit_test(test_cef_defender_graph_rich),
        cmocka_unit_test(test_leef_defender_graph),
        cmocka_unit_test(test_mde_maps),
        cmocka_unit_test(test_siem_maps),
        cmocka_unit_test(test_long_alert_id_kept_whole),
        cmocka_unit_test(test_no_dangling_templates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
