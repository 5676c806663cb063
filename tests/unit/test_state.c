/* test_state.c - cursor store: marks, dedup lookups, watermark moves only
 * forward, pruning, persistence across reopen, state_dir created 0700;
 * extra tables of other modules in the same siemfwd.db (state_sqlite.h). */
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
#include "sf_state_kafka.h"
#include "state_sqlite.h"

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
    /* owners are the Kafka backend's: asked of SQLite, "none", not a crash */
    char owner[16] = "x";
    assert_int_equal(sf_state_kafka_owner(st, "contoso", "splunk", owner, sizeof(owner), NULL,
                                          NULL), -1);
    assert_string_equal(owner, "");

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

static sf_err insert_row(sqlite3 *db, void *opaque)
{
    (void)opaque;
    return sqlite3_exec(db, "INSERT INTO extra(k, v) VALUES('flood', 7)", NULL, NULL,
                        NULL) == SQLITE_OK ? SF_OK : SF_ERR_IO;
}

static sf_err read_row(sqlite3 *db, void *opaque)
{
    sqlite3_stmt *s = NULL;
    sf_err err = SF_ERR_NOTFOUND;

    if (sqlite3_prepare_v2(db, "SELECT v FROM extra WHERE k='flood'", -1, &s, NULL) ==
        SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
        *(int *)opaque = sqlite3_column_int(s, 0);
        err = SF_OK;
    }
    sqlite3_finalize(s);
    return err;
}

static void test_extra_tables_share_db(void **unused)
{
    struct sf_state *st = NULL;
    char errbuf[256];
    int v = 0;
    static const char sql[] = "CREATE TABLE IF NOT EXISTS extra (k TEXT PRIMARY KEY,"
                              " v INTEGER NOT NULL);";

    assert_int_equal(sf_state_open(dir, 0, &st, errbuf, sizeof(errbuf)), SF_OK);
    assert_int_equal(sf_state_sqlite_schema(st, sql, errbuf, sizeof(errbuf)), SF_OK);
    assert_int_equal(sf_state_sqlite_with_db(st, insert_row, NULL), SF_OK);
    struct sf_seen item = { "x1", 10, 0 };
    assert_int_equal(sf_state_mark(st, "fabrikam", "hec", &item, 1), SF_OK);
    sf_state_close(st);

    /* Survives a reopen, next to the cursors; a read-only handle reads it
     * and cannot create tables. */
    assert_int_equal(sf_state_open_readonly(dir, &st, errbuf, sizeof(errbuf)), SF_OK);
    assert_int_equal(sf_state_sqlite_with_db(st, read_row, &v), SF_OK);
    assert_int_equal(v, 7);
    assert_int_equal(sf_state_seen(st, "fabrikam", "hec", "x1", 10), 1);
    assert_int_equal(sf_state_sqlite_schema(st, "CREATE TABLE more (a);", errbuf,
                                            sizeof(errbuf)), SF_ERR_IO);
    assert_non_null(strstr(errbuf, "state: schema:"));
    sf_state_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor_lifecycle),
        cmocka_unit_test(test_backfill_start_does_not_slide),
        cmocka_unit_test(test_unwritable_dir),
        cmocka_unit_test(test_extra_tables_share_db),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
