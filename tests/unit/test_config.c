/* test_config.c - the config loader (config/config*.c) on the files in
 * tests/data/config: a complete good config checked field by field (with
 * the tenant_defaults merge), defaults, the masked dump, and broken configs
 * with their exact "FILE:LINE: path: message" lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config_priv.h"
#include "sf_config.h"
#include "sf_format.h"
#include "sf_output.h"
#include "sf_sources.h"

static char datadir[512];

static const char *data_path(const char *name)
{
    static char path[640];
    snprintf(path, sizeof(path), "%s/%s", datadir, name);
    return path;
}

static int setup(void **state)
{
    const char *src = getenv("SF_SOURCE_DIR");
    (void)state;

    snprintf(datadir, sizeof(datadir), "%s/tests/data/config", src ? src : ".");
    setenv("SF_TEST_CLIENT_ID", "11111111-2222-3333-4444-555555555555", 1);
    setenv("SF_TEST_CLIENT_SECRET", "env-client-secret", 1);
    setenv("SF_TEST_HEC_TOKEN", "hec-token-value", 1);
    setenv("SF_TEST_DIR", datadir, 1);
    unsetenv("SF_TEST_UNSET_SECRET");
    return 0;
}

static struct sf_config *load_ok(const char *name)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;

    sf_buf_init(&errs, 0);
    sf_err err = sf_config_load(data_path(name), &cfg, &errs);
    /* as every command loads it: then the tenants' source types check their
     * keys and fill in their defaults */
    if (err == SF_OK)
        err = sf_sources_apply(cfg, &errs);
    if (err != SF_OK)
        fail_msg("%s: %s\n%s", name, sf_strerror(err), errs.data ? errs.data : "");
    assert_null(errs.data);
    sf_buf_free(&errs);
    return cfg;
}

/* Loads name expecting err, and compares the error lines with want, in
 * which every line's leading "F:" stands for the file's path. */
static void expect_errors(const char *name, sf_err want_err, const char *want)
{
    struct sf_config *cfg = (struct sf_config *)&cfg; /* must stay untouched */
    struct sf_buf errs, exp;
    const char *path = data_path(name);

    sf_buf_init(&errs, 0);
    sf_buf_init(&exp, 0);
    for (const char *p = want; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (strncmp(p, "F:", 2) == 0) {
            sf_buf_printf(&exp, "%s:", path);
            sf_buf_add(&exp, p + 2, n - 2);
        } else {
            sf_buf_add(&exp, p, n);
        }
        p += n;
    }
    assert_int_equal(sf_config_load(path, &cfg, &errs), want_err);
    assert_ptr_equal(cfg, &cfg);
    assert_string_equal(errs.data ? errs.data : "", exp.data);
    sf_buf_free(&errs);
    sf_buf_free(&exp);
}

static void check_good_top(const struct sf_config *cfg)
{
    char want[640];

    assert_string_equal(cfg->file, data_path("good.yaml"));
    snprintf(want, sizeof(want), "%s/state", datadir);
    assert_string_equal(cfg->state_dir, want);
    assert_int_equal(cfg->poll_interval_ms, 120000);
    assert_string_equal(cfg->log_level, "debug");
    assert_string_equal(cfg->log_format, "json");
    assert_string_equal(cfg->organization, "Contoso MSSP");
    assert_string_equal(cfg->metrics_listen, "127.0.0.1:9464");
    assert_int_equal(cfg->http_timeout_ms, 45000);
    assert_int_equal(cfg->http_max_parallel, 8);
    /* the deprecated http.ca_file keeps its meaning: added to the system store */
    assert_string_equal(cfg->http_tls.ca_file, "/etc/ssl/extra.pem");
    assert_int_equal(cfg->http_tls.ca_add, 1);
    assert_int_equal(cfg->http_tls.verify, 1);
    assert_int_equal(cfg->http_max_response, 16 * 1024 * 1024);
    assert_non_null(cfg->doc);
}

static void check_common_tenant(const struct sf_tenant_conf *t)
{
    assert_string_equal(t->client_id, "11111111-2222-3333-4444-555555555555");
    assert_int_equal(t->start_from_ms, 48LL * 3600 * 1000);
}

