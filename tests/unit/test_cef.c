/* test_cef.c - unit tests for the CEF renderer and key check: exact bytes
 * for escaping (header and extension), UTF-8, per-key limits, severity,
 * empty values, max_len shrinking. */
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

static void std_header(void)
{
    hdr(SF_HDR_VENDOR, "Microsoft");
    hdr(SF_HDR_PRODUCT, "Defender");
    hdr(SF_HDR_VERSION, "2.0");
    hdr(SF_HDR_EVENT_ID, "42");
    hdr(SF_HDR_NAME, "Malware");
    hdr(SF_HDR_SEVERITY, "8");
}

static const char *render(size_t max_len)
{
    struct sf_render_opts o = {max_len, 0, 0};
    sf_buf_reset(&out);
    assert_int_equal(sf_render_cef(&rec, &o, &out, err, sizeof(err)), SF_OK);
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

static void test_basic_line(void **state)
{
    (void)state;
    std_header();
    add("src", "10.0.0.1");
    add("act", "blocked");
    assert_string_equal(render(0),
        "CEF:0|Microsoft|Defender|2.0|42|Malware|8|src=10.0.0.1 act=blocked");
}

static void test_header_escaping(void **state)
{
    (void)state;
    hdr(SF_HDR_VENDOR, "a|b\\c");
    hdr(SF_HDR_PRODUCT, "x\ny\rz\tw=q");
    hdr(SF_HDR_VERSION, "end\\");
    hdr(SF_HDR_EVENT_ID, "\x01\x1f");
    hdr(SF_HDR_NAME, "evil|CEF:0|x|y");
    hdr(SF_HDR_SEVERITY, "3");
    assert_string_equal(render(0),
        "CEF:0|a\\|b\\\\c|x y z w=q|end\\\\|  |evil\\|CEF:0\\|x\\|y|3|");
}

static void test_extension_escaping(void **state)
{
    (void)state;
    std_header();
    add("msg", "a\\b=c\nd\re\tf|g\x01h");
    add("filePath", "C:\\dir\\");
    add("request", "http://x/?a=b");
    add("cs1", "x CEF:0|a|b|c|d|e|10|src=1.2.3.4");
    add("fname", "crlf\r\n");
    assert_string_equal(render(0),
        "CEF:0|Microsoft|Defender|2.0|42|Malware|8|"
        "msg=a\\\\b\\=c\\nd\\re f|g h filePath=C:\\\\dir\\\\ "
        "request=http://x/?a\\=b cs1=x CEF:0|a|b|c|d|e|10|src\\=1.2.3.4 "
        "fname=crlf\\r\\n");
}

static void test_utf8_everywhere(void **state)
{
    (void)state;
    hdr(SF_HDR_VENDOR, "Caf\xC3\xA9");
    hdr(SF_HDR_NAME, "a\xFF" "b");
    hdr(SF_HDR_SEVERITY, "1");
    add("msg", "\xC3\x28 \xE2\x82\xAC \xED\xA0\x80");
    assert_string_equal(render(0),
        "CEF:0|Caf\xC3\xA9||||a" R "b|1|msg=" R "( \xE2\x82\xAC " R R R);
}

/* Regression (issue 10 B8): NEL U+0085 and the other C1 controls, U+2028
 * and U+2029 break lines in some viewers and parsers; they passed raw. Now
 * they are replaced like C0 controls and DEL; NBSP U+00A0 is text. */
static void test_unicode_line_breaks_replaced(void **state)
{
    (void)state;
    hdr(SF_HDR_VENDOR, "V\xC2\x85" "x");
    hdr(SF_HDR_NAME, "a\xE2\x80\xA8" "b\xE2\x80\xA9" "c\xC2\x80" "d");
    hdr(SF_HDR_SEVERITY, "1");
    add("msg", "x\xC2\x85y\xE2\x80\xA8z\xE2\x80\xA9w\xC2\x9F" "v\xC2\xA0" "u\xE2\x80\xAF" "t");
    add("cs1", "\xE2\x80\xA8\xC2\x85");   /* nothing but line breaks: left out */
    assert_string_equal(render(0),
        "CEF:0|V x||||a b c d|1|msg=x y z w v\xC2\xA0" "u\xE2\x80\xAF" "t");
    /* each counts as one character against a key's limit (externalId: 40) */
    sf_record_reset(&rec);
    char *id = repeat("\xE2\x80\xA8" "a", 30);
    add("externalId", id);
    assert_string_equal(render(0), "CEF:0||||||Unknown|externalId= a a a a a a a a a a a a a a "
                        "a a a a a a");
    free(id);
}

static void test_empty_values_omitted(void **state)
{
    (void)state;
    add("act", "");
    add("src", "1.2.3.4");
    add("msg", "");
    assert_string_equal(render(0), "CEF:0||||||Unknown|src=1.2.3.4");
    sf_record_reset(&rec);
    add("act", "");
    assert_string_equal(render(0), "CEF:0||||||Unknown|");
}

static void test_severity_mapping(void **state)
{
    static const char *const cases[][2] = {
        {"0", "0"}, {"10", "10"}, {"11", "10"}, {"-3", "0"}, {"7", "7"},
        {"99999999999999999999", "10"}, {" 7 ", "7"}, {"+4", "4"}, {"007", "7"},
        {"high", "High"}, {"VERY-HIGH", "Very-High"}, {"low", "Low"},
        {"Medium", "Medium"}, {"unknown", "Unknown"}, {"7.5", "Unknown"},
        {"bogus", "Unknown"}, {"", "Unknown"}, {"Very High", "Unknown"},
    };
    char want[64];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sf_record_reset(&rec);
        hdr(SF_HDR_SEVERITY, cases[i][0]);
        snprintf(want, sizeof(want), "CEF:0||||||%s|", cases[i][1]);
        assert_string_equal(render(0), want);
    }
    sf_record_reset(&rec);
    assert_string_equal(render(0), "CEF:0||||||Unknown|");   /* missing */
}

