/* test_rules.c - alert rules (forwarder/rules.c) on views of Graph, MDE and
 * SIEM API alerts: every condition, first-match order, the implicit rule, keys and
 * texts, exact "FILE:LINE: path: message" config errors; and flood control
 * counting (forwarder/flood.c) with explicit clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_flood.h"
#include "sf_rules.h"

/* Views as the sources fill them (formats/sf_alert_view.h): the severity
 * word as the API wrote it, its rank, and the API's own spellings. */
static const struct sf_alert_view graph_high = {
    .source = "graph", .id = "da1", .severity = "high", .sev_rank = SF_SEV_HIGH,
    .status = "new", .category = "DefenseEvasion",
    .service_source = "microsoftDefenderForEndpoint", .detection_source = "antivirus" };
static const struct sf_alert_view graph_low_progress = {
    .source = "graph", .id = "da2", .severity = "low", .sev_rank = SF_SEV_LOW,
    .status = "inProgress", .category = "Execution",
    .service_source = "microsoftDefenderForOffice365",
    .detection_source = "microsoftDefenderForOffice365" };
static const struct sf_alert_view mde_medium = {
    .source = "mde", .id = "da3", .severity = "Medium", .sev_rank = SF_SEV_MEDIUM,
    .status = "New", .category = "Ransomware", .detection_source = "WindowsDefenderAtp" };
static const struct sf_alert_view siem_high = {      /* no status in the SIEM API */
    .source = "siem", .id = "da4", .severity = "High", .sev_rank = SF_SEV_HIGH,
    .category = "CredentialAccess", .detection_source = "EDR" };
static const struct sf_alert_view unknown_sev = {
    .source = "graph", .id = "da5", .severity = "UnSpecified", .sev_rank = SF_SEV_UNKNOWN };