static void check_good_tenants(const struct sf_config *cfg)
{
    const struct sf_tenant_conf *t;
    char want[640];

    assert_int_equal(cfg->n_tenants, 4);
    /* contoso: everything from tenant_defaults */
    t = &cfg->tenants[0];
    check_common_tenant(t);
    assert_string_equal(t->name, "contoso");
    assert_string_equal(t->tenant_id, "00000000-0000-0000-0000-000000000001");
    assert_string_equal(t->source_name, "graph");
    assert_string_equal(t->client_secret, "env-client-secret");
    assert_int_equal(t->has_cert, 0);
    assert_string_equal(t->authority, "https://login.microsoftonline.com");
    assert_string_equal(t->api_base, "https://graph.emulator.test:8443"); /* '/' stripped */
    assert_int_equal(t->overlap_ms, 600000);
    assert_int_equal(t->settle_ms, 60000);
    assert_int_equal(t->page_size, 250);
    assert_string_equal(t->filter, "serviceSource eq 'microsoftDefenderForEndpoint'");
    assert_int_equal(t->outputs.n, 2);
    assert_string_equal(t->outputs.v[0], "arcsight");
    assert_string_equal(t->outputs.v[1], "splunk");
    assert_int_equal(t->enabled, 1);
    assert_int_equal(t->line, 30);

    /* fabrikam: overrides source and api_base; filter is graph's, not inherited */
    t = &cfg->tenants[1];
    check_common_tenant(t);
    assert_string_equal(t->name, "fabrikam");
    assert_string_equal(t->tenant_id, "00000000-0000-0000-0000-00000000000A");
    assert_string_equal(t->source_name, "mde");
    assert_string_equal(t->api_base, "https://eu.api.security.microsoft.com");
    assert_string_equal(t->client_secret, "env-client-secret");
    assert_int_equal(t->page_size, 5000);
    assert_null(t->filter);
    assert_int_equal(t->outputs.n, 1);
    assert_string_equal(t->outputs.v[0], "splunk");
    assert_int_equal(t->enabled, 0);
    assert_int_equal(t->overlap_ms, 600000);

    /* northwind.eu: own certificate, so no inherited client_secret */
    t = &cfg->tenants[2];
    check_common_tenant(t);
    assert_string_equal(t->name, "northwind.eu");
    assert_string_equal(t->source_name, "siem");
    assert_null(t->client_secret);
    assert_int_equal(t->has_cert, 1);
    snprintf(want, sizeof(want), "%s/certs/northwind.pem", datadir);
    assert_string_equal(t->cert.cert_file, want);
    assert_string_equal(t->cert.key_file, "/etc/siemfwd/northwind.key");
    assert_string_equal(t->cert.key_password, "correct horse");
    assert_string_equal(t->authority, "https://login.microsoftonline.us");
    assert_string_equal(t->api_base, "https://wdatp-alertexporter-eu.windows.com");
    assert_int_equal(t->page_size, 0);
    assert_null(t->filter);
    assert_int_equal(t->outputs.n, 2);

    /* woodgrove_2: other source without api_base -> that source's default */
    t = &cfg->tenants[3];
    assert_string_equal(t->name, "woodgrove_2");
    assert_string_equal(t->source_name, "mde");
    assert_string_equal(t->api_base, "https://api.securitycenter.microsoft.com");
    assert_int_equal(t->page_size, 10000);
    assert_string_equal(t->client_secret, "correct horse");
    assert_int_equal(t->start_from_ms, 0);
    assert_int_equal(t->overlap_ms, 0);
    assert_int_equal(t->settle_ms, 250);
}

