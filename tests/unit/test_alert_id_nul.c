/* test_alert_id_nul.c - regression (issue 10 B5): an alert id holding a NUL
 * ("\u0000") was compared and stored as its C-string prefix, so two alerts
 * differing past it became one and the second was lost without a trace.
 * Such ids are refused by the key function, for every source, so the
 * pipeline quarantines the alert as "without a usable id". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "source.h"
#include "sf_sources.h"

/* The sources as these tests index them (the forwarder names them). */
enum tsrc { TSRC_GRAPH, TSRC_MDE, TSRC_SIEM };
static const char *const tsrc_name[] = { "graph", "mde", "siem" };

/* The pipeline's dedup key: the alert view's id and last update. */
static int alert_key(enum tsrc s, json_object *a, const char **id, int64_t *ms)
{
    struct sf_alert_view v;

    if (sf_source_view(tsrc_name[s], a, NULL, &v) != 0 || !v.id || !v.last_update)
        return -1;
    *id = v.id;
    *ms = v.last_update_ms;
    return 0;
}

static void test_alert_id_with_nul_is_refused(void **state)
{
    static const struct {
        enum tsrc src;
        const char *json;
    } bad[] = {
        { TSRC_GRAPH, "{\"id\":\"da1\\u0000a\",\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}" },
        { TSRC_GRAPH, "{\"id\":\"\\u0000\",\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}" },
        { TSRC_MDE, "{\"id\":\"da1\\u0000b\",\"lastUpdateTime\":\"2024-03-01T00:00:00Z\"}" },
        { TSRC_SIEM, "{\"FullId\":\"x\\u0000y\",\"AlertId\":\"a\\u0000b\","
                       "\"LastProcessedTimeUtc\":\"2024-03-01T00:00:00Z\"}" },
    };
    const char *id = NULL;
    int64_t ms = 0;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *o = json_tokener_parse(bad[i].json);
        assert_non_null(o);
        if (alert_key(bad[i].src, o, &id, &ms) != -1)
            fail_msg("accepted %s", bad[i].json);
        json_object_put(o);
    }
}

static void test_alert_id_without_nul_still_accepted(void **state)
{
    json_object *o = json_tokener_parse(
        "{\"id\":\"da1\\u00e9\",\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}");
    const char *id = NULL;
    int64_t ms = 0;
    (void)state;

    assert_int_equal(alert_key(TSRC_GRAPH, o, &id, &ms), 0);
    assert_string_equal(id, "da1\xc3\xa9");
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alert_id_with_nul_is_refused),
        cmocka_unit_test(test_alert_id_without_nul_still_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
