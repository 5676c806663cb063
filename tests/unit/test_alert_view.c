/* test_alert_view.c - the normalised alert view (sf_sources.h,
 * formats/sf_alert_view.h): every shipped API sample and golden input gives
 * the view a reader of that API's documentation expects, and hostile alerts
 * (wrong types, missing fields, 20 devices, huge strings, bad times, ids with
 * a NUL) never crash and leave the fields NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_sources.h"
#include "source.h"

#define TID "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c"

static const struct sf_fetch_tenant contoso = { .name = "contoso", .tenant_id = TID };

static json_object *load(const char *dir, const char *name)
{
    const char *src = getenv("SF_SOURCE_DIR") ? getenv("SF_SOURCE_DIR") : ".";
    char path[1200];
    json_object *doc;

    snprintf(path, sizeof(path), "%s/%s/%s", src, dir, name);
    doc = json_object_from_file(path);
    assert_non_null(doc);
    return doc;
}

/* The alert at index i of a page ({"value": [...]} or a bare array). */
static json_object *nth(json_object *doc, size_t i)
{
    json_object *arr = doc;

    if (json_object_is_type(doc, json_type_object))
        assert_true(json_object_object_get_ex(doc, "value", &arr));
    assert_true(i < json_object_array_length(arr));
    return json_object_array_get_idx(arr, i);
}

static void assert_str(const char *got, const char *want)
{
    if (!want)
        assert_null(got);
    else
        assert_non_null(got), assert_string_equal(got, want);
}

static void test_graph_sample(void **state)
{
    json_object *doc = load("tests/data", "graph-alerts_v2.json");
    struct sf_alert_view v;

    (void)state;
    assert_int_equal(sf_source_view("graph", nth(doc, 0), &contoso, &v), 0);
    assert_string_equal(v.source, "graph");
    assert_string_equal(v.tenant, "contoso");
    assert_string_equal(v.tenant_id, TID);
    assert_string_equal(v.id, "da637551227677560813_-961444813");
    assert_string_equal(v.last_update, "2021-05-02T14:19:01.3266667Z");
    assert_int_equal(v.last_update_ms, 1619965141326LL);
    assert_string_equal(v.created, "2021-04-27T12:19:27.7211305Z");
    assert_string_equal(v.severity, "low");
    assert_int_equal(v.sev_rank, SF_SEV_LOW);
    assert_string_equal(v.status, "new");
    assert_string_equal(v.category, "DefenseEvasion");
    assert_string_equal(v.title, "Suspicious execution of hidden file");
    assert_true(strncmp(v.description, "A hidden file has been launched.", 32) == 0);
    assert_string_equal(v.service_source, "microsoftDefenderForEndpoint");
    assert_string_equal(v.detection_source, "antivirus");
    assert_int_equal(v.ndevices, 1);
    assert_string_equal(v.devices[0], "tempDns");
    /* alertWebUrl carries tid= already: kept as the API wrote it */
    assert_string_equal(v.link, "https://security.microsoft.com/alerts/"
                        "da637551227677560813_-961444813?tid=" TID);
    json_object_put(doc);
}

static void test_mde_sample(void **state)
{
    json_object *doc = load("tests/data", "mde-api-alerts.json");
    struct sf_alert_view v;

    (void)state;
    assert_int_equal(sf_source_view("MDE", nth(doc, 0), &contoso, &v), 0);
    assert_string_equal(v.source, "mde");
    assert_string_equal(v.tenant_id, TID);   /* the configured one, not aadTenantId */
    assert_string_equal(v.id, "da637472900382838869_1364969609");
    assert_string_equal(v.last_update, "2021-01-26T20:33:59.2Z");
    assert_int_equal(v.last_update_ms, 1611693239200LL);
    assert_string_equal(v.created, "2021-01-26T20:33:57.7220239Z");
    assert_string_equal(v.severity, "Low");
    assert_int_equal(v.sev_rank, SF_SEV_LOW);
    assert_string_equal(v.status, "New");
    assert_string_equal(v.category, "Execution");
    assert_string_equal(v.title, "Low-reputation arbitrary code executed by signed executable");
    assert_non_null(v.description);
    assert_null(v.service_source);
    assert_string_equal(v.detection_source, "WindowsDefenderAtp");
    assert_int_equal(v.ndevices, 1);
    assert_string_equal(v.devices[0], "temp123.middleeast.corp.microsoft.com");
    /* no link in the API: the portal's alert page, with tid= */
    assert_string_equal(v.link, "https://security.microsoft.com/alerts/"
                        "da637472900382838869_1364969609?tid=" TID);
    json_object_put(doc);
}