static void check_good_formats_outputs(const struct sf_config *cfg)
{
    const struct sf_output_conf *o;
    char want[640];

    assert_int_equal(cfg->n_formats, 3);
    assert_string_equal(cfg->formats[0].name, "arcsight-cef");
    assert_string_equal(cfg->formats[0].type_name, "cef");
    snprintf(want, sizeof(want), "%s/maps/cef-defender.yaml", datadir);
    assert_string_equal(cfg->formats[0].map, want);
    assert_int_equal(cfg->formats[0].max_len, 8192);
    assert_string_equal(cfg->formats[1].type_name, "leef");
    assert_string_equal(cfg->formats[1].map, "/usr/share/siemfwd/maps/leef-defender.yaml");
    assert_int_equal(cfg->formats[1].max_len, 0);
    assert_string_equal(cfg->formats[2].type_name, "json");
    assert_null(cfg->formats[2].map);

    assert_int_equal(cfg->n_outputs, 4);
    o = sf_config_output(cfg, "arcsight");
    assert_ptr_equal(o, &cfg->outputs[0]);
    assert_string_equal(o->type, "syslog");
    assert_ptr_equal(o->fmt, &cfg->formats[0]);
    assert_string_equal(o->path, "outputs[0]");
    assert_int_equal(o->line, 68);
    assert_string_equal(sf_node_get(o->node, "transport")->str, "tls");
    assert_null(o->rules);
    o = &cfg->outputs[1];
    assert_string_equal(o->format, "json");
    assert_null(o->fmt); /* built-in json */
    /* output-specific keys are left raw for the output type */
    assert_string_equal(sf_node_get(o->node, "token")->str, "${SF_TEST_HEC_TOKEN}");
    o = &cfg->outputs[2];
    assert_string_equal(o->type, "email");
    assert_null(o->format);
    assert_int_equal(o->rules->type, SF_NODE_SEQ);
    assert_int_equal(o->rules->line, 86);
    assert_string_equal(sf_node_get(o->flood, "per")->str, "10m");
    assert_ptr_equal(cfg->outputs[3].fmt, sf_config_format(cfg, "qradar-leef"));
    assert_ptr_equal(sf_config_tenant(cfg, "fabrikam"), &cfg->tenants[1]);
    assert_null(sf_config_tenant(cfg, "nobody"));
    assert_null(sf_config_output(cfg, "nothing"));
}

static void test_good_config(void **state)
{
    struct sf_config *cfg = load_ok("good.yaml");
    (void)state;

    check_good_top(cfg);
    check_good_tenants(cfg);
    check_good_formats_outputs(cfg);
    sf_config_free(cfg);
}

static void test_minimal_defaults(void **state)
{
    struct sf_config *cfg = load_ok("minimal.yaml");
    const struct sf_tenant_conf *t = &cfg->tenants[0];
    (void)state;

    assert_string_equal(cfg->state_dir, "/var/lib/siemfwd");
    assert_int_equal(cfg->poll_interval_ms, 60000);
    assert_string_equal(cfg->log_level, "info");
    assert_string_equal(cfg->log_format, "logfmt");
    assert_null(cfg->organization);
    assert_null(cfg->metrics_listen);
    assert_int_equal(cfg->http_timeout_ms, 30000);
    assert_int_equal(cfg->http_max_parallel, 32);
    assert_null(cfg->http_tls.ca_file);
    assert_int_equal(cfg->http_tls.verify, 1);
    assert_int_equal(cfg->http_max_response, 64 * 1024 * 1024);
    assert_int_equal(cfg->n_formats, 0);
    assert_string_equal(t->source_name, "graph");
    assert_string_equal(t->authority, "https://login.microsoftonline.com");
    assert_string_equal(t->api_base, "https://graph.microsoft.com");
    assert_int_equal(t->start_from_ms, 86400000);
    assert_int_equal(t->overlap_ms, 300000);
    assert_int_equal(t->settle_ms, 30000);
    assert_int_equal(t->page_size, 500);
    assert_int_equal(t->enabled, 1);
    assert_int_equal(t->outputs.n, 1); /* default: every output */
    assert_string_equal(t->outputs.v[0], "out");
    sf_config_free(cfg);
}

