/* cef.c - CEF:0 renderer (formats-and-outputs.md §1.2-§1.4) and the
 * max_len solver shared with leef.c. Does not do syslog framing or map
 * evaluation; out is owned by the caller and only appended to (on error it
 * is restored to its length on entry). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cef_dict.h"
#include "sf_render.h"
#include "sf_utf8.h"

/* Length limits (§1.2 header table, §1.5 dictionary "max len") count
 * characters of the unescaped value, not wire bytes: the spec's lengths
 * describe the field as ArcSight stores it, after unescaping, and escapes
 * are transport encoding. A character is one code point; an invalid UTF-8
 * subpart counts as its one U+FFFD. Truncation happens while escaping, so
 * it never splits a character or an escape sequence. max_len, in
 * contrast, is a byte budget for the whole escaped line. */

#define SP 0x20
#define C8 SP, SP, SP, SP, SP, SP, SP, SP

/* §1.4 header fields: '\' -> "\\", '|' -> "\|", CR, LF, every other C0
 * control and DEL -> space (and, through DEL, C1 controls, U+2028 and
 * U+2029: see sf_utf8_escape); '=' and everything else verbatim. */
static const unsigned char cef_hdr_esc[128] = {
    C8, C8, C8, C8,
    ['\\'] = SF_UTF8_ESC('\\'), ['|'] = SF_UTF8_ESC('|'), [0x7F] = SP,
};

/* §1.4 extension values: '\' -> "\\", '=' -> "\=", LF -> "\n", CR -> "\r",
 * TAB, other C0 controls and DEL -> space, and so C1 controls (NEL), U+2028
 * and U+2029 too; '|' verbatim (liblognorm rejects "\|" in extensions). */
static const unsigned char cef_ext_esc[128] = {
    SP, SP, SP, SP, SP, SP, SP, SP,
    SP, SP, SF_UTF8_ESC('n'), SP, SP, SF_UTF8_ESC('r'), SP, SP,
    C8, C8,
    ['\\'] = SF_UTF8_ESC('\\'), ['='] = SF_UTF8_ESC('='), [0x7F] = SP,
};

/* §1.2 header maximum lengths, in characters, for Vendor, Product,
 * Version, Signature ID and Name. */
static const size_t cef_hdr_max[5] = {63, 63, 31, 1023, 512};

static const char *const sev_words[] = {"Unknown", "Low", "Medium", "High", "Very-High"};

/* §1.3: integer 0-10 (clamped), or one of the five words in any case;
 * missing, empty or anything else gives "Unknown". buf holds >= 3 bytes. */
static const char *cef_severity(const struct sf_record *r, char *buf)
{
    const struct sf_field *f = &r->hdr[SF_HDR_SEVERITY];
    const char *word;
    size_t wl;

    if (!f->present || f->len == 0)
        return sev_words[0];
    if (sf_render_sev(sf_record_val(r, f), f->len, 0, buf, &word, &wl))
        return buf;
    for (size_t w = 0; word && w < sizeof(sev_words) / sizeof(sev_words[0]); w++)
        if (wl == strlen(sev_words[w]) && strncasecmp(word, sev_words[w], wl) == 0)
            return sev_words[w];
    return sev_words[0];
}

int sf_render_sev(const char *s, size_t n, int lo, char *buf, const char **word,
                  size_t *wlen)
{
    size_t i = 0;
    int neg = 0, v = 0;

    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    *word = s + i;
    *wlen = n - i;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        v = v > 10 ? 11 : v * 10 + (s[i] - '0');
    if (i != n) {
        *word = NULL;
        return 0;
    }
    v = neg || v < lo ? lo : v > 10 ? 10 : v;
    buf[0] = v == 10 ? '1' : (char)('0' + v);
    buf[1] = v == 10 ? '0' : '\0';
    buf[2] = '\0';
    return 1;
}

static sf_err buf_error(sf_err err, const struct sf_buf *out, const char *what,
                        char *errbuf, size_t errlen)
{
    if (err == SF_ERR_LIMIT)
        sf_errf(errbuf, errlen, "%s line does not fit the output buffer (%zu bytes max)",
                what, out->max);
    else if (err)
        sf_errf(errbuf, errlen, "%s rendering: %s", what, sf_strerror(err));
    return err;
}

/* A value ends where the next " key=" begins, so trailing spaces are not
 * delimited: liblognorm keeps them, syslog-ng trims them, and a strict
 * parser rejects "key=v  next=". CEF has no escape for a space, so spaces
 * (and controls already turned into spaces) at the end of an escaped
 * extension value are dropped; this runs after any cut, which can expose a
 * space. An escape sequence never ends in a space. Returns how many bytes
 * of the last w were removed. */
static size_t trim_trailing_spaces(struct sf_buf *out, size_t w)
{
    size_t t = 0;

    while (t < w && out->data[out->len - 1 - t] == ' ')
        t++;
    sf_buf_truncate(out, out->len - t);
    return t;
}

/* Append the five escaped header slots, each followed by '|'. */
static sf_err cef_header(const struct sf_record *r, size_t cap, struct sf_buf *out,
                         struct sf_fit_unit *u, size_t *nu)
{
    sf_err err = sf_buf_add(out, "CEF:0|", 6);
    size_t h, w;

    for (h = 0; !err && h < 5; h++) {
        const struct sf_field *f = &r->hdr[h];
        w = 0;
        if (f->present && f->len)
            err = sf_utf8_escape(out, cef_hdr_esc, sf_record_val(r, f), f->len,
                                 cef_hdr_max[h], cap, &w);
        if (!err)
            err = sf_buf_addc(out, '|');
        if (u) {
            u[*nu].len = w;
            u[*nu].ovh = 0;
        }
        (*nu)++;
    }
    return err;
}