static void test_siem_sample(void **state)
{
    json_object *doc = load("tests/data", "siem-api-alerts.json");
    struct sf_alert_view v;

    (void)state;
    assert_int_equal(sf_source_view("siem", nth(doc, 0), &contoso, &v), 0);
    assert_string_equal(v.source, "siem");
    /* FullId = AlertId:IocUniqueId, the detection's own id (dedup key) */
    assert_string_equal(v.id, "da637370718981685665_16349121:"
                        "R4xEdgAvDb2LQl3BgHoA3NYqKmRSiIAG7dpxAJCYZhY=");
    assert_string_equal(v.last_update, "2020-09-30T14:11:44.0779765Z");
    assert_int_equal(v.last_update_ms, 1601475104077LL);
    assert_string_equal(v.created, "2020-09-30T14:09:20.35743Z");
    assert_string_equal(v.severity, "High");
    assert_int_equal(v.sev_rank, SF_SEV_HIGH);
    assert_null(v.status);                   /* the SIEM API has none */
    assert_string_equal(v.category, "Malware");
    assert_string_equal(v.title, "Suspicious File Activity");
    assert_string_equal(v.description, "Test Alert");
    assert_null(v.service_source);
    assert_string_equal(v.detection_source, "EDR");
    assert_int_equal(v.ndevices, 1);
    assert_string_equal(v.devices[0], "mymachine1.domain.com");
    assert_string_equal(v.link, "https://security.microsoft.com/alert/"
                        "da637370718981685665_16349121?tid=" TID);
    json_object_put(doc);
}

