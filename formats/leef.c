/* leef.c - LEEF 1.0 / 2.0 renderer (formats-and-outputs.md §2), its key
 * check and delimiter parsing. Does not do syslog framing or map evaluation;
 * out is owned by the caller and only appended to (restored on error). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cef_dict.h"
#include "sf_render.h"
#include "sf_utf8.h"

#define SP 0x20
#define C8 SP, SP, SP, SP, SP, SP, SP, SP
#define EVENT_ID_MAX 255   /* §2.1: EventID at most 255 (bytes, per the issue) */

/* §2.3 has no escape mechanism, so header fields get replacements, never
 * backslash escapes: '|' -> '/', CR, LF, TAB, other C0 controls and DEL -> space
 * (with DEL: C1 controls, U+2028 and U+2029, see sf_utf8_escape).
 * '\' -> '/' as well: parsers that honour "\|" (AxoSyslog, mmleefparse)
 * would otherwise swallow the field separator after a trailing backslash. */
static const unsigned char leef_hdr_esc[128] = {
    C8, C8, C8, C8,
    ['\\'] = '/', ['|'] = '/', [0x7F] = SP,
};

/* Attribute values: C0 controls (CR, LF, TAB included), DEL, C1 controls,
 * U+2028 and U+2029 -> space; the active delimiter is added per line. '='
 * stays (QRadar extracts key=([^<delim>]+), §2.3). */
static const unsigned char leef_val_esc[128] = {C8, C8, C8, C8, [0x7F] = SP};

/* §2.4 predefined keys with a length limit (characters). */
static const struct {
    const char *key;
    size_t max;
} leef_limits[] = {
    {"usrName", 255}, {"identHostName", 255}, {"identNetBios", 255},
    {"identGrpName", 255}, {"vSrcName", 255}, {"accountName", 255},
    {"calLanguage", 2}, {"calCountryOrRegion", 2},
};

