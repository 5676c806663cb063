/* redact.c - the secret registry behind sf_redact.h: every registered form
 * sits in a hash table keyed by its first SF_REDACT_MIN bytes, so a line is
 * scanned once whatever the number of tenants. Owns copies of every form;
 * never frees them before sf_redact_reset (readers hold no references). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sf_redact.h"

#define NBUCKET 4096              /* power of two */
#define MAX_FORMS 65536           /* a registry that big is a bug or a fuzzer */
#define MAX_BYTES ((size_t)32 << 20)

struct form {
    char *s;
    size_t len;
    int next;                     /* next form in the same bucket, -1 = end */
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct form *forms;        /* grows; guarded by lock */
static size_t n_forms, cap_forms, n_bytes;
static int head[NBUCKET];
static int ready;                 /* head[] initialised */

static unsigned bucket(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint32_t h = ((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3]);

    h *= 2654435761u;             /* Knuth's multiplicative hash */
    return (h >> 20) & (NBUCKET - 1);
}

/* Caller holds the write lock. */
static sf_err add_form(const char *s, size_t len)
{
    if (len < SF_REDACT_MIN)
        return SF_OK;
    if (!ready) {
        for (size_t i = 0; i < NBUCKET; i++)
            head[i] = -1;
        ready = 1;
    }
    unsigned b = bucket(s);
    for (int i = head[b]; i >= 0; i = forms[i].next)
        if (forms[i].len == len && memcmp(forms[i].s, s, len) == 0)
            return SF_OK;
    if (n_forms >= MAX_FORMS || n_bytes + len > MAX_BYTES)
        return SF_ERR_LIMIT;
    if (n_forms == cap_forms) {
        size_t nc = cap_forms ? cap_forms * 2 : 64;
        struct form *nv = realloc(forms, nc * sizeof(*nv));
        if (!nv)
            return SF_ERR_NOMEM;
        forms = nv;
        cap_forms = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return SF_ERR_NOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    forms[n_forms] = (struct form){ copy, len, head[b] };
    head[b] = (int)n_forms++;
    n_bytes += len;
    return SF_OK;
}

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encoding as sf_http_urlencode sends it (RFC 3986 unreserved kept),
 * in upper- or lower-case hex, optionally with space as '+' (HTML forms). */
static sf_err add_pct(const unsigned char *s, size_t len, int lower, int plus)
{
    const char *hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
    char *out = malloc(len * 3 + 1);
    size_t k = 0;
    sf_err err;

    if (!out)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        if (unreserved(s[i])) {
            out[k++] = (char)s[i];
        } else if (plus && s[i] == ' ') {
            out[k++] = '+';
        } else {
            out[k++] = '%';
            out[k++] = hex[s[i] >> 4];
            out[k++] = hex[s[i] & 15];
        }
    }
    err = add_form(out, k);
    free(out);
    return err;
}

/* The base64 characters that depend only on s when s starts shift bytes
 * (0..2) into an encoded message: what any message holding s encodes to,
 * whatever comes before or after. shift 0 keeps the last, partial
 * character too (s encoded on its own), with and without padding. */
static sf_err add_b64(const unsigned char *s, size_t len, size_t shift, int url)
{
    const char *abc = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t bits = 8 * (shift + len), nch = (bits + 5) / 6;
    size_t lo = (8 * shift + 5) / 6, hi = shift ? bits / 6 : nch;
    char *out = malloc(nch + 3);
    sf_err err;

    if (!out)
        return SF_ERR_NOMEM;
    for (size_t c = 0; c < nch; c++) {
        unsigned v = 0;
        for (size_t bit = 6 * c; bit < 6 * c + 6; bit++) {
            size_t byte = bit / 8;
            unsigned b = 0;
            if (byte >= shift && byte < shift + len)
                b = (s[byte - shift] >> (7 - bit % 8)) & 1;
            v = v << 1 | b;
        }
        out[c] = abc[v];
    }
    err = hi > lo ? add_form(out + lo, hi - lo) : SF_OK;
    if (!err && !shift && nch % 4) {
        /* encoded on its own: with the padding too, so no '=' is left over */
        size_t padded = nch;
        while (padded % 4)
            out[padded++] = '=';
        err = add_form(out, padded);
    }
    free(out);
    return err;
}

/* Caller holds the write lock. */
/* The secret as a JSON string body: '"' and '\\' escaped, '/' escaped or
 * not (json-c writes "\/"), control bytes as \u00XX (lower and upper hex
 * are both common). Nothing to add when no byte needs escaping. */
static sf_err add_json(const unsigned char *s, size_t len, int slash, int upper)
{
    static const char *const hexes[] = { "0123456789abcdef", "0123456789ABCDEF" };
    const char *hex = hexes[upper];
    char *out = malloc(len * 6 + 1);
    size_t k = 0;
    int changed = 0;
    sf_err err;

    if (!out)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\' || (slash && c == '/')) {
            out[k++] = '\\';
            out[k++] = (char)c;
            changed = 1;
        } else if (c < 0x20) {
            out[k++] = '\\';
            out[k++] = 'u';
            out[k++] = '0';
            out[k++] = '0';
            out[k++] = hex[c >> 4];
            out[k++] = hex[c & 15];
            changed = 1;
        } else {
            out[k++] = (char)c;
        }
    }
    err = changed ? add_form(out, k) : SF_OK;
    free(out);
    return err;
}

