/* b64url.c - base64url without padding (RFC 7515 section 2 / RFC 4648
 * section 5), for JWT client assertions and certificate thumbprints.
 * It does not allocate beyond the caller's sf_buf. */
#include <string.h>

#include "source.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

sf_err sf_b64url_encode(struct sf_buf *b, const void *data, size_t n)
{
    const unsigned char *p = data;
    char out[4];
    sf_err err = SF_OK;
    size_t i = 0;

    for (; i + 3 <= n && !err; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[0] = alphabet[v >> 18 & 63];
        out[1] = alphabet[v >> 12 & 63];
        out[2] = alphabet[v >> 6 & 63];
        out[3] = alphabet[v & 63];
        err = sf_buf_add(b, out, 4);
    }
    if (!err && n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        out[0] = alphabet[v >> 18 & 63];
        out[1] = alphabet[v >> 12 & 63];
        err = sf_buf_add(b, out, 2);
    } else if (!err && n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        out[0] = alphabet[v >> 18 & 63];
        out[1] = alphabet[v >> 12 & 63];
        out[2] = alphabet[v >> 6 & 63];
        err = sf_buf_add(b, out, 3);
    }
    return err;
}

static int value_of(char ch)
{
    const char *hit = ch ? strchr(alphabet, ch) : NULL;
    return hit ? (int)(hit - alphabet) : -1;
}

sf_err sf_b64url_decode(struct sf_buf *b, const char *s, size_t n)
{
    unsigned acc = 0;
    int bits = 0;
    sf_err err = SF_OK;

    if (n % 4 == 1)
        return SF_ERR_PARSE;
    for (size_t i = 0; i < n && !err; i++) {
        int v = value_of(s[i]);
        if (v < 0)
            return SF_ERR_PARSE;
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            err = sf_buf_addc(b, (char)(acc >> bits & 0xff));
        }
    }
    /* Leftover bits must be zero in a canonical encoding. */
    if (!err && (acc & ((1u << bits) - 1)))
        return SF_ERR_PARSE;
    return err;
}