static void test_per_key_limits(void **state)
{
    char *big = repeat("x", 5000), *e = repeat("\xC3\xA9", 4100), *want;
    char *eq = repeat("a", 1022), *name = repeat("n", 600);
    size_t len;
    (void)state;

    add("cs1", big);
    render(0);
    assert_int_equal(out.len, strlen("CEF:0||||||Unknown|cs1=") + 4000);
    assert_int_equal(out.data[out.len - 1], 'x');

    sf_record_reset(&rec);
    add("cs2", e);                       /* 4000 characters = 8000 bytes */
    render(0);
    assert_int_equal(out.len, strlen("CEF:0||||||Unknown|cs2=") + 8000);

    sf_record_reset(&rec);
    add("externalId", "0123456789012345678901234567890123456789-EXTRA");
    assert_string_equal(render(0),
        "CEF:0||||||Unknown|externalId=0123456789012345678901234567890123456789");

    sf_record_reset(&rec);
    len = strlen(eq);
    eq = realloc(eq, len + 3);
    memcpy(eq + len, "==", 3);           /* msg max 1023: 1022 'a' + one "\=" */
    add("msg", eq);
    render(0);
    want = malloc(2000);
    snprintf(want, 2000, "CEF:0||||||Unknown|msg=%.1022s\\=", eq);
    assert_string_equal(out.data, want);

    sf_record_reset(&rec);
    hdr(SF_HDR_NAME, name);              /* header Name max 512 */
    render(0);
    assert_int_equal(out.len, strlen("CEF:0||||||Unknown|") + 512);
    free(big), free(e), free(eq), free(name), free(want);
}

