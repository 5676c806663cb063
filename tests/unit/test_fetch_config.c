/* test_fetch_config.c - the configuration of the fetch stage's hardening
 * (issue 10 B8): http.max_retry_after (default, bounds) and tenants whose
 * authority or api_base is plain http://, refused with FILE:LINE. Configs
 * are inline strings; the loader is config/config*.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_config.h"

#define TENANT(extra)                                                   \
    "tenants:\n"                                                        \
    "  - name: contoso\n"                                               \
    "    tenant_id: 00000000-0000-0000-0000-000000000001\n"             \
    "    client_id: 11111111-2222-3333-4444-555555555555\n"             \
    "    client_secret: not-a-real-secret\n"                            \
    extra                                                               \
    "outputs:\n"                                                        \
    "  - name: out\n"                                                   \
    "    type: stdout\n"                                                \
    "    format: json\n"

static struct sf_config *load(const char *text, sf_err want, const char *want_errs)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;
    sf_err err;

    sf_buf_init(&errs, 0);
    err = sf_config_load_string("/tmp/F.yaml", text, strlen(text), &cfg, &errs);
    if (err != want)
        fail_msg("%s, want %s\n%s", sf_strerror(err), sf_strerror(want),
                 errs.data ? errs.data : "");
    assert_string_equal(errs.data ? errs.data : "", want_errs);
    sf_buf_free(&errs);
    return cfg;
}

static void test_max_retry_after(void **state)
{
    struct sf_config *cfg;
    (void)state;

    cfg = load(TENANT(""), SF_OK, "");
    assert_int_equal(cfg->http_max_retry_after_ms, 10 * 60 * 1000);   /* default */
    sf_config_free(cfg);
    cfg = load("http:\n  max_retry_after: 90s\n" TENANT(""), SF_OK, "");
    assert_int_equal(cfg->http_max_retry_after_ms, 90000);
    sf_config_free(cfg);
    load("http:\n  max_retry_after: 2d\n" TENANT(""), SF_ERR_CONFIG,
         "/tmp/F.yaml:2: http.max_retry_after: 2d is out of range 1s..1d\n");
}

/* Regression (issue 10 B8): `check` accepted an http:// authority, which
 * would send the client secret in clear text (and fail at run time, the
 * HTTP client speaking https only). Loopback is no exception. */
static void test_plain_http_hosts_refused(void **state)
{
    (void)state;

    load(TENANT("    authority: http://127.0.0.1:8080\n"), SF_ERR_CONFIG,
         "/tmp/F.yaml:6: tenants[0].authority: 'http://127.0.0.1:8080' is plain http://; the "
         "client secret and tokens travel only over https:// (an emulator or proxy: https:// "
         "with http.tls.ca_file)\n");
    load(TENANT("    api_base: http://graph.example\n"), SF_ERR_CONFIG,
         "/tmp/F.yaml:6: tenants[0].api_base: 'http://graph.example' is plain http://; the "
         "client secret and tokens travel only over https:// (an emulator or proxy: https:// "
         "with http.tls.ca_file)\n");
    struct sf_config *cfg = load(TENANT("    authority: https://127.0.0.1:8443/\n"
                                        "    api_base: https://127.0.0.1:8443\n"), SF_OK, "");
    assert_string_equal(cfg->tenants[0].authority, "https://127.0.0.1:8443");
    sf_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_retry_after),
        cmocka_unit_test(test_plain_http_hosts_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
