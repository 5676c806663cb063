/* test_leef.c - unit tests for the LEEF renderer, key check and delimiter
 * parsing: exact bytes for 1.0 and 2.0 headers, delimiters, attribute and
 * header sanitising, EventID and per-key limits, sev clamping, max_len. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_render.h"

#define R "\xEF\xBF\xBD"

static struct sf_record rec;
static struct sf_buf out;
static char err[256];

static int setup(void **state)
{
    (void)state;
    sf_record_init(&rec);
    sf_buf_init(&out, 0);
    err[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sf_record_free(&rec);
    sf_buf_free(&out);
    return 0;
}

static void hdr(enum sf_hdr h, const char *v)
{
    assert_int_equal(sf_record_set_hdr(&rec, h, v, strlen(v)), SF_OK);
}

static void add(const char *k, const char *v)
{
    assert_int_equal(sf_record_add(&rec, k, v, strlen(v)), SF_OK);
}

static void acme_header(void)
{
    hdr(SF_HDR_VENDOR, "Acme");
    hdr(SF_HDR_PRODUCT, "AlertHub");
    hdr(SF_HDR_VERSION, "2.3.1");
    hdr(SF_HDR_EVENT_ID, "MALWARE-42");
}

static const char *render(int version, char delim, size_t max_len)
{
    struct sf_render_opts o = {max_len, version, delim};
    sf_buf_reset(&out);
    assert_int_equal(sf_render_leef(&rec, &o, &out, err, sizeof(err)), SF_OK);
    return out.data;
}

static char *repeat(const char *unit, size_t times)
{
    size_t ul = strlen(unit), i;
    char *s = malloc(ul * times + 1);
    assert_non_null(s);
    for (i = 0; i < times; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * times] = '\0';
    return s;
}

static void test_leef1_reference_example(void **state)
{
    (void)state;
    acme_header();
    hdr(SF_HDR_NAME, "ignored: LEEF has no name");
    hdr(SF_HDR_SEVERITY, "ignored too");
    add("cat", "Malware");
    add("devTime", "1714644672345");
    add("sev", "8");
    add("src", "10.1.2.3");
    add("url", "https://x.example/?q=1");
    assert_string_equal(render(1, '^', 0),       /* 1.0 ignores leef_delim */
        "LEEF:1.0|Acme|AlertHub|2.3.1|MALWARE-42|cat=Malware\tdevTime=1714644672345"
        "\tsev=8\tsrc=10.1.2.3\turl=https://x.example/?q=1");
    assert_string_equal(render(0, 0, 0),
        "LEEF:1.0|Acme|AlertHub|2.3.1|MALWARE-42|cat=Malware\tdevTime=1714644672345"
        "\tsev=8\tsrc=10.1.2.3\turl=https://x.example/?q=1");
}

static void test_leef2_delimiters(void **state)
{
    (void)state;
    acme_header();
    add("cat", "Malware");
    add("sev", "8");
    assert_string_equal(render(2, '^', 0),
        "LEEF:2.0|Acme|AlertHub|2.3.1|MALWARE-42|^|cat=Malware^sev=8");
    assert_string_equal(render(2, 0, 0),
        "LEEF:2.0|Acme|AlertHub|2.3.1|MALWARE-42|x09|cat=Malware\tsev=8");
    assert_string_equal(render(2, '\t', 0),
        "LEEF:2.0|Acme|AlertHub|2.3.1|MALWARE-42|x09|cat=Malware\tsev=8");
    assert_string_equal(render(2, '|', 0),
        "LEEF:2.0|Acme|AlertHub|2.3.1|MALWARE-42|x7C|cat=Malware|sev=8");
    assert_string_equal(render(2, ' ', 0),
        "LEEF:2.0|Acme|AlertHub|2.3.1|MALWARE-42|x20|cat=Malware sev=8");
    assert_string_equal(render(2, '\x1f', 0),
        "LEEF:2.0|Acme|AlertHub|2.3.1|MALWARE-42|x1F|cat=Malware\x1fsev=8");
}

