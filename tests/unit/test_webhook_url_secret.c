/* test_webhook_url_secret.c - regression (issue 10 B4): a webhook URL
 * carries a token in its path (Slack, Teams) but was dumped and printed like
 * any URL. Now it is masked in the config dump and known to the redactor
 * (whole and path alone) once the output is initialised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_config.h"
#include "sf_output.h"
#include "sf_redact.h"

static const char yaml[] =
    "state_dir: /tmp/sf-webhook-test\n"
    "tenants:\n"
    "  - name: a\n    tenant_id: 00000000-0000-0000-0000-000000000001\n"
    "    client_id: c\n    client_secret: tenant-Secret-1\n"
    "outputs:\n"
    "  - name: teams\n    type: webhook\n"
    "    url: https://hooks.example:8443/services/T0001/B0002/HookSecretXYZ123\n"
    "  - name: env\n    type: webhook\n    url: ${SF_TEST_HOOK}\n"
    "  - name: splunk\n    type: hec\n    format: json\n"
    "    url: https://splunk.example:8088\n    token: hec-Token-0001\n";

static void test_dump_masks_webhook_url(void **state)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs, out;
    (void)state;

    setenv("SF_TEST_HOOK", "https://hooks.example/env/EnvHookSecret77", 1);
    sf_buf_init(&errs, 0);
    sf_buf_init(&out, 0);
    if (sf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs) != SF_OK)
        fail_msg("config: %s", errs.data ? errs.data : "?");
    sf_config_dump(cfg, &out);
    assert_non_null(out.data);
    assert_null(strstr(out.data, "HookSecretXYZ123"));
    assert_null(strstr(out.data, "hooks.example"));
    assert_null(strstr(out.data, "hec-Token-0001"));
    /* other outputs' URLs are not secrets */
    assert_non_null(strstr(out.data, "https://splunk.example:8088"));
    sf_config_free(cfg);
    sf_buf_free(&errs);
    sf_buf_free(&out);
}

static void test_init_registers_webhook_url(void **state)
{
    struct sf_config *cfg = NULL;
    struct sf_buf errs;
    (void)state;

    sf_redact_reset();
    setenv("SF_TEST_HOOK", "https://hooks.example/env/EnvHookSecret77", 1);
    sf_buf_init(&errs, 0);
    assert_int_equal(sf_config_load_string("t.yaml", yaml, strlen(yaml), &cfg, &errs), SF_OK);
    for (size_t i = 0; i < 2; i++) {
        const struct sf_output_conf *oc = &cfg->outputs[i];
        struct sf_output o = { 0 };
        o.type = sf_output_type_find(oc->type);
        o.name = oc->name;
        o.state_dir = cfg->state_dir;
        if (o.type->init(&o, oc->node, oc->path, &errs) != SF_OK)
            fail_msg("init %s: %s", oc->name, errs.data ? errs.data : "?");
        o.type->destroy(&o);
    }
    char line[512] = "POST https://hooks.example:8443/services/T0001/B0002/HookSecretXYZ123: "
                     "404 no hook at /services/T0001/B0002/HookSecretXYZ123; "
                     "https://hooks.example/env/EnvHookSecret77";
    sf_redact(line, sizeof(line));
    assert_string_equal(line, "POST ***: 404 no hook at ***; ***");
    sf_config_free(cfg);
    sf_buf_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_masks_webhook_url),
        cmocka_unit_test(test_init_registers_webhook_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
