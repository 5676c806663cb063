/* test_status.c - the status document (forwarder/status.c): each state and
 * its boundaries, which error texts mean refused access, JSON escaping of
 * hostile and broken text, and the document built from a config and a
 * state store (order worst first, cursors no longer configured, --tenant
 * filter) parsed back with json-c. The HTTP side and the page in a browser
 * are tests/integration/test_status.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sf_config.h"
#include "sf_state.h"
#include "sf_status.h"

#define MIN 60000LL
#define NOW 1700000000000LL

static const char hostile[] = "<img src=x onerror=alert(1)>";

static enum sf_status_state classify(int auth, int accepting, const char *error,
                                     int64_t last_success, int64_t watermark)
{
    struct sf_status_in in = {
        .now_ms = NOW, .poll_interval_ms = MIN, .settle_ms = 30000, .overlap_ms = 5 * MIN,
        .auth_failed = auth, .accepting = accepting, .error = error,
        .last_success_ms = last_success, .watermark_ms = watermark,
    };
    char why[160] = "";
    enum sf_status_state s = sf_status_classify(&in, why, sizeof(why));
    assert_true(why[0] != '\0');
    return s;
}

static void test_states(void **unused)
{
    /* consent: the pipeline's flag wins over everything */
    assert_int_equal(classify(1, 0, "x", NOW, NOW), SF_STATUS_CONSENT_REVOKED);
    /* ... and from the store, the refusal's text */
    assert_int_equal(classify(-1, -1, "fetch: tenant a: token request refused (HTTP 400 "
                              "invalid_client): app not consented", NOW - MIN, NOW),
                     SF_STATUS_CONSENT_REVOKED);
    /* output taking nothing: failing at once */
    assert_int_equal(classify(0, 0, "", NOW, NOW), SF_STATUS_FAILING);
    /* an error and no success for more than 2 poll intervals, or ever */
    assert_int_equal(classify(0, 1, "HEC 503", NOW - 2 * MIN - 1, NOW - 10000),
                     SF_STATUS_FAILING);
    assert_int_equal(classify(0, 1, "HEC 503", 0, -1), SF_STATUS_FAILING);
    /* an error with a recent success is not (yet) failing */
    assert_int_equal(classify(0, 1, "HEC 503", NOW - 2 * MIN, NOW - 10000),
                     SF_STATUS_FLOWING);
    /* lag beyond max(2 x poll, settle + overlap) = 5.5 min */
    assert_int_equal(classify(0, 1, "", NOW, NOW - 330000), SF_STATUS_FLOWING);
    assert_int_equal(classify(0, 1, "", NOW, NOW - 330001), SF_STATUS_LAGGING);
    assert_int_equal(classify(0, -1, "", 0, NOW - 24 * 60 * MIN), SF_STATUS_LAGGING);
    /* no cursor and no error */
    assert_int_equal(classify(0, 1, "", 0, -1), SF_STATUS_PENDING);
    assert_int_equal(classify(-1, -1, NULL, 0, 0), SF_STATUS_PENDING);
    assert_string_equal(sf_status_name(SF_STATUS_CONSENT_REVOKED), "consent_revoked");
    assert_string_equal(sf_status_name(SF_STATUS_FLOWING), "flowing");
}

static void test_auth_error_texts(void **unused)
{
    assert_true(sf_status_is_auth_error("fetch: tenant a: token request refused (HTTP 401 "
                                        "unauthorized_client): x"));
    assert_true(sf_status_is_auth_error("fetch: tenant a: GET /v1.0/security/alerts_v2: "
                                        "HTTP 403: Forbidden: missing role"));
    assert_true(sf_status_is_auth_error("fetch: tenant a: GET /api/alerts: HTTP 401 with a "
                                        "fresh token: x"));
    /* throttling and server errors are not refusals */
    assert_false(sf_status_is_auth_error("fetch: tenant a: token request refused (HTTP 429): "
                                         "slow down"));
    assert_false(sf_status_is_auth_error("fetch: tenant a: GET /x: HTTP 404: gone"));
    assert_false(sf_status_is_auth_error("fetch: tenant a: GET /x: HTTP 4031: odd"));
    assert_false(sf_status_is_auth_error("fetch: tenant a: GET /x: HTTP 503: busy"));
    /* a SIEM refusing the output's own token is the output's problem */
    assert_false(sf_status_is_auth_error("hec: HTTP 403: invalid token"));
    assert_false(sf_status_is_auth_error(""));
    assert_false(sf_status_is_auth_error(NULL));
}