static void test_parse_delim(void **state)
{
    static const struct { const char *spec; char want; } ok[] = {
        {"^", '^'}, {"x5E", '^'}, {"0x09", '\t'}, {"x09", '\t'}, {"x7C", '|'},
        {"x7c", '|'}, {"X09", '\t'}, {"0X5e", '^'}, {"x9", '\t'}, {"x0009", '\t'},
        {"x", 'x'}, {"0", '0'}, {"|", '|'}, {" ", ' '},
    };
    static const char *const bad[] = {
        "", "xZZ", "ab", "x3D", "=", "x0A", "x0D", "x80", "x00", "x00009", "0x", "^^",
    };
    size_t i;
    char d;
    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        d = 0;
        assert_int_equal(sf_leef_parse_delim(ok[i].spec, &d), 0);
        assert_int_equal(d, ok[i].want);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = 'Q';
        assert_int_equal(sf_leef_parse_delim(bad[i], &d), -1);
        assert_int_equal(d, 'Q');
    }
    assert_int_equal(sf_leef_parse_delim(NULL, &d), -1);
}

static void test_key_check(void **state)
{
    static const char *const bad[] = {"", "a=b", "a b", "a\tb", "a|b", "a^b", "caf\xC3\xA9",
                                      "a\nb", "a-b"};
    char *k64 = repeat("k", 64), *k65 = repeat("k", 65);
    size_t i;
    (void)state;
    assert_int_equal(sf_leef_key_check("usrName", err, sizeof(err)), 0);
    assert_int_equal(sf_leef_key_check("identSecondlp", err, sizeof(err)), 0);
    assert_int_equal(sf_leef_key_check("alert_Id2", err, sizeof(err)), 0);
    assert_int_equal(sf_leef_key_check(k64, err, sizeof(err)), 0);
    assert_int_equal(sf_leef_key_check(k65, err, sizeof(err)), -1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(sf_leef_key_check(bad[i], err, sizeof(err)), -1);
        assert_true(strlen(err) > 0);
    }
    free(k64), free(k65);
}

static void test_attribute_sanitising(void **state)
{
    (void)state;
    add("msg", "a\tb\r\nc=d|e\\");
    add("title", "x^y\x01z");
    add("name", "bad\xFF" "utf8 \xE2\x82\xAC");
    add("empty", "");
    assert_string_equal(render(1, 0, 0),
        "LEEF:1.0|||||msg=a b  c=d|e\\\ttitle=x^y z\tname=bad" R "utf8 \xE2\x82\xAC");
    assert_string_equal(render(2, '^', 0),
        "LEEF:2.0|||||^|msg=a b  c=d|e\\^title=x y z^name=bad" R "utf8 \xE2\x82\xAC");
}

/* Regression (issue 10 B8): NEL U+0085 (and every C1 control), U+2028 and
 * U+2029 passed raw; they become a space like C0 controls and DEL, in the
 * header and in values. NBSP U+00A0 is text. */
static void test_unicode_line_breaks_replaced(void **state)
{
    (void)state;
    hdr(SF_HDR_VENDOR, "Ac\xC2\x85me");
    hdr(SF_HDR_PRODUCT, "Alert\xE2\x80\xA8Hub");
    hdr(SF_HDR_VERSION, "2\xE2\x80\xA9" "3");
    hdr(SF_HDR_EVENT_ID, "M\xC2\x9F");
    add("msg", "a\xC2\x85" "b\xE2\x80\xA8" "c\xE2\x80\xA9" "d\xC2\x80" "e\xC2\xA0" "f");
    add("usrName", "\xE2\x80\xA8x");
    assert_string_equal(render(2, '^', 0),
        "LEEF:2.0|Ac me|Alert Hub|2 3|M |^|msg=a b c d e\xC2\xA0" "f^usrName= x");
    assert_string_equal(render(1, 0, 0),
        "LEEF:1.0|Ac me|Alert Hub|2 3|M |msg=a b c d e\xC2\xA0" "f\tusrName= x");
}

static void test_header_sanitising(void **state)
{
    (void)state;
    hdr(SF_HDR_VENDOR, "A|B\\C\nD");
    hdr(SF_HDR_PRODUCT, "LEEF:1.0|x");
    hdr(SF_HDR_VERSION, "1\t2\r3");
    hdr(SF_HDR_EVENT_ID, "id\xC0");
    assert_string_equal(render(1, 0, 0), "LEEF:1.0|A/B/C D|LEEF:1.0/x|1 2 3|id" R "|");
}