/* The golden inputs (tests/golden/inputs): real-world shapes. */
static void test_golden_inputs(void **state)
{
    static const struct {
        const char *file, *source;
        size_t idx;
        const char *id;
        int64_t ms;             /* -1: no usable last update */
        int rank;
        size_t ndev;
        const char *dev0;
        const char *link;       /* NULL: "" */
    } want[] = {
        { "graph-real-users.json", "graph", 0, "da638512345678901234_1122334455",
          1715678102100LL, SF_SEV_MEDIUM, 1, "ws-0142.contoso.local",
          "https://security.microsoft.com/alerts/da638512345678901234_1122334455?tid=" TID },
        { "graph-real-placeholders.json", "graph", 0, "da638512345678901234_1122334455",
          1715678102100LL, SF_SEV_MEDIUM, 1, "unknown", NULL },
        { "graph-real-evidence-shapes.json", "graph", 0, "da638512345678901234_1122334455",
          1715678102100LL, SF_SEV_MEDIUM, 0, NULL, NULL },
        { "graph-real-evidence-shapes.json", "graph", 2, "da638512345678901234_1122334459",
          1715678102100LL, SF_SEV_MEDIUM, 0, NULL, NULL },
        { "graph-real-times-severity.json", "graph", 0, "da638512345678901234_1122334455",
          -1, SF_SEV_UNKNOWN, 0, NULL, NULL },
        { "graph-real-times-severity.json", "graph", 1, "da638512345678901234_1122334461",
          -1, SF_SEV_UNKNOWN, 0, NULL, NULL },
        { "graph-real-times-severity.json", "graph", 2, "da638512345678901234_1122334462",
          253402300799999LL, SF_SEV_UNKNOWN, 0, NULL, NULL },
        { "graph-real-long-ids.json", "graph", 0,
          "adda21de253ca551df2175818825088751ac4ed5e365dae35a1a", 1715678102100LL,
          SF_SEV_MEDIUM, 0, NULL, NULL },
        { "graph-real-long-ids.json", "graph", 2, "dl3f9c2b7a3f9c2b7a3f9c2b7a3f9c2b7a3f9c2b7ae1",
          1715678102100LL, SF_SEV_MEDIUM, 0, NULL,
          "https://security.microsoft.com/alerts/dl3f9c2b7a3f9c2b7a3f9c2b7a3f9c2b7a3f9c2b7ae1"
          "?tid=" TID },
        { "graph-real-whitespace.json", "graph", 1, "da638512345678901234_1122334456",
          1715678102100LL, SF_SEV_MEDIUM, 0, NULL, NULL },
        { "mde-real-no-tenant.json", "mde", 1,
          "adda21de253ca551df2175818825088751ac4ed5e365dae35a1a", 1611693239200LL,
          SF_SEV_UNKNOWN, 1, "temp123.middleeast.corp.microsoft.com",
          "https://security.microsoft.com/alerts/"
          "adda21de253ca551df2175818825088751ac4ed5e365dae35a1a?tid=" TID },
        { "siem-real-long-id.json", "siem", 0,
          "adda21de253ca551df2175818825088751ac4ed5e365dae35a1a", 1601475104077LL,
          SF_SEV_UNKNOWN, 1, "mymachine1.domain.com",
          "https://security.microsoft.com/alert/da637370718981685665_16349121?tid=" TID },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        json_object *doc = load("tests/golden/inputs", want[i].file);
        json_object *a = nth(doc, want[i].idx);
        struct sf_alert_view v;
        print_message("%s[%zu]\n", want[i].file, want[i].idx);
        assert_int_equal(sf_source_view(want[i].source, a, &contoso, &v), 0);
        assert_str(v.id, want[i].id);
        assert_int_equal(v.last_update_ms, want[i].ms);
        assert_int_equal(v.last_update == NULL, want[i].ms == -1);
        assert_int_equal(v.sev_rank, want[i].rank);
        assert_int_equal(v.ndevices, want[i].ndev);
        if (want[i].dev0)
            assert_string_equal(v.devices[0], want[i].dev0);
        if (want[i].link)
            assert_string_equal(v.link, want[i].link);
        else   /* the API's own link, with its tid= */
            assert_true(strncmp(v.link, "https://security.microsoft.com/alerts/", 38) == 0 &&
                        strstr(v.link, "tid=" TID) != NULL);
        json_object_put(doc);
    }
}

/* Paging and sorting read a source's key(); dedup reads the view: both
 * must see the same id and time in every alert of every shipped file. */
static void test_key_matches_view(void **state)
{
    static const struct { const char *dir, *file, *source; } files[] = {
        { "tests/data", "graph-alerts_v2.json", "graph" },
        { "tests/data", "mde-api-alerts.json", "mde" },
        { "tests/data", "siem-api-alerts.json", "siem" },
        { "tests/golden/inputs", "graph-real-evidence-shapes.json", "graph" },
        { "tests/golden/inputs", "graph-real-long-ids.json", "graph" },
        { "tests/golden/inputs", "graph-real-placeholders.json", "graph" },
        { "tests/golden/inputs", "graph-real-times-severity.json", "graph" },
        { "tests/golden/inputs", "graph-real-users.json", "graph" },
        { "tests/golden/inputs", "graph-real-whitespace.json", "graph" },
        { "tests/golden/inputs", "mde-real-no-tenant.json", "mde" },
        { "tests/golden/inputs", "siem-real-long-id.json", "siem" },
    };
    size_t checked = 0;

    (void)state;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        json_object *doc = load(files[f].dir, files[f].file), *arr = doc;
        const struct sf_source_type *type = sf_source_type_of(files[f].source);
        assert_non_null(type);
        if (json_object_is_type(doc, json_type_object))
            json_object_object_get_ex(doc, "value", &arr);
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *a = json_object_array_get_idx(arr, i);
            struct sf_alert_view v;
            const char *id = NULL;
            int64_t ms = -1;
            int rc = type->key(a, &id, &ms);
            sf_source_view(files[f].source, a, &contoso, &v);
            assert_int_equal(rc == 0, v.id && v.last_update);
            if (rc == 0) {
                assert_ptr_equal(id, v.id);
                assert_int_equal(ms, v.last_update_ms);
                checked++;
            }
        }
        json_object_put(doc);
    }
    assert_true(checked >= 15);
}