static void test_key_check(void **state)
{
    static const char *const ok[] = {
        "cs1", "cs6Label", "cn1Label", "cn3", "flexString1Label", "cfp1Label",
        "deviceCustomDate1Label", "c6a2", "c6a4Label", "dvcmac", "externalId",
        "threatAttackID", "rt", "src", "sourceServiceName",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(sf_cef_key_check(ok[i], err, sizeof(err)), 0);
    assert_int_equal(sf_cef_key_check("cs7", err, sizeof(err)), -1);
    assert_int_equal(sf_cef_key_check("CS1", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "did you mean 'cs1'"));
    assert_int_equal(sf_cef_key_check("agt", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "consumer"));
    assert_int_equal(sf_cef_key_check("", err, sizeof(err)), -1);
    assert_int_equal(sf_cef_key_check("a=b", err, sizeof(err)), -1);
    assert_int_equal(sf_cef_key_check("src ", err, sizeof(err)), -1);
}

static void test_unknown_key_keeps_out(void **state)
{
    struct sf_render_opts o = {0, 0, 0};
    (void)state;
    add("notAKey", "v");
    assert_int_equal(sf_buf_adds(&out, "prefix"), SF_OK);
    assert_int_equal(sf_render_cef(&rec, &o, &out, err, sizeof(err)), SF_ERR_INVALID);
    assert_string_equal(out.data, "prefix");
    assert_non_null(strstr(err, "notAKey"));
}

static void test_appends_to_out(void **state)
{
    struct sf_render_opts o = {0, 0, 0};
    (void)state;
    add("src", "1.2.3.4");
    assert_int_equal(sf_buf_adds(&out, "<14>1 - "), SF_OK);
    assert_int_equal(sf_render_cef(&rec, &o, &out, err, sizeof(err)), SF_OK);
    assert_string_equal(out.data, "<14>1 - CEF:0||||||Unknown|src=1.2.3.4");
}

static void small_header(void)
{
    hdr(SF_HDR_VENDOR, "V");
    hdr(SF_HDR_PRODUCT, "P");
    hdr(SF_HDR_VERSION, "1");
    hdr(SF_HDR_EVENT_ID, "E");
    hdr(SF_HDR_NAME, "N");
    hdr(SF_HDR_SEVERITY, "5");
}

static void check_line(size_t max_len, const char *want)
{
    const char *got = render(max_len);
    assert_string_equal(got, want);
    assert_true(out.len <= max_len);
}

static void test_max_len_longest_first(void **state)
{
    char *m = repeat("m", 100), *c = repeat("c", 80), want[512];
    (void)state;
    small_header();
    add("msg", m);
    add("act", "aaaaaaaaaa");
    add("src", "1.2.3.4");
    assert_int_equal(strlen(render(0)), 149);
    assert_int_equal(strlen(render(149)), 149);       /* fits: untouched */
    snprintf(want, sizeof(want), "CEF:0|V|P|1|E|N|5|msg=%.50s act=aaaaaaaaaa src=1.2.3.4", m);
    check_line(99, want);
    assert_int_equal(out.len, 99);

    sf_record_reset(&rec);
    small_header();
    add("msg", m);
    add("cs1", c);
    add("src", "1.2.3.4");
    snprintf(want, sizeof(want), "CEF:0|V|P|1|E|N|5|msg=%.30s cs1=%.30s src=1.2.3.4", m, c);
    check_line(100, want);
    free(m), free(c);
}

static void test_max_len_boundaries(void **state)
{
    char *eq = repeat("=", 60), *eu = repeat("\xE2\x82\xAC", 60), *n = repeat("n", 200);
    char *esc = repeat("\\=", 25), want[512];
    (void)state;
    small_header();
    add("msg", eq);                      /* 120 escaped bytes */
    snprintf(want, sizeof(want), "CEF:0|V|P|1|E|N|5|msg=%s", esc);
    check_line(18 + 4 + 51, want);       /* cap 51: never half of "\=" */

    sf_record_reset(&rec);
    small_header();
    add("msg", eu);                      /* 180 bytes of 3-byte characters */
    snprintf(want, sizeof(want), "CEF:0|V|P|1|E|N|5|msg=%.99s", eu);
    check_line(18 + 4 + 100, want);

    sf_record_reset(&rec);
    hdr(SF_HDR_VENDOR, "V");
    hdr(SF_HDR_PRODUCT, "P");
    hdr(SF_HDR_VERSION, "1");
    hdr(SF_HDR_EVENT_ID, "E");
    hdr(SF_HDR_NAME, n);                 /* header fields shrink too */
    hdr(SF_HDR_SEVERITY, "5");
    add("msg", "mmmmmmmmmm");
    snprintf(want, sizeof(want), "CEF:0|V|P|1|E|%.69s|5|msg=mmmmmmmmmm", n);
    check_line(100, want);
    free(eq), free(eu), free(n), free(esc);
}

static void test_max_len_too_small(void **state)
{
    struct sf_render_opts o = {10, 0, 0};
    (void)state;
    small_header();
    add("msg", "hello");
    check_line(13, "CEF:0||||||5|");    /* every value emptied still fits */
    sf_buf_reset(&out);
    assert_int_equal(sf_buf_adds(&out, "keep"), SF_OK);
    assert_int_equal(sf_render_cef(&rec, &o, &out, err, sizeof(err)), SF_ERR_LIMIT);
    assert_string_equal(out.data, "keep");
    assert_non_null(strstr(err, "max_len"));
}

/* Regression (issue 10 A3): "msg=text  act=x" - a value's trailing spaces
 * cannot be told from the separator (liblognorm keeps them, syslog-ng
 * trims, strict parsers reject the line), and CEF has no escape for a
 * space. They are trimmed, also after a max_len cut and after controls
 * became spaces; leading and inner spaces stay. */
static void test_trailing_space_trimmed(void **state)
{
    (void)state;
    small_header();
    add("msg", "ends with a space ");
    add("request", "https://x/alerts/1 \t \x01\x7f\xE2\x80\xA8");
    add("cs1", "   ");                       /* only spaces: left out */
    add("cs2", "\t\x01");
    add("cs3", "  leading kept");
    add("cs4", "line \n");                  /* an escape is not whitespace */
    add("cs5", "a\\ ");
    add("act", "x");
    assert_string_equal(render(0),
        "CEF:0|V|P|1|E|N|5|msg=ends with a space request=https://x/alerts/1 "
        "cs3=  leading kept cs4=line \\n cs5=a\\\\ act=x");
    sf_record_reset(&rec);
    small_header();
    add("msg", "aaaa bbbbbbbbbb");
    add("act", "x");
    check_line(33, "CEF:0|V|P|1|E|N|5|msg=aaaa act=x");  /* cut after the space */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extension_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_utf8_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unicode_line_breaks_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailing_space_trimmed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_values_omitted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_severity_mapping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_key_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key_keeps_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appends_to_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_len_longest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_len_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_len_too_small, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