static void test_event_id_limit(void **state)
{
    char *e300 = repeat("e", 300), *e254 = repeat("e", 254), want[600];
    (void)state;
    hdr(SF_HDR_EVENT_ID, e300);
    snprintf(want, sizeof(want), "LEEF:1.0||||%.255s|", e300);
    assert_string_equal(render(1, 0, 0), want);
    sf_record_reset(&rec);
    e254 = realloc(e254, 254 + 4);
    memcpy(e254 + 254, "\xE2\x82\xAC", 4);   /* 257 bytes: the euro cannot fit */
    hdr(SF_HDR_EVENT_ID, e254);
    snprintf(want, sizeof(want), "LEEF:1.0||||%.254s|", e254);
    assert_string_equal(render(1, 0, 0), want);
    free(e300), free(e254);
}

static void test_per_key_limits(void **state)
{
    char *u = repeat("u", 300), want[1024];
    (void)state;
    add("usrName", u);
    add("calLanguage", "english");
    add("customKey", u);                     /* custom keys: no limit */
    snprintf(want, sizeof(want), "LEEF:1.0|||||usrName=%.255s\tcalLanguage=en\tcustomKey=%s",
             u, u);
    assert_string_equal(render(1, 0, 0), want);
    free(u);
}

static void test_sev_clamp(void **state)
{
    static const char *const cases[][2] = {
        {"0", "1"}, {"1", "1"}, {"5", "5"}, {"10", "10"}, {"11", "10"}, {"-2", "1"},
        {"99999999999", "10"}, {" 7 ", "7"}, {"High", "8"}, {"very-high", "10"},
        {"Low", "3"}, {"medium", "6"}, {"Unknown", "1"}, {"garbage", "1"}, {"6.5", "1"},
    };
    char want[64];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sf_record_reset(&rec);
        add("sev", cases[i][0]);
        snprintf(want, sizeof(want), "LEEF:1.0|||||sev=%s", cases[i][1]);
        assert_string_equal(render(1, 0, 0), want);
    }
}

static void test_bad_options_and_keys(void **state)
{
    struct sf_render_opts o = {0, 3, 0};
    (void)state;
    add("a", "1");
    assert_int_equal(sf_buf_adds(&out, "keep"), SF_OK);
    assert_int_equal(sf_render_leef(&rec, &o, &out, err, sizeof(err)), SF_ERR_INVALID);
    o.leef_version = 2;
    o.leef_delim = '=';
    assert_int_equal(sf_render_leef(&rec, &o, &out, err, sizeof(err)), SF_ERR_INVALID);
    o.leef_delim = 'a';                      /* the key "a" contains the delimiter */
    assert_int_equal(sf_render_leef(&rec, &o, &out, err, sizeof(err)), SF_ERR_INVALID);
    assert_string_equal(out.data, "keep");
}

static void test_max_len(void **state)
{
    char *m = repeat("m", 100), want[512];
    struct sf_render_opts o = {5, 1, 0};
    (void)state;
    acme_header();
    add("sev", "10");
    add("msg", m);
    add("src", "10.1.2.3");
    /* full: 40 header + "sev=10" 6 + "\tmsg=" 5 + 100 + "\tsrc=10.1.2.3" 13 = 164 */
    assert_int_equal(strlen(render(1, 0, 0)), 164);
    snprintf(want, sizeof(want),
             "LEEF:1.0|Acme|AlertHub|2.3.1|MALWARE-42|sev=10\tmsg=%.49s\tsrc=10.1.2.3", m);
    assert_string_equal(render(1, 0, 113), want);   /* sev is never shortened */
    assert_int_equal(out.len, 113);
    sf_buf_reset(&out);
    assert_int_equal(sf_render_leef(&rec, &o, &out, err, sizeof(err)), SF_ERR_LIMIT);
    assert_int_equal(out.len, 0);
    assert_non_null(strstr(err, "max_len"));
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leef1_reference_example, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leef2_delimiters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_delim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attribute_sanitising, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_sanitising, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unicode_line_breaks_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_id_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_key_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sev_clamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_len, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