/* No tenant given and none in the alert: no tenant, hence no link. */
static void test_no_tenant_no_link(void **state)
{
    json_object *doc = load("tests/golden/inputs", "mde-real-no-tenant.json");
    json_object *sample = load("tests/data", "mde-api-alerts.json");
    struct sf_alert_view v;

    (void)state;
    for (size_t i = 0; i < 3; i++) {   /* aadTenantId absent, null, "" */
        assert_int_equal(sf_source_view("mde", nth(doc, i), NULL, &v), 0);
        assert_null(v.tenant);
        assert_null(v.tenant_id);
        assert_string_equal(v.link, "");
        assert_non_null(v.id);
    }
    /* without a configured tenant the alert's own aadTenantId is used */
    assert_int_equal(sf_source_view("mde", nth(sample, 0), NULL, &v), 0);
    assert_string_equal(v.tenant_id, "a839b112-1253-6432-9bf6-94542403f21c");
    assert_non_null(strstr(v.link, "?tid=a839b112-1253-6432-9bf6-94542403f21c"));
    json_object_put(doc);
    json_object_put(sample);
}

static void assert_empty(const struct sf_alert_view *v)
{
    assert_null(v->id);
    assert_null(v->last_update);
    assert_int_equal(v->last_update_ms, -1);
    assert_null(v->created);
    assert_null(v->severity);
    assert_int_equal(v->sev_rank, SF_SEV_UNKNOWN);
    assert_null(v->status);
    assert_null(v->category);
    assert_null(v->title);
    assert_null(v->description);
    assert_null(v->service_source);
    assert_null(v->detection_source);
    assert_int_equal(v->ndevices, 0);
    assert_string_equal(v->link, "");
}

/* Every field with the wrong type (number, object, array, null, bool, ""). */
static void test_wrong_types(void **state)
{
    static const char *const keys[] = {
        "id", "lastUpdateDateTime", "createdDateTime", "severity", "status", "category",
        "title", "description", "serviceSource", "detectionSource", "alertWebUrl", "evidence",
        "tenantId", "lastUpdateTime", "alertCreationTime", "computerDnsName", "aadTenantId",
        "FullId", "AlertId", "LastProcessedTimeUtc", "AlertTime", "Severity", "Category",
        "AlertTitle", "Description", "Source", "ComputerDnsName", "MachineName", "LinkToMTP",
    };
    static const char *const values[] = { "42", "{\"a\": \"b\"}", "[\"x\"]", "null", "true",
                                          "\"\"", "1.5e300" };
    static const char *const sources[] = { "graph", "mde", "siem" };

    (void)state;
    for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
        json_object *a = json_object_new_object();
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            json_object_object_add(a, keys[i], json_tokener_parse(values[k]));
        for (size_t s = 0; s < 3; s++) {
            struct sf_alert_view v;
            assert_int_equal(sf_source_view(sources[s], a, NULL, &v), 0);
            assert_empty(&v);
            assert_null(v.tenant_id);
        }
        json_object_put(a);
    }
}

/* Not an object, or an unknown source: -1 and an empty view. */
static void test_not_an_alert(void **state)
{
    static const char *const docs[] = { "[]", "\"x\"", "7", "null" };
    json_object *ok = json_tokener_parse("{\"id\": \"a\", \"lastUpdateDateTime\": "
                                         "\"2024-01-01T00:00:00Z\"}");
    struct sf_alert_view v;

    (void)state;
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_object *d = json_tokener_parse(docs[i]);
        assert_int_equal(sf_source_view("graph", d, &contoso, &v), -1);
        assert_empty(&v);
        json_object_put(d);
    }
    assert_int_equal(sf_source_view("alerts_v2", ok, &contoso, &v), -1);
    assert_empty(&v);
    assert_null(v.source);
    assert_int_equal(sf_source_view(NULL, ok, &contoso, &v), -1);
    assert_int_equal(sf_source_view("graph", ok, &contoso, &v), 0);
    assert_string_equal(v.id, "a");
    assert_int_equal(v.last_update_ms, 1704067200000LL);
    json_object_put(ok);
}

