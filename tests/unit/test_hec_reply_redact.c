/* test_hec_reply_redact.c - regression (issue 10 B3): a HEC that quotes its
 * token in a refusal had it kept in the verdict text, and one that quoted it
 * past the 256-byte cut left its first half there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hec.h"
#include "sf_redact.h"

#define TOKEN "hec-Token-5f2a9c1e-7b3d-4e8f"

static void test_refusal_quoting_the_token(void **state)
{
    struct hec_reply r;
    char body[1024];
    (void)state;

    sf_redact_reset();
    sf_redact_add(TOKEN);
    snprintf(body, sizeof(body), "{\"text\":\"Invalid token (Authorization: Splunk %s)\","
             "\"code\":4}", TOKEN);
    sf_hec_parse_reply(body, strlen(body), &r);
    assert_int_equal(r.code, 4);
    assert_string_equal(r.text, "Invalid token (Authorization: Splunk ***)");

    /* the token straddles the 256-byte cut of r.text */
    char pad[300];
    memset(pad, 'z', 240);
    pad[240] = '\0';
    snprintf(body, sizeof(body), "{\"text\":\"%s %s\",\"code\":4}", pad, TOKEN);
    sf_hec_parse_reply(body, strlen(body), &r);
    assert_null(strstr(r.text, "hec-Tok"));
    /* not JSON: the raw body, same rule */
    snprintf(body, sizeof(body), "<html>%s Splunk %s</html>", pad, TOKEN);
    sf_hec_parse_reply(body, strlen(body), &r);
    assert_null(strstr(r.text, "hec-Tok"));
    assert_true(strlen(r.text) < sizeof(r.text));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusal_quoting_the_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