int sf_leef_key_check(const char *key, char *errbuf, size_t errlen)
{
    size_t i;

    if (!key || !*key) {
        sf_errf(errbuf, errlen, "empty LEEF attribute key");
        return -1;
    }
    for (i = 0; key[i]; i++) {
        unsigned char c = (unsigned char)key[i];
        if (!isalnum(c) && c != '_') {
            sf_errf(errbuf, errlen, "LEEF key '%s': character 0x%02X at offset %zu is not "
                    "allowed (keys are [A-Za-z0-9_])", key, c, i);
            return -1;
        }
    }
    if (i > 64) {
        sf_errf(errbuf, errlen, "LEEF key '%.16s...' is %zu characters long (max 64)", key, i);
        return -1;
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* §2.2: one literal character, or "x"/"0x" and 1-4 hex digits. The result
 * must be a 7-bit character other than NUL, CR, LF and '=' (the key/value
 * separator). An empty spec is refused; callers default to TAB when the
 * setting is absent. */
int sf_leef_parse_delim(const char *spec, char *delim)
{
    const char *h = NULL;
    size_t n, i;
    int v = 0;

    if (!spec || !delim || !*spec)
        return -1;
    n = strlen(spec);
    if (n == 1)
        v = (unsigned char)spec[0];
    else if ((spec[0] == 'x' || spec[0] == 'X'))
        h = spec + 1;
    else if (spec[0] == '0' && (spec[1] == 'x' || spec[1] == 'X'))
        h = spec + 2;
    else
        return -1;
    if (h) {
        n = strlen(h);
        if (n < 1 || n > 4)
            return -1;
        for (i = 0; i < n; i++) {
            int d = hexval((unsigned char)h[i]);
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
    }
    if (v == 0 || v > 0x7F || v == '\r' || v == '\n' || v == '=')
        return -1;
    *delim = (char)v;
    return 0;
}

static size_t leef_limit(const char *key)
{
    size_t i;

    for (i = 0; i < sizeof(leef_limits) / sizeof(leef_limits[0]); i++)
        if (strcmp(key, leef_limits[i].key) == 0)
            return leef_limits[i].max;
    return 0;
}

/* §2.4 sev is 1-10: integers are clamped; the CEF severity words map to
 * the top of their CEF band (Low 3, Medium 6, High 8, Very-High 10) and
 * anything else, "Unknown" included, to the lowest value 1. */
static const char *leef_sev(const char *s, size_t n, char *buf)
{
    static const struct { const char *w; const char *v; } words[] = {
        {"Low", "3"}, {"Medium", "6"}, {"High", "8"}, {"Very-High", "10"},
    };
    const char *word;
    size_t wl;

    if (sf_render_sev(s, n, 1, buf, &word, &wl))
        return buf;
    for (size_t w = 0; word && w < sizeof(words) / sizeof(words[0]); w++)
        if (wl == strlen(words[w].w) && strncasecmp(word, words[w].w, wl) == 0)
            return words[w].v;
    return "1";
}

struct leef_line {
    const struct sf_record *r;
    int version;                  /* 1 or 2 */
    char delim;
    unsigned char val_esc[128];   /* leef_val_esc plus the delimiter */
};

static sf_err leef_header(const struct leef_line *l, size_t cap, struct sf_buf *out,
                          struct sf_fit_unit *u, size_t *nu)
{
    const struct sf_record *r = l->r;
    sf_err err = sf_buf_adds(out, l->version == 2 ? "LEEF:2.0|" : "LEEF:1.0|");
    size_t h, w;

    for (h = 0; !err && h <= SF_HDR_EVENT_ID; h++) {
        const struct sf_field *f = &r->hdr[h];
        size_t bytes = h == SF_HDR_EVENT_ID && cap > EVENT_ID_MAX ? EVENT_ID_MAX : cap;
        w = 0;
        if (f->present && f->len)
            err = sf_utf8_escape(out, leef_hdr_esc, sf_record_val(r, f), f->len, 0,
                                 bytes, &w);
        if (!err)
            err = sf_buf_addc(out, '|');
        if (u) {
            u[*nu].len = w;
            u[*nu].ovh = 0;
        }
        (*nu)++;
    }
    /* §2.2: literal delimiter when printable, else exactly two hex digits;
     * space, '|' and '\\' are written as hex so the header stays parseable. */
    if (!err && l->version == 2) {
        unsigned char d = (unsigned char)l->delim;
        if (d > 0x20 && d < 0x7F && d != '|' && d != '\\')
            err = sf_buf_addc(out, (char)d);
        else
            err = sf_buf_printf(out, "x%02X", d);
        if (!err)
            err = sf_buf_addc(out, '|');
    }
    return err;
}

/* Append one attribute; *w gets the value's output bytes (0: nothing
 * written, the pair is omitted). */
static sf_err leef_attr(const struct leef_line *l, const struct sf_field *f, size_t cap,
                        int first, struct sf_buf *out, size_t *w)
{
    const char *v = sf_record_val(l->r, f);
    size_t mark = out->len, n = f->len;
    char sevbuf[4];
    sf_err err = SF_OK;
    int is_sev = strcmp(f->key, "sev") == 0;

    if (is_sev) {
        v = leef_sev(v, n, sevbuf);
        n = strlen(v);
        cap = SIZE_MAX;               /* a normalised number is never cut */
    }
    if (!first)
        err = sf_buf_addc(out, l->delim);
    if (!err)
        err = sf_buf_adds(out, f->key);
    if (!err)
        err = sf_buf_addc(out, '=');
    if (!err)
        err = sf_utf8_escape(out, l->val_esc, v, n, is_sev ? 0 : leef_limit(f->key), cap, w);
    if (!err && *w == 0)
        sf_buf_truncate(out, mark);
    if (is_sev)
        *w = 0;                       /* fixed size: not a unit for the solver */
    return err;
}

static sf_err leef_render_line(const struct leef_line *l, size_t cap, struct sf_buf *out,
                               struct sf_fit_unit *u, size_t *nu, char *errbuf, size_t errlen)
{
    const struct sf_record *r = l->r;
    sf_err err;
    size_t i, w, mark;
    int first = 1;

    *nu = 0;
    err = leef_header(l, cap, out, u, nu);
    for (i = 0; !err && i < r->n; i++) {
        const struct sf_field *f = &r->fields[i];
        if (!f->key || !*f->key || strchr(f->key, l->delim) || strchr(f->key, '=')) {
            sf_errf(errbuf, errlen, "record key '%s' cannot be a LEEF attribute key "
                    "with delimiter 0x%02X", f->key ? f->key : "(null)",
                    (unsigned char)l->delim);
            return SF_ERR_INVALID;
        }
        if (!f->present || f->len == 0)
            continue;                 /* empty values are omitted, as in CEF */
        mark = out->len;
        err = leef_attr(l, f, cap, first, out, &w);
        if (err || out->len == mark)
            continue;
        first = 0;
        if (w == 0)
            continue;
        if (u) {
            u[*nu].len = w;
            u[*nu].ovh = strlen(f->key) + 2;
        }
        (*nu)++;
    }
    if (err == SF_ERR_LIMIT)
        sf_errf(errbuf, errlen, "LEEF line does not fit the output buffer (%zu bytes max)",
                out->max);
    else if (err)
        sf_errf(errbuf, errlen, "LEEF rendering: %s", sf_strerror(err));
    return err;
}

static sf_err leef_line_fn(const void *ctx, size_t cap, struct sf_buf *out,
                           struct sf_fit_unit *u, size_t *nu, char *errbuf, size_t errlen)
{
    return leef_render_line(ctx, cap, out, u, nu, errbuf, errlen);
}

sf_err sf_render_leef(const struct sf_record *r, const struct sf_render_opts *o,
                      struct sf_buf *out, char *errbuf, size_t errlen)
{
    struct leef_line l;
    size_t start = out->len, nu, max_len = o ? o->max_len : 0;
    sf_err err = SF_ERR_INVALID;

    l.r = r;
    l.version = o && o->leef_version ? o->leef_version : 1;
    l.delim = l.version == 2 && o->leef_delim ? o->leef_delim : '\t';
    if (l.version != 1 && l.version != 2) {
        sf_errf(errbuf, errlen, "LEEF version %d is not supported (1 or 2)", l.version);
        goto out;
    }
    if ((unsigned char)l.delim > 0x7F || l.delim == '=' || l.delim == '\r' || l.delim == '\n') {
        sf_errf(errbuf, errlen, "LEEF delimiter 0x%02X is not allowed",
                (unsigned char)l.delim);
        goto out;
    }
    memcpy(l.val_esc, leef_val_esc, sizeof(l.val_esc));
    /* the delimiter never appears in a value: space, or '_' if it is a space */
    l.val_esc[(unsigned char)l.delim] = l.delim == ' ' ? '_' : ' ';
    err = leef_render_line(&l, SIZE_MAX, out, NULL, &nu, errbuf, errlen);
    if (!err && max_len && out->len - start > max_len)
        err = sf_render_shrink(leef_line_fn, &l, SF_HDR_COUNT + r->n, "LEEF", max_len,
                               start, out, errbuf, errlen);
out:
    if (err)
        sf_buf_truncate(out, start);
    return err;
}
