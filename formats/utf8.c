/* utf8.c - UTF-8 decoding by maximal subparts, sanitising and safe prefix
 * lengths (see sf_utf8.h). Does not normalise or judge printability; the
 * caller owns every buffer. */
#include <string.h>

#include "sf_utf8.h"

/* Allowed range of the second byte for each lead byte (Unicode Table 3-7,
 * "Well-Formed UTF-8 Byte Sequences"); later bytes are always 80..BF. */
static int lead_info(unsigned char c, size_t *len, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        *len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        *len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        *len = 4;
    else
        return 0;
    if (c == 0xE0)
        *lo = 0xA0;           /* overlong 3-byte */
    else if (c == 0xED)
        *hi = 0x9F;           /* UTF-16 surrogates D800..DFFF */
    else if (c == 0xF0)
        *lo = 0x90;           /* overlong 4-byte */
    else if (c == 0xF4)
        *hi = 0x8F;           /* above U+10FFFF */
    return 1;
}

size_t sf_utf8_next(const char *s, size_t n, int *valid)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len, i;
    unsigned char lo, hi;

    *valid = 0;
    if (n == 0)
        return 0;
    if (p[0] < 0x80) {
        *valid = 1;
        return 1;
    }
    if (!lead_info(p[0], &len, &lo, &hi))
        return 1;             /* C0, C1, F5..FF, stray continuation */
    if (n < 2 || p[1] < lo || p[1] > hi)
        return 1;
    for (i = 2; i < len; i++) {
        if (i >= n || p[i] < 0x80 || p[i] > 0xBF)
            return i;         /* truncated: the prefix so far is one subpart */
    }
    *valid = 1;
    return len;
}

int sf_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    int valid;

    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        i += sf_utf8_next(s + i, n - i, &valid);
        if (!valid)
            return 0;
    }
    return 1;
}

sf_err sf_utf8_sanitize(struct sf_buf *out, const char *s, size_t n)
{
    size_t i = 0, run = 0;
    sf_err err = SF_OK;
    int valid;

    while (i < n) {
        size_t k = (unsigned char)s[i] < 0x80 ? 1 : sf_utf8_next(s + i, n - i, &valid);
        if ((unsigned char)s[i] < 0x80 || valid) {
            i += k;
            continue;
        }
        /* flush the good run before the invalid subpart, then U+FFFD */
        err = sf_buf_add(out, s + run, i - run);
        if (!err)
            err = sf_buf_add(out, SF_UTF8_REPLACEMENT, SF_UTF8_REPLACEMENT_LEN);
        if (err)
            goto out;
        i += k;
        run = i;
    }
    err = sf_buf_add(out, s + run, n - run);
out:
    return err;
}

size_t sf_utf8_prefix(const char *s, size_t n, size_t max)
{
    size_t p, steps = 0;
    int valid;

    if (max >= n)
        return n;
    /* A unit covering position max starts at the nearest non-continuation
     * byte at most 3 bytes back; stray continuations are 1-byte units. */
    p = max;
    while (p > 0 && steps < 3 && ((unsigned char)s[p] & 0xC0) == 0x80) {
        p--;
        steps++;
    }
    if (p == max)
        return max;
    return p + sf_utf8_next(s + p, n - p, &valid) > max ? p : max;
}

/* A well-formed unit that is a C1 control (U+0080..U+009F, NEL U+0085
 * among them) or the Unicode LINE / PARAGRAPH SEPARATOR (U+2028, U+2029).
 * JavaScript, some JSON and log viewers treat these as line breaks, so a
 * renderer that replaces ASCII controls must replace them too. */
static int is_break_or_c1(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    if (len == 2)
        return p[0] == 0xC2 && p[1] <= 0x9F;
    return len == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9);
}

/* The substitute for a table action a (nonzero): one byte, or '\\' and a
 * byte. Returns its length. */
static size_t action(unsigned char a, char tmp[2])
{
    tmp[0] = (a & 0x80) ? '\\' : (char)a;
    tmp[1] = (char)(a & 0x7F);
    return (a & 0x80) ? 2 : 1;
}

/* Add src[0..k) unless only measuring. */
static sf_err emit(struct sf_buf *out, const char *src, size_t k)
{
    return out && k ? sf_buf_add(out, src, k) : SF_OK;
}

sf_err sf_utf8_escape(struct sf_buf *out, const unsigned char esc[128],
                      const char *s, size_t n, size_t max_chars,
                      size_t max_bytes, size_t *wrote)
{
    size_t i = 0, run = 0, chars = 0, bytes = 0, adv, k;
    const char *p;
    char tmp[2];
    sf_err err = SF_OK;
    int valid;

    if (max_chars == 0)
        max_chars = (size_t)-1;
    while (i < n && chars < max_chars) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && esc[c] == 0) {      /* verbatim: extend the run */
            if (bytes + 1 > max_bytes)
                break;
            i++, bytes++, chars++;
            continue;
        }
        if (c < 0x80) {
            adv = 1;
            k = action(esc[c], tmp);
            p = tmp;
        } else {
            adv = sf_utf8_next(s + i, n - i, &valid);
            k = valid ? adv : SF_UTF8_REPLACEMENT_LEN;
            p = valid ? NULL : SF_UTF8_REPLACEMENT;
            if (valid && esc[0x7F] && is_break_or_c1(s + i, adv)) {
                k = action(esc[0x7F], tmp);
                p = tmp;
            }
        }
        if (bytes + k > max_bytes)
            break;
        if (p) {                            /* flush the run, then the substitute */
            err = emit(out, s + run, i - run);
            if (!err)
                err = emit(out, p, k);
            if (err)
                goto out;
            run = i + adv;
        }
        i += adv, bytes += k, chars++;
    }
    err = emit(out, s + run, i - run);
out:
    *wrote = bytes;
    return err;
}
