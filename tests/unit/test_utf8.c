/* test_utf8.c - unit tests for formats/utf8.c: decoding by maximal
 * subparts, sanitising (one U+FFFD per invalid subpart), safe prefixes and
 * the escaping copy with character / byte limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sf_utf8.h"

#define R SF_UTF8_REPLACEMENT

static void check_sanitize(const char *in, size_t n, const char *want)
{
    struct sf_buf b;

    sf_buf_init(&b, 0);
    assert_int_equal(sf_utf8_sanitize(&b, in, n), SF_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_int_equal(sf_utf8_valid(b.data, b.len), 1);
    sf_buf_free(&b);
}

static void test_valid_multibyte_kept(void **state)
{
    const char *s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E\xF4\x8F\xBF\xBFz";
    (void)state;
    assert_int_equal(sf_utf8_valid(s, strlen(s)), 1);
    check_sanitize(s, strlen(s), s);
    check_sanitize("", 0, "");
}

static void test_invalid_classes(void **state)
{
    (void)state;
    check_sanitize("\x80", 1, R);                           /* stray continuation */
    check_sanitize("a\xFF" "b", 3, "a" R "b");              /* never-valid byte */
    check_sanitize("\xC0\xAF", 2, R R);                     /* overlong 2-byte lead */
    check_sanitize("\xC1\xBF", 2, R R);
    check_sanitize("\xE0\x80\xAF", 3, R R R);               /* overlong 3-byte */
    check_sanitize("\xF0\x80\x80\xAF", 4, R R R R);         /* overlong 4-byte */
    check_sanitize("\xED\xA0\x80", 3, R R R);               /* surrogate D800 */
    check_sanitize("\xED\xBF\xBF", 3, R R R);               /* surrogate DFFF */
    check_sanitize("\xF4\x90\x80\x80", 4, R R R R);         /* U+110000 */
    check_sanitize("\xF5\x80\x80\x80", 4, R R R R);
    check_sanitize("\xE2\x82", 2, R);                       /* truncated at end */
    check_sanitize("\xE2\x82" "A", 3, R "A");               /* one subpart, one U+FFFD */
    check_sanitize("\xF0\x9F\x98" "x", 4, R "x");
    check_sanitize("\xF0\x9F\x98\xF0\x9F\x98\x80", 7, R "\xF0\x9F\x98\x80");
    assert_int_equal(sf_utf8_valid("a\0b", 3), 1);          /* NUL is valid UTF-8 */
    assert_int_equal(sf_utf8_valid("\xED\xA0\x80", 3), 0);
    assert_int_equal(sf_utf8_valid("\xC3", 1), 0);
}

static void test_next_lengths(void **state)
{
    int valid;
    (void)state;
    assert_int_equal(sf_utf8_next("\xE2\x82\xAC", 3, &valid), 3);
    assert_int_equal(valid, 1);
    assert_int_equal(sf_utf8_next("\xE2\x82\xAC", 2, &valid), 2);
    assert_int_equal(valid, 0);
    assert_int_equal(sf_utf8_next("\xF4\x90", 2, &valid), 1);
    assert_int_equal(valid, 0);
    assert_int_equal(sf_utf8_next("A", 1, &valid), 1);
    assert_int_equal(valid, 1);
}

static void test_prefix_boundaries(void **state)
{
    const char *s = "a\xE2\x82\xAC" "b";     /* a, euro (3 bytes), b */
    const char *bad = "\x80\x80\x80\x80\x80";
    (void)state;
    assert_int_equal(sf_utf8_prefix(s, 5, 0), 0);
    assert_int_equal(sf_utf8_prefix(s, 5, 1), 1);
    assert_int_equal(sf_utf8_prefix(s, 5, 2), 1);
    assert_int_equal(sf_utf8_prefix(s, 5, 3), 1);
    assert_int_equal(sf_utf8_prefix(s, 5, 4), 4);
    assert_int_equal(sf_utf8_prefix(s, 5, 99), 5);
    assert_int_equal(sf_utf8_prefix(bad, 5, 3), 3);   /* stray bytes are units */
    assert_int_equal(sf_utf8_prefix("\xF0\x9D\x84\x9E", 4, 3), 0);
    assert_int_equal(sf_utf8_prefix("\xE2\x82" "A", 3, 2), 2); /* truncated unit ends at 2 */
}

/* '=' -> "\=", LF -> "\n", TAB -> space, like a CEF extension value. */
static unsigned char tbl[128];

static void check_escape(const char *in, size_t max_chars, size_t max_bytes, const char *want)
{
    struct sf_buf b;
    size_t w = 99, m = 99;

    sf_buf_init(&b, 0);
    assert_int_equal(sf_utf8_escape(&b, tbl, in, strlen(in), max_chars, max_bytes, &w), SF_OK);
    assert_string_equal(b.data ? b.data : "", want);
    assert_int_equal(w, strlen(want));
    assert_int_equal(sf_utf8_escape(NULL, tbl, in, strlen(in), max_chars, max_bytes, &m), SF_OK);
    assert_int_equal(m, w);
    sf_buf_free(&b);
}

static void test_escape_limits(void **state)
{
    (void)state;
    memset(tbl, 0, sizeof(tbl));
    tbl['='] = SF_UTF8_ESC('=');
    tbl['\n'] = SF_UTF8_ESC('n');
    tbl['\t'] = ' ';
    check_escape("a=b\nc\td", 0, SIZE_MAX, "a\\=b\\nc d");
    check_escape("a=b", 0, 2, "a");                 /* never half an escape */
    check_escape("a=b", 0, 3, "a\\=");
    check_escape("\xC3\xA9=x", 2, SIZE_MAX, "\xC3\xA9\\=");  /* chars, not bytes */
    check_escape("\xE2\x82\xAC\xE2\x82\xAC", 0, 5, "\xE2\x82\xAC");
    check_escape("\xFF\xFF", 0, 5, R);              /* U+FFFD is 3 bytes, 1 char */
    check_escape("\xFF\xFF", 1, SIZE_MAX, R);
    check_escape("abc", 0, 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_multibyte_kept),
        cmocka_unit_test(test_invalid_classes),
        cmocka_unit_test(test_next_lengths),
        cmocka_unit_test(test_prefix_boundaries),
        cmocka_unit_test(test_escape_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
