/* test_state.c - cursor store: marks, dedup lookups, watermark moves only
 * forward, pruning, persistence across reopen, state_dir created 0700. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sf_state.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/sf_state_test_XXXXXX");
    assert_non_null(mkdtemp(dir));
    strcat(dir, "/state");
    return 0;
}

static void test_cursor_lifecycle(void **unused)
{
    struct sf_state *st = NULL;
    struct sf_cursor c;
    char errbuf[256];

    assert_int_equal(sf_state_open(dir, 0, &st, errbuf, sizeof(errbuf)), SF_OK);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);

    assert_int_equal(sf_state_cursor(st, "contoso", "splunk", &c), SF_OK);
    assert_int_equal(c.watermark_ms, -1);

    struct sf_seen items[] = { { "a1", 1000, 0 }, { "a2", 2000, 0 }, { "a3", 2500, 1 } };
    assert_int_equal(sf_state_mark(st, "contoso", "splunk", items, 3), SF_OK);
    assert_true(sf_state_seen(st, "contoso", "splunk", "a1", 1000));
    assert_false(sf_state_seen(st, "contoso", "splunk", "a1", 1001)); /* updated alert */
    assert_false(sf_state_seen(st, "contoso", "kafka", "a1", 1000));  /* other output */
    assert_false(sf_state_seen(st, "fabrikam", "splunk", "a1", 1000)); /* other tenant */

    assert_int_equal(sf_state_advance(st, "contoso", "splunk", 3000, 1500, 99), SF_OK);
    assert_false(sf_state_seen(st, "contoso", "splunk", "a1", 1000)); /* pruned */
    assert_true(sf_state_seen(st, "contoso", "splunk", "a2", 2000));
    /* never backwards */
    assert_int_equal(sf_state_advance(st, "contoso", "splunk", 2000, 0, 100), SF_OK);
    assert_int_equal(sf_state_note(st, "contoso", "splunk", "HEC 503", 101), SF_OK);
    sf_state_close(st);

    st = NULL;
    assert_int_equal(sf_state_open(dir, 1, &st, errbuf, sizeof(errbuf)), SF_OK);
    assert_int_equal(sf_state_cursor(st, "contoso", "splunk", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 3000);
    assert_int_equal(c.delivered, 2);
    assert_int_equal(c.quarantined, 1);
    assert_int_equal(c.last_success_ms, 100);
    assert_int_equal(c.last_attempt_ms, 101);
    assert_string_equal(c.last_error, "HEC 503");
    assert_true(sf_state_seen(st, "contoso", "splunk", "a3", 2500));
    sf_state_close(st);
}

/* Regression: a first backfill cut short (429, output down) used to restart
 * from a new `now - start_from` every cycle, so its start slid forward and
 * the alerts in between were never read. The start is now stored once. */
static void test_backfill_start_does_not_slide(void **unused)
{
    struct sf_state *st = NULL;
    struct sf_cursor c;
    char errbuf[256];

    assert_int_equal(sf_state_open(dir, 0, &st, errbuf, sizeof(errbuf)), SF_OK);
    assert_int_equal(sf_state_start(st, "northwind", "qradar", 5000), SF_OK);
    assert_int_equal(sf_state_start(st, "northwind", "qradar", 9000), SF_OK); /* later cycle */
    assert_int_equal(sf_state_cursor(st, "northwind", "qradar", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 5000);
    assert_int_equal(sf_state_advance(st, "northwind", "qradar", 7000, 6000, 1), SF_OK);
    assert_int_equal(sf_state_start(st, "northwind", "qradar", 1), SF_OK); /* no effect */
    assert_int_equal(sf_state_cursor(st, "northwind", "qradar", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 7000);
    sf_state_close(st);
}

static void test_unwritable_dir(void **unused)
{
    struct sf_state *st = NULL;
    char errbuf[256];
    assert_int_equal(sf_state_open("/proc/nonexistent/state", 0, &st, errbuf, sizeof(errbuf)),
                     SF_ERR_IO);
    assert_null(st);
    assert_non_null(strstr(errbuf, "/proc/nonexistent/state"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_lifecycle),
        cmocka_unit_test(test_backfill_start_does_not_slide),
        cmocka_unit_test(test_unwritable_dir),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
