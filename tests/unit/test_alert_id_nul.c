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

static void test_alert_id_with_nul_is_refused(void **state)
{
    static const struct {
        enum sf_source src;
        const char *json;
    } bad[] = {
        { SF_SRC_GRAPH, "{\"id\":\"da1\\u0000a\",\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}" },
        { SF_SRC_GRAPH, "{\"id\":\"\\u0000\",\"lastUpdateDateTime\":\"2024-03-01T00:00:00Z\"}" },
        { SF_SRC_MDE, "{\"id\":\"da1\\u0000b\",\"lastUpdateTime\":\"2024-03-01T00:00:00Z\"}" },
        { SF_SRC_SIEM, "{\"FullId\":\"x\\u0000y\",\"AlertId\":\"a\\u0000b\","
                       "\"LastProcessedTimeUtc\":\"2024-03-01T00:00:00Z\"}" },
    };
    const char *id = NULL;
    int64_t ms = 0;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_object *o = json_tokener_parse(bad[i].json);
        assert_non_null(o);
        if (sf_alert_key(bad[i].src, o, &id, &ms) != -1)
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

    assert_int_equal(sf_alert_key(SF_SRC_GRAPH, o, &id, &ms), 0);
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
