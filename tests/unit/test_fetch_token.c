/* test_fetch_token.c - what the fetch stage accepts from a token endpoint
 * (auth.c sf_auth_parse_response): only RFC 6750 b64token characters, at
 * most 16 KiB, errors that name the tenant and never repeat the token; and
 * the Retry-After cap (fetch.c). No network: answers are built in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "source.h"

static const struct sf_fetch_tenant T = { .name = "contoso", .tenant_id = "tid",
                                          .client_id = "cid", .client_secret = "s3cret" };

/* sf_auth_parse_response on a 200 whose access_token is tok (len bytes,
 * may hold NUL); *out gets the token on success (caller frees). */
static sf_err parse_token(const char *tok, size_t len, char **out, struct sf_fetch_status *st)
{
    struct sf_http_resp rs;
    json_object *doc = json_object_new_object();
    int64_t life = 0;
    sf_err err;

    json_object_object_add(doc, "token_type", json_object_new_string("Bearer"));
    json_object_object_add(doc, "expires_in", json_object_new_int(3599));
    json_object_object_add(doc, "access_token", json_object_new_string_len(tok, (int)len));
    sf_http_resp_init(&rs);
    rs.status = 200;
    assert_int_equal(sf_buf_adds(&rs.body, json_object_to_json_string(doc)), SF_OK);
    memset(st, 0, sizeof(*st));
    *out = NULL;
    err = sf_auth_parse_response(&T, &rs, out, &life, st);
    sf_buf_free(&rs.body);
    json_object_put(doc);
    return err;
}

static void accept_token(const char *tok)
{
    struct sf_fetch_status st;
    char *got;

    assert_int_equal(parse_token(tok, strlen(tok), &got, &st), SF_OK);
    assert_string_equal(got, tok);
    sf_auth_token_free(got);
}

static void refuse_token(const char *tok, size_t len, const char *want_msg)
{
    struct sf_fetch_status st;
    char *got;

    assert_int_equal(parse_token(tok, len, &got, &st), SF_ERR_PARSE);
    assert_null(got);
    assert_string_equal(st.msg, want_msg);
    assert_int_equal(st.auth_failed, 0);
}

static void test_b64token_accepted(void **state)
{
    (void)state;
    accept_token("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2ln-_");
    accept_token("abc-._~+/XYZ019");
    accept_token("abc==");
    accept_token("a");
}

/* Regression (issue 10 B6): CR/LF in access_token wrote headers into every
 * API request. */
static void test_header_injection_refused(void **state)
{
    static const char crlf[] = "eyJ0eXAi.abc\r\nX-Injected: yes";
    (void)state;

    refuse_token(crlf, strlen(crlf), "tenant contoso: token response: access_token has byte "
                 "0x0d at offset 12, not allowed in a bearer token (RFC 6750 2.1)");
    refuse_token("abc\ndef", 7, "tenant contoso: token response: access_token has byte 0x0a "
                 "at offset 3, not allowed in a bearer token (RFC 6750 2.1)");
    refuse_token("abc def", 7, "tenant contoso: token response: access_token has byte 0x20 "
                 "at offset 3, not allowed in a bearer token (RFC 6750 2.1)");
    refuse_token("abc\0def", 7, "tenant contoso: token response: access_token has byte 0x00 "
                 "at offset 3, not allowed in a bearer token (RFC 6750 2.1)");
    refuse_token("ab:c", 4, "tenant contoso: token response: access_token has byte 0x3a "
                 "at offset 2, not allowed in a bearer token (RFC 6750 2.1)");
    refuse_token("abc\xc3\xa9", 5, "tenant contoso: token response: access_token has byte "
                 "0xc3 at offset 3, not allowed in a bearer token (RFC 6750 2.1)");
    /* '=' only as trailing padding, after at least one token character. */
    refuse_token("ab=cd", 5, "tenant contoso: token response: access_token has byte 0x63 "
                 "at offset 3, not allowed in a bearer token (RFC 6750 2.1)");
    refuse_token("==", 2, "tenant contoso: token response: access_token has byte 0x3d "
                 "at offset 0, not allowed in a bearer token (RFC 6750 2.1)");
}

/* Regression (issue 10 B7): an 8 MiB token failed every cycle with an
 * empty message; tokens are bounded at 16 KiB with a clear one. */
static void test_token_size_bound(void **state)
{
    size_t big = 8u << 20;
    char *tok = malloc(big + 1);
    (void)state;

    assert_non_null(tok);
    memset(tok, 'A', big);
    tok[16384] = '\0';
    accept_token(tok);
    tok[16384] = 'A';
    refuse_token(tok, 16385, "tenant contoso: token response: access_token is 16385 bytes, "
                 "more than the 16384 accepted");
    tok[big] = '\0';
    refuse_token(tok, big, "tenant contoso: token response: access_token is 8388608 bytes, "
                 "more than the 16384 accepted");
    free(tok);
}

/* Regression (issue 10 B8): Retry-After is cut to the client's cap. */
static void test_retry_after_cap(void **state)
{
    struct sf_fetch_opts o = { .organization = "t", .timeout_ms = 1000 };
    struct sf_api_client *c;
    struct sf_fetch_status st = { .retry_after_ms = 86400000 };
    (void)state;

    snprintf(st.msg, sizeof(st.msg), "tenant contoso: GET /x: HTTP 429: TooManyRequests");
    assert_int_equal(sf_api_client_new(&o, NULL, &c), SF_OK);
    assert_int_equal(c->max_retry_after_ms, SF_FETCH_MAX_RETRY_AFTER_MS);   /* default */
    sf_fetch_cap_retry_after(c, &T, &st);
    assert_int_equal(st.retry_after_ms, 600000);
    assert_string_equal(st.msg, "tenant contoso: GET /x: HTTP 429: TooManyRequests "
                        "(Retry-After 86400 s capped to 600 s)");
    sf_api_client_free(c);
    o.max_retry_after_ms = 30000;
    assert_int_equal(sf_api_client_new(&o, NULL, &c), SF_OK);
    st.retry_after_ms = 30000;   /* at the cap: untouched */
    st.msg[0] = '\0';
    sf_fetch_cap_retry_after(c, &T, &st);
    assert_int_equal(st.retry_after_ms, 30000);
    assert_string_equal(st.msg, "");
    st.retry_after_ms = 30001;
    sf_fetch_cap_retry_after(c, &T, &st);
    assert_int_equal(st.retry_after_ms, 30000);
    sf_api_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64token_accepted),
        cmocka_unit_test(test_header_injection_refused),
        cmocka_unit_test(test_token_size_bound),
        cmocka_unit_test(test_retry_after_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
