/* fuzz_token.c - libFuzzer target: untrusted token-endpoint answers. The
 * first byte picks the HTTP status (200, 400, 401, 403, 429, 500); the rest
 * is the body. Must never crash or leak, and never copy the secret. */
#include <stdint.h>
#include <string.h>

#include "source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 400, 401, 403, 429, 500 };
    struct sf_fetch_tenant t = { .name = "fuzz", .tenant_id = "tid", .client_id = "cid",
                                 .client_secret = "s3cret-value" };
    struct sf_fetch_status st;
    struct sf_http_resp rs;
    char *token = NULL;
    int64_t lifetime = 0;

    if (size < 1)
        return 0;
    memset(&st, 0, sizeof(st));
    sf_http_resp_init(&rs);
    rs.status = statuses[data[0] % 6];
    if (sf_buf_add(&rs.body, data + 1, size - 1) != SF_OK)
        return 0;
    if (sf_auth_parse_response(&t, &rs, &token, &lifetime, &st) == SF_OK)
        sf_auth_token_free(token);
    if (strstr(st.msg, "s3cret-value"))
        __builtin_trap(); /* a secret in a message is a bug */
    sf_buf_free(&rs.body);
    return 0;
}
