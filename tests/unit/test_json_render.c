/* test_json_render.c - unit tests for the JSON renderer: tenant added,
 * one line, slashes unescaped, invalid UTF-8 replaced, caller's alert left
 * untouched, max_len refused rather than truncated. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sf_render.h"

#define R "\xEF\xBF\xBD"

static struct sf_buf out;
static char err[256];
static const struct sf_tenant_info contoso = {"contoso", "00000000-0000-0000-0000-000000000001"};
#define TENANT "\"tenant\":{\"name\":\"contoso\",\"id\":\"00000000-0000-0000-0000-000000000001\"}"

static int setup(void **state)
{
    (void)state;
    sf_buf_init(&out, 0);
    err[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sf_buf_free(&out);
    return 0;
}

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

static void render_ok(json_object *alert, const struct sf_tenant_info *t, size_t max_len,
                      const char *want)
{
    struct sf_render_opts o = {max_len, 0, 0};
    sf_buf_reset(&out);
    assert_int_equal(sf_render_json(alert, t, &o, &out, err, sizeof(err)), SF_OK);
    assert_string_equal(out.data, want);
}

static void test_tenant_added(void **state)
{
    json_object *a = parse("{\"id\": \"da1\", \"title\": \"C:/x/y\",\n \"n\": 1,"
                           " \"evidence\": [{\"k\": true}, null], \"desc\": \"l1\\nl2\"}");
    (void)state;
    render_ok(a, &contoso, 0,
              "{\"id\":\"da1\",\"title\":\"C:/x/y\",\"n\":1,\"evidence\":[{\"k\":true},null],"
              "\"desc\":\"l1\\nl2\"," TENANT "}");
    json_object_put(a);
}

static void test_empty_object_and_no_tenant(void **state)
{
    json_object *a = parse("{}");
    json_object *b = parse("{\"id\":\"x\"}");
    (void)state;
    render_ok(a, &contoso, 0, "{" TENANT "}");
    render_ok(b, NULL, 0, "{\"id\":\"x\"}");
    json_object_put(a);
    json_object_put(b);
}

static void test_invalid_utf8_replaced(void **state)
{
    json_object *a = json_object_new_object();
    struct sf_tenant_info t = {"bad\xC3", "id\xED\xA0\x80"};
    (void)state;
    json_object_object_add(a, "v", json_object_new_string_len("a\xFF" "b\xE2\x82\xAC", 6));
    json_object_object_add(a, "k\xC0", json_object_new_int(1));
    render_ok(a, &t, 0,
              "{\"v\":\"a" R "b\xE2\x82\xAC\",\"k" R "\":1,"
              "\"tenant\":{\"name\":\"bad" R "\",\"id\":\"id" R R R "\"}}");
    json_object_put(a);
}

static void test_tenant_strings_escaped(void **state)
{
    json_object *a = parse("{}");
    struct sf_tenant_info t = {"co\"n\\t/x\n\x01", NULL};
    (void)state;
    render_ok(a, &t, 0, "{\"tenant\":{\"name\":\"co\\\"n\\\\t/x\\n\\u0001\",\"id\":null}}");
    json_object_put(a);
}

static void test_alert_not_modified(void **state)
{
    json_object *a = parse("{\"id\":\"x\",\"tenant\":\"theirs\",\"z\":[1,2]}");
    json_object *v;
    char before[256];
    (void)state;
    strcpy(before, json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
    render_ok(a, &contoso, 0, "{\"id\":\"x\",\"z\":[1,2]," TENANT "}");
    assert_string_equal(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), before);
    assert_true(json_object_object_get_ex(a, "tenant", &v));
    assert_string_equal(json_object_get_string(v), "theirs");
    json_object_put(a);

    a = parse("{\"id\":\"y\"}");
    render_ok(a, &contoso, 0, "{\"id\":\"y\"," TENANT "}");
    assert_false(json_object_object_get_ex(a, "tenant", NULL));
    assert_int_equal(json_object_object_length(a), 1);
    json_object_put(a);
}

static void test_max_len_refused(void **state)
{
    json_object *a = parse("{\"id\":\"y\"}");
    const char *want = "{\"id\":\"y\"," TENANT "}";
    struct sf_render_opts o = {strlen(want) - 1, 0, 0};
    (void)state;
    render_ok(a, &contoso, strlen(want), want);
    sf_buf_reset(&out);
    assert_int_equal(sf_buf_adds(&out, "keep"), SF_OK);
    assert_int_equal(sf_render_json(a, &contoso, &o, &out, err, sizeof(err)), SF_ERR_LIMIT);
    assert_string_equal(out.data, "keep");
    assert_non_null(strstr(err, "max_len"));
    json_object_put(a);
}

static void test_not_an_object(void **state)
{
    json_object *a = parse("[1,2]");
    struct sf_render_opts o = {0, 0, 0};
    (void)state;
    assert_int_equal(sf_render_json(a, &contoso, &o, &out, err, sizeof(err)), SF_ERR_INVALID);
    assert_int_equal(sf_render_json(NULL, &contoso, &o, &out, err, sizeof(err)), SF_ERR_INVALID);
    assert_int_equal(out.len, 0);
    json_object_put(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tenant_added, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_object_and_no_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_utf8_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_strings_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_not_modified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_len_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_object, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
