/* test_time.c - ISO-8601 parsing / formatting (formats/time.c): fraction
 * lengths, zones, calendar validation, floor rounding, TZ independence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_time.h"

static int64_t parse_ok(const char *s)
{
    int64_t ms = 42;
    int rc = sf_time_parse_iso8601(s, strlen(s), &ms);
    if (rc != 0)
        fail_msg("rejected: '%s'", s);
    return ms;
}

static void assert_rejects(const char *s)
{
    int64_t ms = 42;
    if (sf_time_parse_iso8601(s, strlen(s), &ms) != -1)
        fail_msg("accepted: '%s'", s);
    assert_int_equal(ms, 42); /* untouched on failure */
}

static void test_fraction_digits(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2021-04-27T12:19:27Z"), INT64_C(1619525967000));
    assert_int_equal(parse_ok("2021-04-27T12:19:27.7Z"), INT64_C(1619525967700));
    assert_int_equal(parse_ok("2021-04-27T12:19:27.72Z"), INT64_C(1619525967720));
    assert_int_equal(parse_ok("2021-04-27T12:19:27.721Z"), INT64_C(1619525967721));
    assert_int_equal(parse_ok("2021-04-27T12:19:27.7211Z"), INT64_C(1619525967721));
    assert_int_equal(parse_ok("2021-04-27T12:19:27.72113Z"), INT64_C(1619525967721));
    assert_int_equal(parse_ok("2021-04-27T12:19:27.721130Z"), INT64_C(1619525967721));
    assert_int_equal(parse_ok("2021-04-27T12:19:27.7211305Z"), INT64_C(1619525967721));
    /* floor, not round: .9999999 stays in the same millisecond */
    assert_int_equal(parse_ok("2021-04-27T12:19:27.9999999Z"), INT64_C(1619525967999));
    assert_rejects("2021-04-27T12:19:27.72113051Z"); /* 8 digits */
    assert_rejects("2021-04-27T12:19:27.Z");          /* no digits */
}

static void test_zones(void **state)
{
    (void)state;
    /* no zone = UTC; z and t accepted like RFC 3339 */
    assert_int_equal(parse_ok("2020-09-30T14:09:20.35743"), INT64_C(1601474960357));
    assert_int_equal(parse_ok("2020-09-30t14:09:20.35743z"), INT64_C(1601474960357));
    assert_int_equal(parse_ok("2020-09-30 14:09:20.35743Z"), INT64_C(1601474960357));
    assert_int_equal(parse_ok("2020-09-30T16:09:20.357+02:00"), INT64_C(1601474960357));
    assert_int_equal(parse_ok("2020-09-30T16:09:20.357+0200"), INT64_C(1601474960357));
    assert_int_equal(parse_ok("2020-09-30T09:39:20.357-04:30"), INT64_C(1601474960357));
    assert_int_equal(parse_ok("2020-09-30T14:09:20.357+00:00"), INT64_C(1601474960357));
    assert_int_equal(parse_ok("2020-09-30T14:09:20.357-00:00"), INT64_C(1601474960357));
    /* offset crossing midnight and the year */
    assert_int_equal(parse_ok("1999-12-31T20:00:00-04:00"), INT64_C(946684800000));
    assert_rejects("2020-09-30T14:09:20+24:00");
    assert_rejects("2020-09-30T14:09:20+02:60");
    assert_rejects("2020-09-30T14:09:20+02");
    assert_rejects("2020-09-30T14:09:20+2:00");
    assert_rejects("2020-09-30T14:09:20 UTC");
    assert_rejects("2020-09-30T14:09:20ZZ");
}

static void test_calendar(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("2000-01-01T00:00:00Z"), INT64_C(946684800000));
    assert_int_equal(parse_ok("2024-02-29T23:59:59Z"), INT64_C(1709251199000));
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), INT64_C(951782400000));
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999Z"), INT64_C(253402300799999));
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z"), INT64_C(-62135596800000));
    /* before the epoch the fraction still counts forward: floor semantics */
    assert_int_equal(parse_ok("1969-12-31T23:59:59.9995Z"), -1);
    assert_rejects("2023-02-29T00:00:00Z"); /* not a leap year */
    assert_rejects("1900-02-29T00:00:00Z"); /* century, not leap */
    assert_rejects("2021-04-31T00:00:00Z");
    assert_rejects("2021-00-10T00:00:00Z");
    assert_rejects("2021-13-10T00:00:00Z");
    assert_rejects("2021-01-00T00:00:00Z");
    assert_rejects("2021-01-32T00:00:00Z");
    assert_rejects("2021-01-10T24:00:00Z");
    assert_rejects("2021-01-10T23:60:00Z");
    assert_rejects("2021-01-10T23:59:60Z");
}

