/* test_render_stream.c - unit tests for formats/json_stream.c, the splitter
 * behind `siemfwd render`: the same alerts, lines and messages whatever the
 * piece boundaries (every cut of each input is tried, and byte by byte), and
 * as sf_alert_read() over the whole buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sf_alert_reader.h"
#include "sf_json_stream.h"

struct log {
    char text[4096];
    size_t len;
    size_t stop_at;   /* on_alert fails on this alert (0: never) */
};

static void say(struct log *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(l->text) - l->len);
    l->len += (size_t)n;
}

static sf_err on_alert(void *opaque, json_object *alert, const struct sf_alert_pos *pos)
{
    struct log *l = opaque;
    say(l, "%zu@%zu %s\n", pos->index, pos->line,
        alert ? json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN) : "null");
    return l->stop_at && pos->index == l->stop_at ? SF_ERR_IO : SF_OK;
}

static void on_err(void *opaque, const struct sf_alert_pos *pos, const char *msg)
{
    say(opaque, "E@%zu %s\n", pos->line, msg);
}

/* Feeds in in pieces of `piece` bytes after a first one of `first`. */
static sf_err run(const char *in, size_t len, size_t first, size_t piece, struct log *l,
                  size_t *nbad)
{
    struct sf_json_stream *s = sf_json_stream_new(on_alert, on_err, l);
    sf_err err = SF_OK;
    size_t off = 0;

    assert_non_null(s);
    l->len = 0;
    l->text[0] = '\0';
    for (int firstcall = 1; (firstcall || off < len) && !err; firstcall = 0) {
        size_t n = firstcall ? first : piece; /* an empty first piece is fine too */
        if (n > len - off)
            n = len - off;
        err = sf_json_stream_feed(s, in + off, n);
        off += n;
    }
    sf_err end = sf_json_stream_end(s, nbad);
    assert_int_equal(end, err); /* end reports the stop too */
    sf_json_stream_free(s);
    return err;
}

/* Every two-piece cut, byte by byte, and the whole-buffer reader agree. */
static void expect(const char *in, size_t len, const char *want, size_t want_bad)
{
    struct log l = { .stop_at = 0 };
    size_t nbad = 99;

    assert_int_equal(sf_alert_read(in, len, on_alert, on_err, &l, &nbad), SF_OK);
    assert_string_equal(l.text, want);
    assert_int_equal(nbad, want_bad);
    for (size_t cut = 0; cut <= len; cut++) {
        assert_int_equal(run(in, len, cut, len, &l, &nbad), SF_OK);
        assert_string_equal(l.text, want);
        assert_int_equal(nbad, want_bad);
    }
    assert_int_equal(run(in, len, 1, 1, &l, &nbad), SF_OK);
    assert_string_equal(l.text, want);
    assert_int_equal(nbad, want_bad);
}

#define EXPECT(in, want, bad) expect(in, sizeof(in) - 1, want, bad)

static void test_array_elements_across_pieces(void **state)
{
    (void)state;
    EXPECT("[{\"id\":\"a\",\"n\":1},{\"id\":\"b\",\"n\":-2.5e3},{\"id\":\"c\",\"t\":true}]",
           "1@1 {\"id\":\"a\",\"n\":1}\n"
           "2@1 {\"id\":\"b\",\"n\":-2.5e3}\n"
           "3@1 {\"id\":\"c\",\"t\":true}\n", 0);
    EXPECT("[1,22,null,\"x\"]", "1@1 1\n2@1 22\n3@1 null\n4@1 \"x\"\n", 0);
}

static void test_page_elements_across_pieces(void **state)
{
    (void)state;
    EXPECT("{\"@odata.context\":\"x[\",\"value\":[{\"id\":\"1\"},{\"id\":\"2\"}],"
           "\"@odata.nextLink\":\"y\"}",
           "1@1 {\"id\":\"1\"}\n2@1 {\"id\":\"2\"}\n", 0);
    /* "value" that is not an array, or deeper down: the object is the alert */
    EXPECT("{\"value\":\"v\",\"a\":{\"value\":[1]}}",
           "1@1 {\"value\":\"v\",\"a\":{\"value\":[1]}}\n", 0);
}

static void test_strings_with_brackets_and_quotes(void **state)
{
    (void)state;
    EXPECT("[{\"a\":\"]},[{\\\"\"},{\"b\":\"\\\\\"},{\"c\":\"'\\u005d\"}]",
           "1@1 {\"a\":\"]},[{\\\"\"}\n"
           "2@1 {\"b\":\"\\\\\"}\n"
           "3@1 {\"c\":\"']\"}\n", 0);
    /* a key that only looks like "value" inside a string */
    EXPECT("{\"k\":\"\\\"value\\\":[\",\"x\":1}", "1@1 {\"k\":\"\\\"value\\\":[\",\"x\":1}\n", 0);
}