static void test_bad_times(void **state)
{
    static const char *const times[] = {
        "2021-13-45T00:00:00Z", "not a time", "2021-01-01", "2021-01-01T25:00:00Z",
        "2021-01-01T00:00:00.12345678901Z", "T", " 2021-01-01T00:00:00Z",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        json_object *a = json_object_new_object();
        struct sf_alert_view v;
        json_object_object_add(a, "id", json_object_new_string("x"));
        json_object_object_add(a, "lastUpdateDateTime", json_object_new_string(times[i]));
        json_object_object_add(a, "createdDateTime", json_object_new_string(times[i]));
        print_message("%s\n", times[i]);
        assert_int_equal(sf_source_view("graph", a, &contoso, &v), 0);
        assert_string_equal(v.id, "x");
        assert_null(v.last_update);
        assert_int_equal(v.last_update_ms, -1);
        assert_null(v.created);
        json_object_put(a);
    }
}

/* An id with a NUL inside would compare as its prefix: refused. */
static void test_id_with_nul(void **state)
{
    json_object *g = json_tokener_parse("{\"id\": \"da1\\u0000a\", \"lastUpdateDateTime\": "
                                        "\"2024-03-01T00:00:00Z\"}");
    json_object *s = json_tokener_parse("{\"FullId\": \"x\\u0000y\", \"AlertId\": \"a1\", "
                                        "\"LastProcessedTimeUtc\": \"2024-03-01T00:00:00Z\"}");
    struct sf_alert_view v;

    (void)state;
    assert_int_equal(sf_source_view("graph", g, &contoso, &v), 0);
    assert_null(v.id);
    assert_non_null(v.last_update);
    /* SIEM: a bad FullId falls back to the AlertId, as the key always did */
    assert_int_equal(sf_source_view("siem", s, &contoso, &v), 0);
    assert_string_equal(v.id, "a1");
    json_object_put(g);
    json_object_put(s);
}

/* 20 device evidence items, with repeats in other case: 16 unique kept. */
static void test_many_devices(void **state)
{
    json_object *a = json_object_new_object(), *ev = json_object_new_array();
    struct sf_alert_view v;
    char name[32];

    (void)state;
    for (int i = 0; i < 22; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "@odata.type",
                               json_object_new_string("#microsoft.graph.security.deviceEvidence"));
        if (i == 1)
            snprintf(name, sizeof(name), "HOST-0.contoso");    /* repeat of 0 */
        else
            snprintf(name, sizeof(name), "host-%d.contoso", i);
        json_object_object_add(e, i == 3 ? "hostName" : "deviceDnsName",
                               json_object_new_string(name));
        json_object_array_add(ev, e);
    }
    json_object_array_add(ev, json_object_new_string("not an object"));
    json_object_object_add(a, "evidence", ev);
    assert_int_equal(sf_source_view("graph", a, &contoso, &v), 0);
    assert_int_equal(v.ndevices, SF_VIEW_MAX_DEVICES);
    assert_string_equal(v.devices[0], "host-0.contoso");
    assert_string_equal(v.devices[1], "host-2.contoso");
    assert_string_equal(v.devices[2], "host-3.contoso");   /* hostName */
    assert_string_equal(v.devices[15], "host-16.contoso");
    json_object_put(a);
}

/* Megabyte strings: borrowed as they are; a link that cannot fit is left
 * out rather than cut. */