static void test_credentials_merge(void **state)
{
    struct sf_config *cfg = load_ok("merge.yaml");
    const struct sf_tenant_conf *t;
    char want[640];
    (void)state;

    t = sf_config_tenant(cfg, "inherits-cert");
    assert_int_equal(t->has_cert, 1);
    assert_null(t->client_secret);
    assert_string_equal(t->cert.cert_file, "/etc/siemfwd/app.pem");
    snprintf(want, sizeof(want), "%s/app.key", datadir);
    assert_string_equal(t->cert.key_file, want);
    assert_null(t->cert.key_password);
    assert_string_equal(t->api_base, "https://us.api.security.microsoft.com");
    t = sf_config_tenant(cfg, "own-secret");
    assert_int_equal(t->has_cert, 0);
    assert_string_equal(t->client_secret, "tenant-secret");
    t = sf_config_tenant(cfg, "graph-tenant");
    assert_int_equal(t->has_cert, 1);
    assert_string_equal(t->client_id, "other-app");
    assert_string_equal(t->api_base, "https://graph.microsoft.com");
    assert_int_equal(t->outputs.n, 2);
    sf_config_free(cfg);
}

static const char minimal_dump[] =
    "state_dir: /var/lib/siemfwd\n"
    "poll_interval: 1m\n"
    "log_level: info\n"
    "log_format: logfmt\n"
    "shutdown_timeout: 30s\n"
    "state_sync: normal\n"
    "http:\n"
    "  timeout: 30s\n"
    "  max_parallel: 32\n"
    "  max_response: 64MiB\n"
    "  max_retry_after: 10m\n"
    "tenants:\n"
    "  - name: contoso\n"
    "    tenant_id: 00000000-0000-0000-0000-000000000001\n"
    "    source: graph\n"
    "    client_id: 11111111-2222-3333-4444-555555555555\n"
    "    client_secret: \"***\"\n"
    "    authority: https://login.microsoftonline.com\n"
    "    api_base: https://graph.microsoft.com\n"
    "    start_from: 1d\n"
    "    overlap: 5m\n"
    "    settle: 30s\n"
    "    page_size: 500\n"
    "    outputs: [out]\n"
    "    enabled: true\n"
    "outputs:\n"
    "  - name: out\n"
    "    type: stdout\n"
    "    format: json\n"
    "    queue_max_bytes: 16MiB\n"
    "    queue_max_failing: 5m\n";

static void test_dump(void **state)
{
    static const char *const secrets[] = {
        "env-client-secret", "correct horse", "hec-token-value", "literal-smtp-pass",
        "not-a-real-secret",
    };
    struct sf_config *cfg = load_ok("minimal.yaml"), *again = NULL;
    struct sf_buf out, out2, errs;
    char path[] = "/tmp/sf_config_dump_XXXXXX";
    (void)state;

    sf_buf_init(&out, 0);
    sf_buf_init(&out2, 0);
    sf_buf_init(&errs, 0);
    sf_config_dump(cfg, &out);
    assert_string_equal(out.data, minimal_dump);
    sf_config_free(cfg);

    /* Every secret masked; the dump is itself a valid config that dumps
     * the same way (secrets become the literal "***"). */
    cfg = load_ok("good.yaml");
    sf_buf_reset(&out);
    sf_config_dump(cfg, &out);
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (strstr(out.data, secrets[i]))
            fail_msg("secret '%s' in dump:\n%s", secrets[i], out.data);
    assert_non_null(strstr(out.data, "    client_secret: \"***\"\n"));
    assert_non_null(strstr(out.data, "      key_password: \"***\"\n"));
    assert_non_null(strstr(out.data, "    token: \"***\"\n    ack: true\n"));
    assert_non_null(strstr(out.data, "    password: \"***\"\n"));
    assert_non_null(strstr(out.data, "    tls: {ca_file: /etc/ssl/ca.pem, verify: true}\n"));
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, out.data, out.len), (ssize_t)out.len);
    close(fd);
    assert_int_equal(sf_config_load(path, &again, &errs), SF_OK);
    sf_config_dump(again, &out2);
    assert_string_equal(out2.data, out.data);
    unlink(path);
    sf_config_free(again);
    sf_config_free(cfg);
    sf_buf_free(&out);
    sf_buf_free(&out2);
    sf_buf_free(&errs);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    expect_errors("bad-unknown-key.yaml", SF_ERR_CONFIG,
                  "F:2: poll_intervall: unknown key (did you mean 'poll_interval'?)\n"
                  "F:4: http.max_paralel: unknown key (did you mean 'max_parallel'?)\n"
                  "F:14: outputs[0].format: required key is missing (is 'fromat' a typo?)\n"
                  "F:10: tenants[0].ovrelap: unknown key (did you mean 'overlap'?)\n");
}