/* One full line with every value capped at cap output bytes. When u is
 * given, records each unit's escaped length (for the max_len solver). */
static sf_err cef_line(const struct sf_record *r, const char *sev, size_t cap,
                       struct sf_buf *out, struct sf_fit_unit *u, size_t *nu,
                       char *errbuf, size_t errlen)
{
    sf_err err;
    size_t i, w, mark, pairs = 0;

    *nu = 0;
    err = cef_header(r, cap, out, u, nu);
    if (!err)
        err = sf_buf_adds(out, sev);
    if (!err)
        err = sf_buf_addc(out, '|');
    for (i = 0; !err && i < r->n; i++) {
        const struct sf_field *f = &r->fields[i];
        const struct sf_cef_key *k = f->key ? sf_cef_dict_find(f->key) : NULL;
        if (!k || k->kind != CEF_KEY_PRODUCER) {
            sf_errf(errbuf, errlen, "record key '%s' is not a CEF extension key",
                    f->key ? f->key : "(null)");
            return SF_ERR_INVALID;
        }
        if (!f->present || f->len == 0)
            continue;                    /* §1.4: empty values are omitted */
        mark = out->len;
        if (pairs)
            err = sf_buf_addc(out, ' ');
        if (!err)
            err = sf_buf_adds(out, f->key);
        if (!err)
            err = sf_buf_addc(out, '=');
        if (!err)
            err = sf_utf8_escape(out, cef_ext_esc, sf_record_val(r, f), f->len,
                                 k->max_chars, cap, &w);
        if (err)
            break;
        w -= trim_trailing_spaces(out, w);
        if (w == 0) {                    /* capped or trimmed to nothing: drop the key */
            sf_buf_truncate(out, mark);
            continue;
        }
        pairs++;
        if (u) {
            u[*nu].len = w;
            u[*nu].ovh = strlen(f->key) + 2;
        }
        (*nu)++;
    }
    return buf_error(err, out, "CEF", errbuf, errlen);
}

struct cef_ctx {
    const struct sf_record *r;
    const char *sev;
};

static sf_err cef_line_fn(const void *ctx, size_t cap, struct sf_buf *out,
                          struct sf_fit_unit *u, size_t *nu, char *errbuf, size_t errlen)
{
    const struct cef_ctx *c = ctx;
    return cef_line(c->r, c->sev, cap, out, u, nu, errbuf, errlen);
}

sf_err sf_render_shrink(sf_render_line_fn line, const void *ctx, size_t max_units,
                        const char *fmt, size_t max_len, size_t start, struct sf_buf *out,
                        char *errbuf, size_t errlen)
{
    struct sf_fit_unit *u = malloc(max_units * sizeof(*u));
    size_t nu, cap;
    sf_err err = SF_ERR_NOMEM;

    if (!u) {
        sf_errf(errbuf, errlen, "%s rendering: out of memory", fmt);
        goto out;
    }
    sf_buf_truncate(out, start);
    err = line(ctx, SIZE_MAX, out, u, &nu, errbuf, errlen);
    if (err)
        goto out;
    if (sf_render_fit_cap(u, nu, out->len - start, max_len, &cap) < 0)
        cap = 0;
    sf_buf_truncate(out, start);
    err = line(ctx, cap, out, NULL, &nu, errbuf, errlen);
    if (!err && out->len - start > max_len) {
        sf_errf(errbuf, errlen, "%s line needs %zu bytes even with every value emptied; "
                "max_len is %zu", fmt, out->len - start, max_len);
        err = SF_ERR_LIMIT;
    }
out:
    free(u);
    return err;
}

sf_err sf_render_cef(const struct sf_record *r, const struct sf_render_opts *o,
                     struct sf_buf *out, char *errbuf, size_t errlen)
{
    size_t start = out->len, nu;
    size_t max_len = o ? o->max_len : 0;
    char sevbuf[4];
    const char *sev = cef_severity(r, sevbuf);
    sf_err err;

    struct cef_ctx c = { r, sev };
    err = cef_line(r, sev, SIZE_MAX, out, NULL, &nu, errbuf, errlen);
    if (!err && max_len && out->len - start > max_len)
        err = sf_render_shrink(cef_line_fn, &c, 5 + r->n, "CEF", max_len, start, out,
                               errbuf, errlen);
    if (err)
        sf_buf_truncate(out, start);
    return err;
}

static size_t total_at(const struct sf_fit_unit *u, size_t n, size_t fixed, size_t cap)
{
    size_t t = fixed, i;
    int any = 0;

    for (i = 0; i < n; i++) {
        size_t m = u[i].len < cap ? u[i].len : cap;
        if (u[i].ovh == 0) {
            t += m;
        } else if (m) {
            t += u[i].ovh + m;
            any = 1;
        }
    }
    return any ? t - 1 : t;
}

int sf_render_fit_cap(const struct sf_fit_unit *u, size_t n, size_t full,
                      size_t max_len, size_t *cap)
{
    size_t fixed = full, hi = 0, lo = 0, i;
    int pairs = 0;

    for (i = 0; i < n; i++) {
        fixed -= u[i].len + (u[i].len ? u[i].ovh : 0);
        pairs |= u[i].ovh && u[i].len;
        if (u[i].len > hi)
            hi = u[i].len;
    }
    fixed += pairs;          /* the first pair has no separator */
    if (fixed > max_len)
        return -1;
    /* largest cap in [0, hi] with total_at(cap) <= max_len */
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (total_at(u, n, fixed, mid) <= max_len)
            lo = mid;
        else
            hi = mid - 1;
    }
    *cap = lo;
    return 0;
}