static void test_garbage(void **state)
{
    (void)state;
    assert_rejects("");
    assert_rejects("garbage");
    assert_rejects("2021-01-10");
    assert_rejects("2021-01-10T");
    assert_rejects("2021-01-10T10:00");
    assert_rejects("21-01-10T10:00:00Z");
    assert_rejects("2021/01/10T10:00:00Z");
    assert_rejects("2021-1-10T10:00:00Z");
    assert_rejects("2021-01-10X10:00:00Z");
    assert_rejects("2021-01-10T10:00:00Z ");
    assert_rejects(" 2021-01-10T10:00:00Z");
    assert_rejects("2021-01-10T1a:00:00Z");
    assert_rejects("1619525967721");
    /* len is honoured: a valid prefix of a longer buffer parses */
    const char *s = "2021-01-10T10:00:00Zjunk";
    int64_t ms = 0;
    assert_int_equal(sf_time_parse_iso8601(s, 20, &ms), 0);
    assert_int_equal(ms, INT64_C(1610272800000));
    assert_int_equal(sf_time_parse_iso8601(s, 19, &ms), 0); /* no zone = UTC */
    assert_int_equal(sf_time_parse_iso8601(s, 18, &ms), -1);
    assert_int_equal(sf_time_parse_iso8601(NULL, 0, &ms), -1);
}

static void test_tz_independent(void **state)
{
    (void)state;
    setenv("TZ", "America/New_York", 1);
    tzset();
    assert_int_equal(parse_ok("2021-07-01T00:00:00Z"), INT64_C(1625097600000));
    char buf[32];
    assert_int_equal(sf_time_format_ms(INT64_C(1625097600000), buf, sizeof(buf)), 24);
    assert_string_equal(buf, "2021-07-01T00:00:00.000Z");
    unsetenv("TZ");
    tzset();
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(sf_time_format_ms(0, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    assert_int_equal(sf_time_format_ms(INT64_C(1619525967721), buf, sizeof(buf)), 24);
    assert_string_equal(buf, "2021-04-27T12:19:27.721Z");
    assert_int_equal(sf_time_format_ms(-1, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(sf_time_format_ms(INT64_C(1709251199000), buf, sizeof(buf)), 24);
    assert_string_equal(buf, "2024-02-29T23:59:59.000Z");
    assert_int_equal(sf_time_format_ms(INT64_C(253402300799999), buf, sizeof(buf)), 24);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    assert_int_equal(sf_time_format_ms(INT64_C(253402300800000), buf, sizeof(buf)), -1);
    assert_int_equal(sf_time_format_ms(0, buf, 24), -1);
    assert_int_equal(sf_time_format_ms(0, buf, 25), 24);
}

static void test_roundtrip_and_gmtime(void **state)
{
    (void)state;
    char buf[32];
    /* every day of a leap and a non-leap year survives format -> parse */
    for (int64_t day = 10957; day < 10957 + 366 + 365; day++) {
        int64_t ms = day * INT64_C(86400000) + 45296789; /* 12:34:56.789 */
        assert_int_equal(sf_time_format_ms(ms, buf, sizeof(buf)), 24);
        assert_int_equal(parse_ok(buf), ms);
    }
    struct tm tm;
    int msec = -1;
    assert_int_equal(sf_time_gmtime_ms(INT64_C(1619525967721), &tm, &msec), 0);
    assert_int_equal(tm.tm_year, 121);
    assert_int_equal(tm.tm_mon, 3);
    assert_int_equal(tm.tm_mday, 27);
    assert_int_equal(tm.tm_hour, 12);
    assert_int_equal(tm.tm_min, 19);
    assert_int_equal(tm.tm_sec, 27);
    assert_int_equal(tm.tm_wday, 2);  /* a Tuesday */
    assert_int_equal(tm.tm_yday, 116);
    assert_int_equal(msec, 721);
    assert_int_equal(sf_time_gmtime_ms(-1, &tm, &msec), 0);
    assert_int_equal(tm.tm_wday, 3);  /* 1969-12-31 was a Wednesday */
    assert_int_equal(msec, 999);
    assert_int_equal(sf_time_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(sf_time_days_from_civil(2000, 3, 1), 11017);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fraction_digits),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_tz_independent),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_roundtrip_and_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