static void test_bad_duration(void **state)
{
    (void)state;
    expect_errors("bad-duration.yaml", SF_ERR_CONFIG,
                  "F:2: poll_interval: '60' needs a unit (ms, s, m, h or d)\n"
                  "F:8: tenants[0].overlap: '5 minutes' is not a duration "
                  "(use e.g. 250ms, 30s, 5m, 1h30m, 1d)\n");
}

static void test_out_of_range(void **state)
{
    (void)state;
    expect_errors("bad-range.yaml", SF_ERR_CONFIG,
                  "F:2: poll_interval: 500ms is out of range 1s..1d\n"
                  "F:4: http.max_parallel: 5000 is out of range 1..1024\n"
                  "F:5: http.max_response: 2GiB is out of range 64KiB..1GiB\n"
                  "F:11: tenants[0].page_size: 0 is out of range 1..10000\n");
}

/* Issue 9: a budget of zero or below is a config error with FILE:LINE. */
static void test_bad_queue_budget(void **state)
{
    (void)state;
    expect_errors("bad-queue.yaml", SF_ERR_CONFIG,
                  "F:11: outputs[0].queue_max_bytes: 0 is out of range 64KiB..64GiB\n"
                  "F:15: outputs[1].queue_max_bytes: '-5MiB' is not a size (use e.g. 4096, "
                  "64KiB, 16MiB, 1GiB)\n"
                  "F:16: outputs[1].queue_max_failing: 0s is out of range 1s..7d\n"
                  "F:20: outputs[2].events: only email and webhook outputs send operational "
                  "events (this one is stdout)\n");
}

static void test_duplicate_tenant(void **state)
{
    (void)state;
    expect_errors("bad-duplicate-tenant.yaml", SF_ERR_CONFIG,
                  "F:10: tenants[2].name: duplicate tenant name 'contoso' (first at line 6)\n");
}

static void test_bad_guid(void **state)
{
    (void)state;
    expect_errors("bad-guid.yaml", SF_ERR_CONFIG,
                  "F:7: tenants[0].tenant_id: 'contoso.onmicrosoft.com' is not a GUID "
                  "(like 00000000-0000-0000-0000-000000000000)\n"
                  "F:9: tenants[1].tenant_id: '00000000-0000-0000-0000-00000000000G' is not "
                  "a GUID (like 00000000-0000-0000-0000-000000000000)\n"
                  "F:11: tenants[2].tenant_id: '00000000-0000-0000-0000-0000000000011' is not "
                  "a GUID (like 00000000-0000-0000-0000-000000000000)\n");
}

static void test_unknown_references(void **state)
{
    (void)state;
    expect_errors("bad-output-ref.yaml", SF_ERR_CONFIG,
                  "F:19: outputs[0].format: unknown format 'arcsight' "
                  "(did you mean 'arcsight-cef'?)\n"
                  "F:22: outputs[1].format: unknown format 'jsn' (did you mean 'json'?)\n"
                  "F:8: tenants[0].outputs[1]: unknown output 'splnk' "
                  "(did you mean 'splunk'?)\n"
                  "F:11: tenants[1].outputs: unknown output 'elsewhere'\n");
}

static void test_missing_secret_env(void **state)
{
    (void)state;
    expect_errors("bad-secret-env.yaml", SF_ERR_CONFIG,
                  "F:4: tenant_defaults.client_secret: environment variable "
                  "SF_TEST_UNSET_SECRET is not set\n");
}

static void test_yaml_syntax_error(void **state)
{
    (void)state;
    expect_errors("bad-yaml.yaml", SF_ERR_PARSE,
                  "F:5: did not find expected ',' or ']' while parsing a flow sequence\n");
    expect_errors("no-such-file.yaml", SF_ERR_IO,
                  "F: cannot open: No such file or directory\n");
}