/* Compile yaml (the value of an output mapping) and return its rules. */
static struct sf_rules *compile(const char *yaml, struct sf_doc **doc, struct sf_buf *errs,
                                sf_err *err)
{
    char errbuf[256];
    struct sf_rules *r = NULL;

    assert_int_equal(sf_yaml_load_string("t.yaml", yaml, strlen(yaml), doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    sf_buf_init(errs, 0);
    *err = sf_rules_compile(sf_node_get((*doc)->root, "rules"), "outputs[2]", &r, errs);
    return r;
}

static struct sf_rules *compile_ok(const char *yaml, struct sf_doc **doc)
{
    struct sf_buf errs;
    sf_err err;
    struct sf_rules *r = compile(yaml, doc, &errs, &err);

    if (err != SF_OK)
        fail_msg("%s", errs.data ? errs.data : sf_strerror(err));
    assert_null(errs.data);
    sf_buf_free(&errs);
    return r;
}

static void expect_error(const char *yaml, const char *want)
{
    struct sf_doc *doc;
    struct sf_buf errs;
    sf_err err;
    struct sf_rules *r = compile(yaml, &doc, &errs, &err);

    assert_int_equal(err, SF_ERR_CONFIG);
    assert_null(r);
    assert_non_null(errs.data);
    assert_string_equal(errs.data, want);
    sf_buf_free(&errs);
    sf_doc_free(doc);
}

/* The rules' answer for view v seen from tenant. */
static int match(const struct sf_rules *r, struct sf_alert_view v, const char *tenant)
{
    v.tenant = tenant;
    return sf_rules_match(r, &v);
}

static void test_severity_and_status(void **state)
{
    struct sf_doc *doc;
    struct sf_rules *r = compile_ok("rules:\n  - {min_severity: high, status: [new]}\n", &doc);

    assert_int_equal(match(r, graph_high, "contoso"), 0);
    assert_int_equal(match(r, graph_low_progress, "contoso"), -1);
    assert_int_equal(match(r, mde_medium, "contoso"), -1);  /* medium < high */
    assert_int_equal(match(r, siem_high, "contoso"), 0);    /* no status: counts as new */
    assert_int_equal(match(r, unknown_sev, "contoso"), -1);
    assert_string_equal(sf_rules_describe(r, 0), "min_severity=high status=new");
    assert_string_equal(sf_rules_key(r, 0), "min_severity=high status=new");
    assert_int_equal(sf_rules_count(r), 1);
    sf_rules_free(r);
    sf_doc_free(doc);
}

static void test_mde_case_and_min_medium(void **state)
{
    struct sf_doc *doc;
    struct sf_rules *r = compile_ok("rules:\n  - {min_severity: medium, status: [new]}\n",
                                    &doc);

    assert_int_equal(match(r, mde_medium, "fabrikam"), 0);  /* "Medium", "New" */
    assert_int_equal(match(r, graph_high, "fabrikam"), 0);
    assert_int_equal(match(r, graph_low_progress, "fabrikam"), -1);
    sf_rules_free(r);
    sf_doc_free(doc);
}

static void test_tenants_categories_sources(void **state)
{
    struct sf_doc *doc;
    struct sf_rules *r = compile_ok(
        "rules:\n"
        "  - {tenants: [contoso], categories: [defenseevasion]}\n"
        "  - name: office\n"
        "    sources: [microsoftDefenderForOffice365]\n"
        "  - {sources: [edr, windowsdefenderatp]}\n", &doc);

    assert_int_equal(match(r, graph_high, "contoso"), 0);
    assert_int_equal(match(r, graph_high, "Contoso"), -1);    /* names are exact */
    assert_int_equal(match(r, graph_high, NULL), -1);
    assert_int_equal(match(r, graph_low_progress, "fabrikam"), 1);
    assert_int_equal(match(r, siem_high, "fabrikam"), 2);     /* SIEM API Source */
    assert_int_equal(match(r, mde_medium, "fabrikam"), 2);    /* MDE detectionSource */
    assert_int_equal(match(r, unknown_sev, "contoso"), -1);
    assert_string_equal(sf_rules_key(r, 1), "office");
    assert_string_equal(sf_rules_describe(r, 1), "sources=microsoftDefenderForOffice365");
    assert_string_equal(sf_rules_describe(r, 0), "tenants=contoso categories=defenseevasion");
    assert_int_equal(sf_rules_count(r), 3);
    assert_null(sf_rules_key(r, 3));
    sf_rules_free(r);
    sf_doc_free(doc);
}

static void test_first_match_wins(void **state)
{
    struct sf_doc *doc;
    struct sf_rules *r = compile_ok("rules:\n  - {min_severity: medium}\n  - {}\n", &doc);

    assert_int_equal(match(r, graph_high, "x"), 0);
    assert_int_equal(match(r, graph_low_progress, "x"), 1);  /* the catch-all */
    assert_string_equal(sf_rules_describe(r, 1), "every alert");
    sf_rules_free(r);
    sf_doc_free(doc);
}

static void test_absent_rules_match_everything(void **state)
{
    struct sf_doc *doc;
    struct sf_rules *r = compile_ok("name: x\n", &doc);

    assert_null(r);
    assert_int_equal(match(NULL, graph_low_progress, "x"), 0);
    assert_int_equal(sf_rules_count(NULL), 1);
    assert_string_equal(sf_rules_key(NULL, 0), "every alert");
    sf_doc_free(doc);
}

static void test_helpers(void **state)
{
    assert_int_equal(sf_sev_rank_of("informational"), 1);
    assert_int_equal(sf_sev_rank_of("LOW"), 2);
    assert_int_equal(sf_sev_rank_of("Medium"), 3);
    assert_int_equal(sf_sev_rank_of("high"), 4);
    assert_int_equal(sf_sev_rank_of("UnSpecified"), 0);
    assert_int_equal(sf_sev_rank_of(NULL), 0);
}

static void test_errors(void **state)
{
    expect_error("rules: {min_severity: high}\n",
                 "t.yaml:1: outputs[2].rules: expected a list of rules, got a mapping\n");
    expect_error("rules: []\n",
                 "t.yaml:1: outputs[2].rules: empty list: remove the key to send every "
                 "alert\n");
    expect_error("rules:\n  - high\n",
                 "t.yaml:2: outputs[2].rules[0]: expected a rule (a mapping such as "
                 "{min_severity: high}), got a scalar\n");
    expect_error("rules:\n  - {status: [nwe, resolved, Bogus]}\n",
                 "t.yaml:2: outputs[2].rules[0].status[0]: unknown status 'nwe' (did you "
                 "mean 'new'?)\n"
                 "t.yaml:2: outputs[2].rules[0].status[2]: unknown status 'Bogus' (one of "
                 "new, inProgress, resolved, unknown)\n");
}

static void test_bind_errors(void **state)
{
    struct sf_doc *doc;
    struct sf_buf errs;
    sf_err err;
    struct sf_rules *r = compile("rules:\n  - {min_severity: critical}\n"
                                 "  - {tenant: [contoso]}\n", &doc, &errs, &err);

    assert_int_equal(err, SF_ERR_CONFIG);
    assert_null(r);
    assert_non_null(strstr(errs.data, "t.yaml:2:")); /* the enum error names its line */
    assert_non_null(strstr(errs.data, "outputs[2].rules[0].min_severity"));
    assert_non_null(strstr(errs.data, "critical"));
    assert_non_null(strstr(errs.data, "t.yaml:3:"));
    assert_non_null(strstr(errs.data, "outputs[2].rules[1].tenant"));
    assert_non_null(strstr(errs.data, "tenants"));   /* the suggestion */
    sf_buf_free(&errs);
    sf_doc_free(doc);
}

/* ------------------------------------------------------------ flood */

static struct sf_flood *flood(const char *yaml, size_t nrules, struct sf_buf *errs,
                              sf_err *err)
{
    struct sf_doc *doc;
    char errbuf[256];
    struct sf_flood *f = NULL;

    assert_int_equal(sf_yaml_load_string("f.yaml", yaml, strlen(yaml), &doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    sf_buf_init(errs, 0);
    *err = sf_flood_new(sf_node_get(doc->root, "flood"), "outputs[1]", nrules, &f, errs);
    sf_doc_free(doc);
    return f;
}

#define MIN (60 * 1000)

static void test_flood_window(void **state)
{
    struct sf_buf errs;
    sf_err err;
    struct sf_flood *f = flood("flood: {max: 2, per: 10m}\n", 2, &errs, &err);
    int64_t w, t0 = 1700000000000;
    char text[64];

    assert_int_equal(err, SF_OK);
    sf_flood_describe(f, text, sizeof(text));
    assert_string_equal(text, "2 per 10m");
    assert_int_equal(sf_flood_admit(f, 0, t0, &w), SF_FLOOD_SEND);
    assert_int_equal(w, t0);
    assert_int_equal(sf_flood_admit(f, 0, t0 + MIN, &w), SF_FLOOD_SEND);
    assert_int_equal(sf_flood_admit(f, 0, t0 + 2 * MIN, &w), SF_FLOOD_HOLD);
    assert_int_equal(w, t0);
    assert_int_equal(sf_flood_admit(f, 0, t0 + 3 * MIN, &w), SF_FLOOD_HOLD);
    assert_int_equal(sf_flood_admit(f, 1, t0 + 3 * MIN, &w), SF_FLOOD_SEND); /* own window */
    assert_int_equal(sf_flood_held(f, 0), 2);
    assert_false(sf_flood_due(f, 0, t0 + 10 * MIN - 1));
    assert_int_equal(sf_flood_next_due(f), t0 + 10 * MIN);
    assert_true(sf_flood_due(f, 0, t0 + 10 * MIN));
    assert_false(sf_flood_due(f, 1, t0 + 20 * MIN));        /* nothing held there */
    /* window over, digest not sent yet: a new alert joins the pending digest */
    assert_int_equal(sf_flood_admit(f, 0, t0 + 11 * MIN, &w), SF_FLOOD_HOLD);
    assert_int_equal(w, t0);
    sf_flood_digested(f, 0, 3);
    assert_int_equal(sf_flood_held(f, 0), 0);
    assert_int_equal(sf_flood_next_due(f), 0);
    assert_int_equal(sf_flood_admit(f, 0, t0 + 12 * MIN, &w), SF_FLOOD_SEND);
    assert_int_equal(w, t0 + 12 * MIN);                      /* a new window */
    sf_flood_free(f);
}

static void test_flood_unsend_restore(void **state)
{
    struct sf_buf errs;
    sf_err err;
    struct sf_flood *f = flood("flood: {max: 1, per: 1m}\n", 1, &errs, &err);
    int64_t w, t0 = 1700000000000;

    assert_int_equal(err, SF_OK);
    assert_int_equal(sf_flood_admit(f, 0, t0, &w), SF_FLOOD_SEND);
    sf_flood_unsend(f, 0);                                   /* delivery failed */
    assert_int_equal(sf_flood_admit(f, 0, t0 + 1, &w), SF_FLOOD_SEND);
    assert_int_equal(sf_flood_admit(f, 0, t0 + 2, &w), SF_FLOOD_HOLD);
    sf_flood_free(f);

    f = flood("flood: {max: 5, per: 1m}\n", 1, &errs, &err);
    sf_flood_restore(f, 0, t0, 3);                           /* held by an earlier run */
    assert_int_equal(sf_flood_held(f, 0), 3);
    assert_int_equal(sf_flood_window(f, 0), t0);
    assert_int_equal(sf_flood_admit(f, 0, t0 + 10, &w), SF_FLOOD_HOLD);
    assert_true(sf_flood_due(f, 0, t0 + MIN));
    sf_flood_free(f);
}

static void test_flood_unlimited(void **state)
{
    struct sf_buf errs;
    sf_err err;
    struct sf_flood *f = flood("name: x\n", 1, &errs, &err);
    int64_t w;
    char text[64];

    assert_int_equal(err, SF_OK);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sf_flood_admit(f, 0, 1000 + i, &w), SF_FLOOD_SEND);
    assert_int_equal(sf_flood_next_due(f), 0);
    sf_flood_describe(f, text, sizeof(text));
    assert_string_equal(text, "unlimited");
    sf_flood_free(f);
}

static void test_flood_errors(void **state)
{
    struct sf_buf errs;
    sf_err err;

    assert_null(flood("flood: 20\n", 1, &errs, &err));
    assert_int_equal(err, SF_ERR_CONFIG);
    assert_string_equal(errs.data, "f.yaml:1: outputs[1].flood: expected {max: N, per: "
                        "DURATION}, got a scalar\n");
    sf_buf_free(&errs);
    assert_null(flood("flood: {max: 0, per: 500ms}\n", 1, &errs, &err));
    assert_int_equal(err, SF_ERR_CONFIG);
    assert_non_null(strstr(errs.data, "outputs[1].flood.max"));
    assert_non_null(strstr(errs.data, "outputs[1].flood.per"));
    sf_buf_free(&errs);
    assert_null(flood("flood: {max: 3}\n", 1, &errs, &err));
    assert_non_null(strstr(errs.data, "outputs[1].flood.per: required key is missing"));
    sf_buf_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity_and_status),
        cmocka_unit_test(test_mde_case_and_min_medium),
        cmocka_unit_test(test_tenants_categories_sources),
        cmocka_unit_test(test_first_match_wins),
        cmocka_unit_test(test_absent_rules_match_everything),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_flood_window),
        cmocka_unit_test(test_flood_unsend_restore),
        cmocka_unit_test(test_flood_unlimited),
        cmocka_unit_test(test_flood_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
