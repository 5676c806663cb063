/* hec_batch.c - HEC /event envelopes (reference §4.3: time, host, source,
 * sourcetype, index, event, fields), batches of them concatenated without
 * separators (§4.4), and gzip of a body (§4.7). No I/O. A batch owns its
 * body, offsets and ids; records are copied into the body, never borrowed. */
#include <stdlib.h>
#include <string.h>

#include "hec.h"

struct hec_batch *sf_hec_batch_new(void)
{
    struct hec_batch *b = calloc(1, sizeof(*b));
    if (b)
        sf_buf_init(&b->body, SF_BUF_DEFAULT_MAX);
    return b;
}

void sf_hec_batch_free(struct hec_batch *b)
{
    if (!b)
        return;
    sf_buf_free(&b->body);
    free(b->offs);
    free(b->ids);
    free(b);
}

static sf_err batch_grow(struct hec_batch *b)
{
    if (b->n + 1 < b->cap)
        return SF_OK;
    size_t cap = b->cap ? b->cap * 2 : 64;
    size_t *offs = realloc(b->offs, cap * sizeof(*offs));
    if (!offs)
        return SF_ERR_NOMEM;
    b->offs = offs;
    uint64_t *ids = realloc(b->ids, cap * sizeof(*ids));
    if (!ids)
        return SF_ERR_NOMEM;
    b->ids = ids;
    b->cap = cap;
    return SF_OK;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned min;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* The escape for byte c, or NULL when it passes through (RFC 8259 §7). */
static const char *json_escape(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: break;
    }
    if (c < 0x20) {
        static const char hex[] = "0123456789abcdef";
        memcpy(tmp, "\\u00", 4);
        tmp[4] = hex[c >> 4];
        tmp[5] = hex[c & 15];
        tmp[6] = '\0';
        return tmp;
    }
    return NULL;
}

sf_err sf_hec_json_str(struct sf_buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;   /* start of the bytes not yet copied */
    size_t i = 0;
    char tmp[8];
    sf_err err = sf_buf_addc(out, '"');

    while (!err && i < len) {
        const char *esc = NULL;
        size_t n = 1;
        if (p[i] >= 0x80) {
            n = utf8_len(p + i, len - i);
            if (n == 0) {
                esc = "\\ufffd";
                n = 1;
            }
        } else {
            esc = json_escape(p[i], tmp);
        }
        if (esc) {
            err = sf_buf_add(out, s + run, i - run);
            if (!err)
                err = sf_buf_adds(out, esc);
            run = i + n;
        }
        i += n;
    }
    if (!err)
        err = sf_buf_add(out, s + run, len - run);
    if (!err)
        err = sf_buf_addc(out, '"');
    return err;
}

/* A strict RFC 8259 checker (json-c's "strict" mode still takes 'single
 * quotes'): a record is embedded verbatim only if Splunk will parse it. */
struct jv {
    const unsigned char *p, *end;
    int depth;
};

static int jv_value(struct jv *v);

static void jv_ws(struct jv *v)
{
    while (v->p < v->end && (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
        v->p++;
}

static int jv_eat(struct jv *v, char c)
{
    jv_ws(v);
    if (v->p < v->end && *v->p == (unsigned char)c) {
        v->p++;
        return 1;
    }
    return 0;
}

static int jv_string(struct jv *v)
{
    if (!jv_eat(v, '"'))
        return 0;
    while (v->p < v->end) {
        unsigned char c = *v->p;
        size_t n = 1;
        if (c == '"') {
            v->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (v->end - v->p < 2)
                return 0;
            c = v->p[1];
            n = 2;
            if (c == 'u') {
                if (v->end - v->p < 6)
                    return 0;
                for (int i = 2; i < 6; i++)
                    if (!strchr("0123456789abcdefABCDEF", v->p[i]) || !v->p[i])
                        return 0;
                n = 6;
            } else if (!c || !strchr("\"\\/bfnrt", c)) {
                return 0;
            }
        } else if (c >= 0x80) {
            n = utf8_len(v->p, (size_t)(v->end - v->p));
            if (n == 0)
                return 0;
        }
        v->p += n;
    }
    return 0;
}

static int jv_digits(struct jv *v)
{
    const unsigned char *s = v->p;
    while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
        v->p++;
    return v->p > s;
}

static int jv_number(struct jv *v)
{
    if (v->p < v->end && *v->p == '-')
        v->p++;
    if (v->p < v->end && *v->p == '0')
        v->p++;
    else if (!jv_digits(v))
        return 0;
    if (v->p < v->end && *v->p == '.') {
        v->p++;
        if (!jv_digits(v))
            return 0;
    }
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
            v->p++;
        if (!jv_digits(v))
            return 0;
    }
    return 1;
}

/* Object or array body after its opening bracket. */
static int jv_container(struct jv *v, char close)
{
    int ok = 1;

    if (++v->depth > 64)
        return 0;
    if (jv_eat(v, close))
        goto out;
    do {
        if (close == '}' && (!jv_string(v) || !jv_eat(v, ':'))) {
            ok = 0;
            goto out;
        }
        if (!jv_value(v)) {
            ok = 0;
            goto out;
        }
    } while (jv_eat(v, ','));
    ok = jv_eat(v, close);
out:
    v->depth--;
    return ok;
}

static int jv_value(struct jv *v)
{
    static const char *const lits[] = { "true", "false", "null" };

    jv_ws(v);
    if (v->p >= v->end)
        return 0;
    if (*v->p == '{' || *v->p == '[') {
        char close = *v->p == '{' ? '}' : ']';
        v->p++;
        return jv_container(v, close);
    }
    if (*v->p == '"')
        return jv_string(v);
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(v->end - v->p) >= n && memcmp(v->p, lits[i], n) == 0) {
            v->p += n;
            return 1;
        }
    }
    return jv_number(v);
}