static void test_cross_checks(void **state)
{
    (void)state;
    expect_errors("bad-checks.yaml", SF_ERR_CONFIG,
        "F:2: log_level: 'verbose' is not one of error, warn, info, debug\n"
        "F:4: metrics.listen: 'localhost' is not HOST:PORT (e.g. 127.0.0.1:9464)\n"
        "F:31: formats[0].map: required for type cef\n"
        "F:35: formats[1].map: type json takes no map\n"
        "F:37: formats[2].type: 'xml' is not one of cef, leef, json\n"
        "F:36: formats[2].name: duplicate format name 'cef' (first at line 31)\n"
        "F:40: outputs[0].type: 'syslogd' is not one of syslog, kafka, hec, file, stdout, "
        "email, webhook (did you mean 'syslog'?)\n"
        "F:42: outputs[1].name: duplicate output name 'out' (first at line 39)\n"
        "F:42: outputs[1].format: required key is missing\n"
        "F:6: tenant_defaults.name: belongs to each tenant, not to tenant_defaults\n"
        "F:9: tenants[0].name: 'has space' may only use letters, digits, '.', '_' and '-'\n"
        "F:9: tenants[0]: give client_secret or certificate, not both\n"
        "F:13: tenants[1]: needs client_secret or certificate\n"
        "F:20: tenants[2].api_base: 'ftp://example' is not an http:// or https:// URL\n"
        "F:26: tenants[3].outputs: empty list (leave the key out to use every output)\n"
        "F:29: tenants[4].certificate.key_file: required key is missing\n");
}

/* The keys that depend on the source are the source types' to check, after
 * the loader (every command does both): a name not registered, page_size
 * where the API does not page, filter where it does not filter, and the
 * SIEM API's regional host, which has no default (one default, one check). */
static void test_source_checks(void **state)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;
    const char *path = data_path("bad-sources.yaml");
    char want[2048];
    (void)state;

    sf_buf_init(&errs, 0);
    assert_int_equal(sf_config_load(path, &cfg, &errs), SF_OK);
    assert_null(errs.data);
    /* the loader knows no source: nothing filled in yet */
    assert_null(cfg->tenants[5].api_base);
    assert_int_equal(cfg->tenants[5].page_size, 50);
    assert_null(cfg->tenants[4].api_base);
    assert_int_equal(cfg->tenants[4].page_size, 0);
    assert_int_equal(sf_sources_apply(cfg, &errs), SF_ERR_CONFIG);
    snprintf(want, sizeof(want),
             "%s:10: tenants[0].source: 'grpah' is not one of graph, mde, siem (did you mean "
             "'graph'?)\n"
             "%s:14: tenants[1].filter: the mde source takes no filter (graph does)\n"
             "%s:19: tenants[2].page_size: the siem source has no paging\n"
             "%s:20: tenants[3]: source siem needs api_base: the customer's regional "
             "exporter, https://wdatp-alertexporter-eu.windows.com (or -us, -uk; "
             "defender-api.md 2.1)\n", path, path, path, path);
    assert_string_equal(errs.data, want);
    /* the rest got their source's defaults: filter inherited by graph only */
    assert_string_equal(cfg->tenants[4].api_base, "https://graph.microsoft.com");
    assert_int_equal(cfg->tenants[4].page_size, 500);
    assert_string_equal(cfg->tenants[4].filter, "severity eq 'high'");
    assert_string_equal(cfg->tenants[5].api_base, "https://api.securitycenter.microsoft.com");
    assert_int_equal(cfg->tenants[5].page_size, 50);
    assert_null(cfg->tenants[5].filter);
    sf_config_free(cfg);
    sf_buf_free(&errs);
}

/* config cannot see formats/ or outputs/, so it checks `type:` against
 * lists of its own: they must hold the registries' names (any order). */
static void assert_same_names(const struct sf_conf_entry *table, const char *const *names)
{
    const char *const *values = NULL;
    size_t nv = 0, nn = 0;

    for (; table->key && !values; table++)
        if (strcmp(table->key, "type") == 0)
            values = table->values;
    assert_non_null(values);
    for (; values[nv]; nv++) {
        size_t j = 0;
        while (names[j] && strcmp(names[j], values[nv]) != 0)
            j++;
        if (!names[j])
            fail_msg("config accepts type '%s', which is not registered", values[nv]);
    }
    while (names[nn])
        nn++;
    assert_int_equal(nv, nn);
}