static void test_nested_arrays(void **state)
{
    (void)state;
    EXPECT("[[1,[2,[]]],{\"x\":[[{}]]}]",
           "1@1 [1,[2,[]]]\n2@1 {\"x\":[[{}]]}\n", 0);
}

static void test_whitespace_and_lines(void **state)
{
    (void)state;
    /* positions are the line where the enclosing value starts */
    EXPECT("\r\n\t [ \n {\"a\":1} \n , \n\t{\"b\":2}\r\n ] \n\n{\"c\":3}\n",
           "1@2 {\"a\":1}\n2@2 {\"b\":2}\n3@8 {\"c\":3}\n", 0);
    EXPECT("[ /* a comment */ {\"a\":1} // another\n, {\"b\":2}, ]",
           "1@1 {\"a\":1}\n2@1 {\"b\":2}\n", 0);
}

static void test_json_lines_bad_line(void **state)
{
    (void)state;
    EXPECT("{\"a\":1}\n{bad\n{\"c\":3}\n1-2\n",
           "1@1 {\"a\":1}\n"
           "E@2 malformed JSON: quoted object property name expected\n"
           "2@3 {\"c\":3}\n3@4 1\n4@4 -2\n", 1);
}

static void test_truncated(void **state)
{
    (void)state;
    /* elements before the break are already out; the error is where it was */
    EXPECT("[{\"a\":1},\n{\"b\":",
           "1@1 {\"a\":1}\nE@2 malformed JSON: unexpected end of data\n", 1);
    EXPECT("{\"value\":[{\"a\":1},{\"b\":2}",
           "1@1 {\"a\":1}\n2@1 {\"b\":2}\nE@1 malformed JSON: unexpected end of data\n", 1);
    EXPECT("{\"a\":1", "E@1 malformed JSON: unexpected end of data\n", 1);
    /* a number inside a container needs a separator after it, as before */
    EXPECT("[1,2x]\n[3]", "1@1 1\nE@1 malformed JSON: number expected\n2@2 3\n", 1);
    EXPECT("[{}\n{}]\n[4]",
           "1@1 {}\nE@2 malformed JSON: array value separator ',' expected\n2@3 4\n", 1);
}

static void test_empty(void **state)
{
    (void)state;
    EXPECT("[]", "", 0);
    EXPECT(" [ ] \n{\"value\":[]}\n", "", 0);
    EXPECT("", "", 0);
    EXPECT("\n\n", "", 0);
}

static void test_bom_rejected_as_before(void **state)
{
    (void)state;
    /* json-c takes no byte order mark, and the reader never skipped one */
    EXPECT("\xEF\xBB\xBF[{\"a\":1}]\n{\"b\":2}",
           "E@1 malformed JSON: unexpected character\n1@2 {\"b\":2}\n", 1);
}

/* json-c's limit of 64 levels counts the container being split: 64 nested
 * arrays still read (one alert), 65 do not. */
static void nest(char *in, size_t *n, int depth)
{
    *n = 0;
    for (int i = 0; i < depth; i++)
        in[(*n)++] = '[';
    for (int i = 0; i < depth; i++)
        in[(*n)++] = ']';
}

static void test_depth_limit_as_before(void **state)
{
    char in[256], want[256];
    size_t n;
    (void)state;
    nest(in, &n, 64);
    snprintf(want, sizeof(want), "1@1 %.*s\n", (int)n - 2, in + 1);
    expect(in, n, want, 0);
    nest(in, &n, 65);
    expect(in, n, "E@1 malformed JSON: nesting too deep\n", 1);
}

static void test_callback_stops_reading(void **state)
{
    static const char in[] = "[{\"a\":1},{\"b\":2},{\"c\":3}]\n{\"d\":4}";
    struct log l = { .stop_at = 2 };
    size_t nbad = 99;
    (void)state;
    assert_int_equal(run(in, sizeof(in) - 1, 3, 3, &l, &nbad), SF_ERR_IO);
    assert_string_equal(l.text, "1@1 {\"a\":1}\n2@1 {\"b\":2}\n");
    assert_int_equal(nbad, 0);
    l.len = 0;
    assert_int_equal(sf_alert_read(in, sizeof(in) - 1, on_alert, on_err, &l, &nbad),
                     SF_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_elements_across_pieces),
        cmocka_unit_test(test_page_elements_across_pieces),
        cmocka_unit_test(test_strings_with_brackets_and_quotes),
        cmocka_unit_test(test_nested_arrays),
        cmocka_unit_test(test_whitespace_and_lines),
        cmocka_unit_test(test_json_lines_bad_line),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_bom_rejected_as_before),
        cmocka_unit_test(test_depth_limit_as_before),
        cmocka_unit_test(test_callback_stops_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