static sf_err add_all(const unsigned char *s, size_t len)
{
    sf_err err = add_form((const char *)s, len);

    for (int lower = 0; lower < 2 && !err; lower++)
        err = add_pct(s, len, lower, 0);
    if (!err)
        err = add_pct(s, len, 0, 1);
    if (!err && memchr(s, '+', len)) {
        /* a server that form-decoded the raw secret: '+' became ' ' */
        char *sp = malloc(len);
        if (!sp)
            return SF_ERR_NOMEM;
        for (size_t i = 0; i < len; i++)
            sp[i] = s[i] == '+' ? ' ' : (char)s[i];
        err = add_form(sp, len);
        free(sp);
    }
    for (size_t shift = 0; shift < 3 && !err; shift++)
        for (int url = 0; url < 2 && !err; url++)
            err = add_b64(s, len, shift, url);
    for (int slash = 0; slash < 2 && !err; slash++)
        for (int upper = 0; upper < 2 && !err; upper++)
            err = add_json(s, len, slash, upper);
    return err;
}

sf_err sf_redact_add(const char *secret)
{
    sf_err err;

    if (!secret || strlen(secret) < SF_REDACT_MIN)
        return SF_OK;
    pthread_rwlock_wrlock(&lock);
    err = add_all((const unsigned char *)secret, strlen(secret));
    pthread_rwlock_unlock(&lock);
    return err;
}

sf_err sf_redact_add_plain(const char *user, const char *password)
{
    size_t ul = user ? strlen(user) : 0, pl;
    unsigned char *msg;
    sf_err err;

    if (!password || (pl = strlen(password)) == 0)
        return SF_OK;
    err = sf_redact_add(password);
    if (err)
        return err;
    msg = malloc(ul + pl + 2);
    if (!msg)
        return SF_ERR_NOMEM;
    msg[0] = '\0';                /* empty authzid */
    memcpy(msg + 1, user ? user : "", ul);
    msg[1 + ul] = '\0';
    memcpy(msg + 2 + ul, password, pl);
    pthread_rwlock_wrlock(&lock);
    err = add_b64(msg, ul + pl + 2, 0, 0);
    pthread_rwlock_unlock(&lock);
    explicit_bzero(msg, ul + pl + 2);
    free(msg);
    return err;
}

size_t sf_redact(char *buf, size_t cap)
{
    size_t len, r = 0, w = 0;

    if (!buf || !cap)
        return 0;
    len = strnlen(buf, cap);
    if (len == cap)
        buf[--len] = '\0';
    pthread_rwlock_rdlock(&lock);
    if (!n_forms || len < SF_REDACT_MIN) {
        pthread_rwlock_unlock(&lock);
        return len;
    }
    /* In place: "***" is shorter than any form, so w never passes r. */
    while (r < len) {
        size_t rest = len - r, best = 0;
        int tail = 0;
        if (rest >= SF_REDACT_MIN) {
            for (int i = head[bucket(buf + r)]; i >= 0; i = forms[i].next) {
                const struct form *f = &forms[i];
                if (f->len <= rest) {
                    if (f->len > best && memcmp(buf + r, f->s, f->len) == 0)
                        best = f->len;
                } else if (memcmp(buf + r, f->s, rest) == 0) {
                    tail = 1;     /* the start of a secret, then the end of buf */
                }
            }
        }
        if (best || tail) {
            memcpy(buf + w, SF_REDACT_MASK, 3);
            w += 3;
            r = best ? r + best : len;
            continue;
        }
        buf[w++] = buf[r++];
    }
    buf[w] = '\0';
    pthread_rwlock_unlock(&lock);
    return w;
}

void sf_redact_copy(char *dst, size_t dstlen, const char *src)
{
    size_t n;
    char *tmp;

    if (!dst || !dstlen)
        return;
    if (!src)
        src = "";
    n = strlen(src);
    if (n < dstlen) {
        memcpy(dst, src, n + 1);
        sf_redact(dst, dstlen);
        return;
    }
    tmp = malloc(n + 1);
    if (tmp) {
        memcpy(tmp, src, n + 1);
        sf_redact(tmp, n + 1);
        src = tmp;
        n = strlen(tmp);
    }
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    /* without tmp (no memory) the tail rule still removes a cut secret */
    sf_redact(dst, dstlen);
    free(tmp);
}

size_t sf_redact_count(void)
{
    size_t n;

    pthread_rwlock_rdlock(&lock);
    n = n_forms;
    pthread_rwlock_unlock(&lock);
    return n;
}

void sf_redact_reset(void)
{
    pthread_rwlock_wrlock(&lock);
    for (size_t i = 0; i < n_forms; i++) {
        explicit_bzero(forms[i].s, forms[i].len);
        free(forms[i].s);
    }
    free(forms);
    forms = NULL;
    n_forms = cap_forms = n_bytes = 0;
    ready = 0;
    pthread_rwlock_unlock(&lock);
}