static void test_type_lists_match_registries(void **state)
{
    (void)state;
    assert_same_names(cfg_format_table, sf_format_type_names());
    assert_same_names(cfg_output_table, sf_output_type_names());
}

/* config/examples/siemfwd.yaml is the shipped example: it must load. */
static void test_example(void **state)
{
    static const char *const files[] = { "client-secret", "key-password", "splunk-hec-token" };
    char dir[] = "/tmp/sf_creds_XXXXXX", path[640];
    const char *src = getenv("SF_SOURCE_DIR");
    struct sf_config *cfg = NULL;
    struct sf_buf errs;
    (void)state;

    assert_non_null(mkdtemp(dir));
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fprintf(fp, "%s-value\n", files[i]);
        fclose(fp);
    }
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    setenv("SIEMFWD_CLIENT_ID", "11111111-2222-3333-4444-555555555555", 1);
    snprintf(path, sizeof(path), "%s/config/examples/siemfwd.yaml", src ? src : ".");
    sf_buf_init(&errs, 0);
    if (sf_config_load(path, &cfg, &errs) != SF_OK || sf_sources_apply(cfg, &errs) != SF_OK)
        fail_msg("%s", errs.data ? errs.data : "?");
    assert_int_equal(cfg->n_tenants, 4);
    assert_int_equal(cfg->n_formats, 3);
    assert_int_equal(cfg->n_outputs, 6);
    assert_string_equal(cfg->tenants[0].client_secret, "client-secret-value");
    assert_string_equal(cfg->tenants[1].api_base, "https://eu.api.security.microsoft.com");
    assert_int_equal(cfg->tenants[1].page_size, 10000);
    assert_string_equal(cfg->tenants[2].cert.key_password, "key-password-value");
    assert_null(cfg->tenants[2].client_secret);
    assert_int_equal(cfg->tenants[3].enabled, 0);
    assert_int_equal(cfg->tenants[3].outputs.n, 6);
    assert_string_equal(cfg->formats[0].map, "/usr/share/siemfwd/maps/cef-defender.yaml");
    sf_config_free(cfg);
    sf_buf_free(&errs);
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void test_bad_names(void **state)
{
    (void)state;
    expect_errors("bad-names.yaml", SF_ERR_CONFIG,
        "F:12: outputs[0].name: 'out/1' may only use letters, digits, '.', '_' and '-'\n"
        "F:6: tenants[0].name: 'a-name-that-goes...' is longer than 64 characters\n"
        "F:8: tenants[1].name: '' may only use letters, digits, '.', '_' and '-'\n"
        "F:10: tenants[2]: expected a mapping, got a scalar\n");
}

static void test_doc(void **state)
{
    struct sf_buf out;
    (void)state;

    sf_buf_init(&out, 0);
    sf_config_doc(&out);
    assert_non_null(strstr(out.data, "http:\nKEY "));
    assert_non_null(strstr(out.data,
        "\nmax_parallel         integer   32               tenants fetched at once (1..1024)\n"));
    assert_non_null(strstr(out.data,
        "\nsource               string    graph            alert API: graph (alerts_v2), mde "
        "(/api/alerts), siem (legacy SIEM API)\n"));
    assert_non_null(strstr(out.data, "\ntenant_id            string    (required)       "));
    sf_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config),
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_credentials_merge),
        cmocka_unit_test(test_dump),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_bad_duration),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_queue_budget),
        cmocka_unit_test(test_duplicate_tenant),
        cmocka_unit_test(test_bad_guid),
        cmocka_unit_test(test_unknown_references),
        cmocka_unit_test(test_missing_secret_env),
        cmocka_unit_test(test_yaml_syntax_error),
        cmocka_unit_test(test_cross_checks),
        cmocka_unit_test(test_source_checks),
        cmocka_unit_test(test_type_lists_match_registries),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_example),
        cmocka_unit_test(test_doc),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