static char *escaped(const char *text)
{
    struct sf_buf b;
    sf_buf_init(&b, 0);
    assert_int_equal(sf_status_json_string(&b, text), SF_OK);
    return sf_buf_steal(&b, NULL);
}

static void test_json_string(void **unused)
{
    char *s = escaped(hostile);
    assert_string_equal(s, "\"\\u003cimg src=x onerror=alert(1)\\u003e\"");
    free(s);
    s = escaped("a\"b\\c\nd\te\x01 & </script> \xe2\x80\xa8 \xff\xfe ok \xc3\xa9");
    assert_string_equal(s, "\"a\\\"b\\\\c\\nd\\te\\u0001 \\u0026 \\u003c/script\\u003e "
                           "\\u2028 \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9\"");
    /* and json-c reads back what was meant */
    json_object *o = json_tokener_parse(s);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(o), "a\"b\\c\nd\te\x01 & </script> "
                        "\xe2\x80\xa8 \xef\xbf\xbd\xef\xbf\xbd ok \xc3\xa9");
    json_object_put(o);
    free(s);
    s = escaped(NULL);
    assert_string_equal(s, "\"\"");
    free(s);
}

/* ------------------------------------------------------------------ */
/* the document from a config and a store */

static char dir[256], cfgpath[300], statedir[300];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/sf_status_test_XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(statedir, sizeof(statedir), "%s/state", dir);
    snprintf(cfgpath, sizeof(cfgpath), "%s/siemfwd.yaml", dir);
    FILE *f = fopen(cfgpath, "w");
    assert_non_null(f);
    fprintf(f, "state_dir: %s\n"
               "poll_interval: 1m\n"
               "tenant_defaults:\n"
               "  client_id: 11111111-2222-3333-4444-555555555555\n"
               "  client_secret: not-a-real-secret\n"
               "  overlap: 5m\n"
               "  settle: 30s\n"
               "tenants:\n"
               "  - {name: good, tenant_id: 00000000-0000-0000-0000-000000000001}\n"
               "  - {name: revoked, tenant_id: 00000000-0000-0000-0000-000000000002}\n"
               "  - {name: behind, tenant_id: 00000000-0000-0000-0000-000000000003}\n"
               "  - {name: fresh, tenant_id: 00000000-0000-0000-0000-000000000004,"
               " outputs: [splunk]}\n"
               "outputs:\n"
               "  - {name: splunk, type: file, format: json, path: %s/s.jsonl}\n"
               "  - {name: arcsight, type: file, format: json, path: %s/a.jsonl}\n",
            statedir, dir, dir);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static struct sf_config *load(void)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;
    sf_buf_init(&errs, 0);
    if (sf_config_load(cfgpath, &cfg, &errs) != SF_OK)
        fail_msg("%s", errs.data ? errs.data : "config");
    sf_buf_free(&errs);
    return cfg;
}

static void fill_store(void)
{
    struct sf_state *st = NULL;
    char errbuf[256];
    int64_t now = NOW;
    assert_int_equal(sf_state_open(statedir, 0, &st, errbuf, sizeof(errbuf)), SF_OK);
    const char *outs[] = { "splunk", "arcsight" };
    for (int k = 0; k < 2; k++) {
        assert_int_equal(sf_state_advance(st, "good", outs[k], now - 40000, 0, now - 5000),
                         SF_OK);
        assert_int_equal(sf_state_advance(st, "revoked", outs[k], now - 3600000, 0,
                                          now - 3600000), SF_OK);
        assert_int_equal(sf_state_note(st, "revoked", outs[k], "fetch: tenant revoked: "
                                       "token request refused (HTTP 400 invalid_client): "
                                       "not consented", now - 1000), SF_OK);
        assert_int_equal(sf_state_start(st, "behind", outs[k], now - 86400000), SF_OK);
    }
    /* a tenant removed from the config (cursors are kept) with a name and an
     * error text nobody should trust */
    assert_int_equal(sf_state_start(st, hostile, "splunk", now - 7200000), SF_OK);
    assert_int_equal(sf_state_note(st, hostile, "splunk", "<script>alert(2)</script> & "
                                   "\"quoted\"", now - 1000), SF_OK);
    sf_state_close(st);
}