static void test_huge_strings(void **state)
{
    size_t n = 1 << 20;
    char *big = malloc(n + 1), *url = malloc(n + 1);
    json_object *a = json_object_new_object();
    struct sf_alert_view v;

    (void)state;
    assert_non_null(big);
    assert_non_null(url);
    memset(big, 'A', n);
    big[n] = '\0';
    memcpy(url, "https://security.microsoft.com/alerts/", 38);
    memset(url + 38, 'b', n - 38);
    url[n] = '\0';
    json_object_object_add(a, "id", json_object_new_string(big));
    json_object_object_add(a, "title", json_object_new_string(big));
    json_object_object_add(a, "severity", json_object_new_string(big));
    json_object_object_add(a, "alertWebUrl", json_object_new_string(url));
    assert_int_equal(sf_source_view("graph", a, &contoso, &v), 0);
    assert_int_equal(strlen(v.id), n);
    assert_int_equal(strlen(v.title), n);
    assert_int_equal(v.sev_rank, SF_SEV_UNKNOWN);
    assert_string_equal(v.link, "");
    /* no URL and an id too long for a link: still none */
    json_object_object_del(a, "alertWebUrl");
    assert_int_equal(sf_source_view("graph", a, &contoso, &v), 0);
    assert_string_equal(v.link, "");
    json_object_put(a);
    free(big);
    free(url);
}

/* A non-https link from the API is not trusted: the portal page instead;
 * an https one with a query gets &tid=. */
static void test_link_rules(void **state)
{
    json_object *a = json_tokener_parse("{\"id\": \"x1\", \"alertWebUrl\": "
                                        "\"javascript:alert(1)\"}");
    json_object *b = json_tokener_parse("{\"AlertId\": \"x2\", \"LinkToMTP\": "
                                        "\"https://security.microsoft.com/alert/x2?a=1\"}");
    struct sf_alert_view v;

    (void)state;
    assert_int_equal(sf_source_view("graph", a, &contoso, &v), 0);
    assert_string_equal(v.link, "https://security.microsoft.com/alerts/x1?tid=" TID);
    assert_int_equal(sf_source_view("siem", b, &contoso, &v), 0);
    assert_string_equal(v.link, "https://security.microsoft.com/alert/x2?a=1&tid=" TID);
    json_object_put(a);
    json_object_put(b);
}

static void test_sev_rank(void **state)
{
    (void)state;
    assert_int_equal(sf_sev_rank_of(NULL), SF_SEV_UNKNOWN);
    assert_int_equal(sf_sev_rank_of(""), SF_SEV_UNKNOWN);
    assert_int_equal(sf_sev_rank_of("informational"), SF_SEV_INFORMATIONAL);
    assert_int_equal(sf_sev_rank_of("Informational"), SF_SEV_INFORMATIONAL);
    assert_int_equal(sf_sev_rank_of("INFO"), SF_SEV_INFORMATIONAL);
    assert_int_equal(sf_sev_rank_of("low"), SF_SEV_LOW);
    assert_int_equal(sf_sev_rank_of("Medium"), SF_SEV_MEDIUM);
    assert_int_equal(sf_sev_rank_of("HIGH"), SF_SEV_HIGH);
    assert_int_equal(sf_sev_rank_of("UnSpecified"), SF_SEV_UNKNOWN);
    assert_int_equal(sf_sev_rank_of("unknownFutureValue"), SF_SEV_UNKNOWN);
    assert_int_equal(sf_sev_rank_of("high "), SF_SEV_UNKNOWN);
    assert_true(SF_SEV_INFORMATIONAL < SF_SEV_LOW && SF_SEV_LOW < SF_SEV_MEDIUM &&
                SF_SEV_MEDIUM < SF_SEV_HIGH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_sample),
        cmocka_unit_test(test_mde_sample),
        cmocka_unit_test(test_siem_sample),
        cmocka_unit_test(test_golden_inputs),
        cmocka_unit_test(test_key_matches_view),
        cmocka_unit_test(test_no_tenant_no_link),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_not_an_alert),
        cmocka_unit_test(test_bad_times),
        cmocka_unit_test(test_id_with_nul),
        cmocka_unit_test(test_many_devices),
        cmocka_unit_test(test_huge_strings),
        cmocka_unit_test(test_link_rules),
        cmocka_unit_test(test_sev_rank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