/* 1 if data is exactly one JSON object, possibly surrounded by whitespace:
 * it can then be embedded verbatim. */
static int is_json_object(const char *data, size_t len)
{
    struct jv v = { (const unsigned char *)data, (const unsigned char *)data + len, 0 };

    jv_ws(&v);
    if (v.p >= v.end || *v.p != '{' || !jv_value(&v))
        return 0;
    jv_ws(&v);
    return v.p == v.end;
}

static sf_err add_meta(struct sf_buf *out, const char *key, const char *val)
{
    sf_err err = sf_buf_printf(out, "\"%s\":", key);
    if (!err)
        err = sf_hec_json_str(out, val, strlen(val));
    if (!err)
        err = sf_buf_addc(out, ',');
    return err;
}

static sf_err add_fields(struct sf_buf *out, const struct sf_msg *m)
{
    sf_err err;

    if (!m->tenant && !m->tenant_id)
        return SF_OK;
    err = sf_buf_adds(out, ",\"fields\":{");
    if (!err && m->tenant) {
        err = sf_buf_adds(out, "\"tenant\":");
        if (!err)
            err = sf_hec_json_str(out, m->tenant, strlen(m->tenant));
    }
    if (!err && m->tenant && m->tenant_id)
        err = sf_buf_addc(out, ',');
    if (!err && m->tenant_id) {
        err = sf_buf_adds(out, "\"tenant_id\":");
        if (!err)
            err = sf_hec_json_str(out, m->tenant_id, strlen(m->tenant_id));
    }
    if (!err)
        err = sf_buf_addc(out, '}');
    return err;
}

sf_err sf_hec_envelope(struct hec *h, struct sf_buf *out, const struct sf_msg *m)
{
    const struct hec_conf *c = &h->conf;
    size_t start = out->len;
    sf_err err = sf_buf_addc(out, '{');

    /* time: epoch seconds with a millisecond fraction; absent means the
     * receipt time (§4.3), which is what an unknown alert time should get. */
    if (!err && m->time_ms > 0)
        err = sf_buf_printf(out, "\"time\":%lld.%03lld,", (long long)(m->time_ms / 1000),
                            (long long)(m->time_ms % 1000));
    if (!err && c->host)
        err = add_meta(out, "host", c->host);
    if (!err && c->source)
        err = add_meta(out, "source", c->source);
    if (!err && c->sourcetype)
        err = add_meta(out, "sourcetype", c->sourcetype);
    if (!err && c->index)
        err = add_meta(out, "index", c->index);
    if (!err)
        err = sf_buf_adds(out, "\"event\":");
    if (!err) {
        if (is_json_object(m->data, m->len))
            err = sf_buf_add(out, m->data, m->len);
        else
            err = sf_hec_json_str(out, m->data, m->len);
    }
    if (!err)
        err = add_fields(out, m);
    if (!err)
        err = sf_buf_addc(out, '}');
    if (err)
        sf_buf_truncate(out, start);
    return err;
}

sf_err sf_hec_batch_add(struct hec_batch *b, const char *env, size_t len, uint64_t id)
{
    sf_err err = batch_grow(b);

    if (err)
        return err;
    if (b->n == 0) {
        b->opened_ms = sf_hec_now_ms();
        b->offs[0] = b->body.len;
    }
    err = sf_buf_add(&b->body, env, len);
    if (err)
        return err;
    b->ids[b->n++] = id;
    b->offs[b->n] = b->body.len;
    return SF_OK;
}

sf_err sf_hec_batch_take(struct hec_batch *dst, const struct hec_batch *src,
                         size_t from, size_t to)
{
    size_t base = dst->body.len;
    sf_err err = sf_buf_add(&dst->body, src->body.data + src->offs[from],
                            src->offs[to] - src->offs[from]);

    for (size_t i = from; !err && i < to; i++) {
        err = batch_grow(dst);
        if (err)
            break;
        if (dst->n == 0)
            dst->offs[0] = 0;
        dst->ids[dst->n++] = src->ids[i];
        dst->offs[dst->n] = base + (src->offs[i + 1] - src->offs[from]);
    }
    if (!err && dst->opened_ms == 0)
        dst->opened_ms = src->opened_ms;
    return err;
}

sf_err sf_hec_gzip(struct hec *h, const char *in, size_t len)
{
    uLong bound;
    int rc;
    sf_err err;

    if (len > UINT32_MAX)
        return SF_ERR_LIMIT;
    if (!h->zs_ready) {
        /* windowBits 15 + 16: a gzip wrapper, not zlib's (§4.7: Splunk
         * accepts gzip only). Level 6 (zlib's default) balances CPU and
         * bytes on the wire; bodies are at most batch_max_bytes. */
        memset(&h->zs, 0, sizeof(h->zs));
        if (deflateInit2(&h->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return SF_ERR_NOMEM;
        h->zs_ready = 1;
    } else if (deflateReset(&h->zs) != Z_OK) {
        return SF_ERR_INTERNAL;
    }
    bound = deflateBound(&h->zs, (uLong)len);
    sf_buf_reset(&h->gz);
    err = sf_buf_reserve(&h->gz, bound);
    if (err)
        return err;
    h->zs.next_in = (Bytef *)(uintptr_t)in;
    h->zs.avail_in = (uInt)len;
    h->zs.next_out = (Bytef *)h->gz.data;
    h->zs.avail_out = (uInt)bound;
    rc = deflate(&h->zs, Z_FINISH);
    if (rc != Z_STREAM_END)
        return SF_ERR_INTERNAL;
    h->gz.len = bound - h->zs.avail_out;
    return SF_OK;
}