static json_object *doc_for(const struct sf_config *cfg, const char *tenant, size_t *nrows,
                            char **text)
{
    struct sf_state *st = NULL;
    struct sf_buf b;
    char errbuf[256];
    assert_int_equal(sf_state_open_readonly(cfg->state_dir, &st, errbuf, sizeof(errbuf)),
                     SF_OK);
    sf_buf_init(&b, 0);
    assert_int_equal(sf_status_store_json(cfg, st, tenant, NOW, &b, nrows), SF_OK);
    sf_state_close(st);
    json_object *o = json_tokener_parse(b.data);
    if (!o)
        fail_msg("not JSON: %s", b.data);
    *text = sf_buf_steal(&b, NULL);
    return o;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

static int64_t num(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_int64(v);
}

static void test_store_document(void **unused)
{
    struct sf_config *cfg = load();
    size_t n = 0;
    char *text;
    fill_store();
    json_object *doc = doc_for(cfg, NULL, &n, &text), *pairs, *counts;

    /* nothing a browser could take for markup, escaped or not */
    assert_null(strchr(text, '<'));
    assert_null(strchr(text, '>'));
    assert_string_equal(str(doc, "source"), "state_store");
    assert_int_equal(num(doc, "poll_interval_s"), 60);
    assert_true(json_object_object_get_ex(doc, "pairs", &pairs));
    /* good x2, revoked x2, behind x2, fresh x1 (configured, no cursor), hostile x1 */
    assert_int_equal(n, 8);
    assert_int_equal(json_object_array_length(pairs), 8);
    static const struct { const char *tenant, *output, *state; int configured; } want[] = {
        { "revoked", "arcsight", "consent_revoked", 1 },
        { "revoked", "splunk", "consent_revoked", 1 },
        { hostile, "splunk", "failing", 0 },
        { "behind", "arcsight", "lagging", 1 },
        { "behind", "splunk", "lagging", 1 },
        { "fresh", "splunk", "pending", 1 },
        { "good", "arcsight", "flowing", 1 },
        { "good", "splunk", "flowing", 1 },
    };
    for (size_t i = 0; i < 8; i++) {
        json_object *p = json_object_array_get_idx(pairs, i), *v;
        assert_string_equal(str(p, "tenant"), want[i].tenant);
        assert_string_equal(str(p, "output"), want[i].output);
        assert_string_equal(str(p, "state"), want[i].state);
        assert_true(json_object_object_get_ex(p, "configured", &v));
        assert_int_equal(json_object_get_boolean(v), want[i].configured);
        assert_true(str(p, "why")[0] != '\0');
    }
    json_object *h = json_object_array_get_idx(pairs, 2), *g = json_object_array_get_idx(pairs, 7);
    assert_string_equal(str(h, "last_error"), "<script>alert(2)</script> & \"quoted\"");
    assert_int_equal(num(h, "lag_s"), 7200);
    assert_int_equal(num(g, "lag_s"), 40);
    assert_int_equal(num(g, "last_success_ms"), NOW - 5000);
    assert_string_equal(str(g, "source"), "graph");
    assert_true(json_object_object_get_ex(doc, "counts", &counts));
    assert_int_equal(num(counts, "total"), 8);
    assert_int_equal(num(counts, "consent_revoked"), 2);
    assert_int_equal(num(counts, "failing"), 1);
    assert_int_equal(num(counts, "lagging"), 2);
    assert_int_equal(num(counts, "pending"), 1);
    assert_int_equal(num(counts, "flowing"), 2);
    json_object_put(doc);
    free(text);

    /* --tenant: only that tenant's pairs, the removed one included */
    doc = doc_for(cfg, hostile, &n, &text);
    assert_int_equal(n, 1);
    json_object_put(doc);
    free(text);
    doc = doc_for(cfg, "good", &n, &text);
    assert_int_equal(n, 2);
    assert_true(json_object_object_get_ex(doc, "pairs", &pairs));
    assert_string_equal(str(json_object_array_get_idx(pairs, 0), "tenant"), "good");
    json_object_put(doc);
    free(text);
    doc = doc_for(cfg, "nobody", &n, &text);
    assert_int_equal(n, 0);
    json_object_put(doc);
    free(text);
    sf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_auth_error_texts),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test_setup_teardown(test_store_document, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
