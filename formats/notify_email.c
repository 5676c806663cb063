/* notify_email.c - the email messages of the notification renderer:
 * RFC 5322 headers made safe (control characters removed, RFC 2047
 * encoded-words for non-ASCII), a multipart/alternative body with text and
 * HTML parts in quoted-printable, for one alert or one flood-control
 * digest. Pure functions over caller-owned buffers; no I/O
 * (outputs/email.c sends what comes out). */
#include <stdint.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_notify_render.h"

#define HEADER_VALUE_MAX 900   /* bytes of a header value kept (RFC 5322: 998/line) */
#define FOLD_AT 76
#define EW_CHUNK 39            /* bytes per encoded-word: 52 base64 chars + 12 */

void sf_email_date(int64_t ms, char *buf, size_t len)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
}

void sf_notify_severity_word(const char *severity, char *buf, size_t len)
{
    static const char *const words[] = { "Unknown", "Informational", "Low", "Medium", "High" };
    int r = sf_sev_rank_of(severity);

    if (r || !severity || !*severity)
        snprintf(buf, len, "%s", words[r]);
    else   /* a value we do not rank: shown as the API wrote it */
        snprintf(buf, len, "%c%s", severity[0] >= 'a' && severity[0] <= 'z'
                 ? severity[0] - 'a' + 'A' : severity[0], severity + 1);
}

/* value with every control character (CR, LF, TAB, NUL-free C0, DEL) as a
 * space, runs of spaces squeezed, ends trimmed, cut at a UTF-8 boundary. */
static sf_err flatten(struct sf_buf *b, const char *value, size_t max)
{
    size_t start = b->len;
    sf_err err = SF_OK;

    for (const unsigned char *p = (const unsigned char *)value; p && *p && !err; p++) {
        int ctl = *p < 0x20 || *p == 0x7f;
        int space = ctl || *p == ' ';
        if (space && (b->len == start || b->data[b->len - 1] == ' '))
            continue;
        err = sf_buf_addc(b, space ? ' ' : (char)*p);
    }
    if (err)
        return err;
    if (b->len - start > max) {
        size_t n = start + max;
        while (n > start && ((unsigned char)b->data[n] & 0xc0) == 0x80)
            n--;   /* do not cut a UTF-8 sequence */
        sf_buf_truncate(b, n);
    }
    while (b->len > start && b->data[b->len - 1] == ' ')
        sf_buf_truncate(b, b->len - 1);
    return SF_OK;
}

static int needs_encoding(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80 || (s[i] == '=' && i + 1 < n && s[i + 1] == '?'))
            return 1;
    return 0;
}

static sf_err base64(struct sf_buf *out, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    sf_err err = SF_OK;

    for (size_t i = 0; i < n && !err; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0)
                     | (i + 2 < n ? p[i + 2] : 0);
        char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63],
                      i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
        err = sf_buf_add(out, q, 4);
    }
    return err;
}

/* RFC 2047 §5(1): "B" encoded-words of at most EW_CHUNK bytes each, cut
 * between UTF-8 characters, folded onto continuation lines. */
static sf_err encoded_words(struct sf_buf *out, const char *s, size_t n)
{
    sf_err err = SF_OK;
    size_t i = 0;

    while (i < n && !err) {
        size_t k = n - i > EW_CHUNK ? EW_CHUNK : n - i;
        while (k > 1 && i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
            k--;
        if (i)
            err = sf_buf_add(out, "\r\n ", 3);
        if (!err)
            err = sf_buf_adds(out, "=?UTF-8?B?");
        if (!err)
            err = base64(out, (const unsigned char *)s + i, k);
        if (!err)
            err = sf_buf_add(out, "?=", 2);
        i += k;
    }
    return err;
}

/* Plain ASCII, folded before a space once a line passes FOLD_AT. */
static sf_err folded(struct sf_buf *out, size_t col, const char *s, size_t n)
{
    sf_err err = SF_OK;

    for (size_t i = 0; i < n && !err; i++) {
        if (s[i] == ' ' && col >= FOLD_AT && i + 1 < n) {
            err = sf_buf_add(out, "\r\n", 2);
            col = 0;
        }
        if (!err)
            err = sf_buf_addc(out, s[i]);
        col++;
    }
    return err;
}

sf_err sf_email_header(struct sf_buf *out, const char *name, const char *value)
{
    struct sf_buf v;
    sf_err err;

    sf_buf_init(&v, 0);
    err = flatten(&v, value ? value : "", HEADER_VALUE_MAX);
    if (!err)
        err = sf_buf_printf(out, "%s: ", name);
    if (!err && v.len && needs_encoding(v.data, v.len))
        err = encoded_words(out, v.data, v.len);
    else if (!err && v.len)
        err = folded(out, strlen(name) + 2, v.data, v.len);
    if (!err)
        err = sf_buf_add(out, "\r\n", 2);
    sf_buf_free(&v);
    return err;
}

/* One quoted-printable line (no line break in it). */
static sf_err qp_line(struct sf_buf *out, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    sf_err err = SF_OK;

    for (size_t i = 0; i < n && !err; i++) {
        unsigned c = p[i];
        int last = i + 1 == n;
        int enc = c == '=' || (c < 0x20 && c != '\t') || c >= 0x7f
                  || ((c == ' ' || c == '\t') && last);
        if (col + (enc ? 3 : 1) > FOLD_AT - 1) {
            err = sf_buf_add(out, "=\r\n", 3);   /* soft line break */
            col = 0;
        }
        /* a leading dot is encoded so no SMTP server ever sees "\r\n.\r\n" */
        enc = enc || (c == '.' && col == 0);
        if (!err && enc) {
            char e[3] = { '=', hex[c >> 4], hex[c & 15] };
            err = sf_buf_add(out, e, 3);
        } else if (!err) {
            err = sf_buf_addc(out, (char)c);
        }
        col += enc ? 3 : 1;
    }
    return err;
}

sf_err sf_email_qp(struct sf_buf *out, const char *text, size_t len)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    sf_err err = SF_OK;

    while (i < len && !err) {
        size_t e = i;
        while (e < len && p[e] != '\n')
            e++;
        size_t n = e - i;
        if (n && p[i + n - 1] == '\r')
            n--;
        err = qp_line(out, p + i, n);
        if (!err)
            err = sf_buf_add(out, "\r\n", 2);
        i = e + 1;
    }
    return err;
}

static sf_err html(struct sf_buf *b, const char *s)
{
    sf_err err = SF_OK;

    for (; s && *s && !err; s++) {
        switch (*s) {
        case '&': err = sf_buf_adds(b, "&amp;"); break;
        case '<': err = sf_buf_adds(b, "&lt;"); break;
        case '>': err = sf_buf_adds(b, "&gt;"); break;
        case '"': err = sf_buf_adds(b, "&quot;"); break;
        case '\'': err = sf_buf_adds(b, "&#39;"); break;
        default: err = sf_buf_addc(b, *s); break;
        }
    }
    return err;
}

/* Both bodies under construction: plain text and HTML. */
struct bodies {
    struct sf_buf text, html;
    sf_err err;
};

static void row(struct bodies *b, const char *label, const char *value)
{
    struct sf_buf v;

    if (!value || !*value || b->err)
        return;
    sf_buf_init(&v, 0);
    b->err = flatten(&v, value, 4096);
    if (!b->err)
        b->err = sf_buf_printf(&b->text, "%-13s %s\n", label, v.data ? v.data : "");
    if (!b->err)
        b->err = sf_buf_printf(&b->html, "<tr><th align=\"left\">%s</th><td>", label);
    if (!b->err)
        b->err = html(&b->html, v.data);
    if (!b->err)
        b->err = sf_buf_adds(&b->html, "</td></tr>\n");
    sf_buf_free(&v);
}

static void link_row(struct bodies *b, const char *label, const char *url, const char *text)
{
    if (!url || strncmp(url, "https://", 8) != 0 || b->err)
        return;   /* only https links become anchors */
    b->err = sf_buf_printf(&b->text, "%-13s %s\n", label, url);
    if (!b->err)
        b->err = sf_buf_printf(&b->html, "<tr><th align=\"left\">%s</th><td><a href=\"", label);
    if (!b->err)
        b->err = html(&b->html, url);
    if (!b->err)
        b->err = sf_buf_adds(&b->html, "\">");
    if (!b->err)
        b->err = html(&b->html, text);
    if (!b->err)
        b->err = sf_buf_adds(&b->html, "</a></td></tr>\n");
}

static sf_err mime_headers(struct sf_buf *out, const struct sf_email_opts *eo, int64_t now_ms,
                           const char *msgid, const char *boundary, const char *subject)
{
    char date[64];
    struct sf_buf to;
    sf_err err;

    sf_buf_init(&to, 0);
    for (size_t i = 0; i < eo->nto; i++)
        sf_buf_printf(&to, "%s%s", i ? ", " : "", eo->to[i]);
    sf_email_date(now_ms, date, sizeof(date));
    err = sf_email_header(out, "Date", date);
    if (!err)
        err = sf_email_header(out, "From", eo->from);
    if (!err)
        err = sf_email_header(out, "To", to.data);
    if (!err)
        err = sf_email_header(out, "Subject", subject);
    if (!err)
        err = sf_buf_printf(out, "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n"
                            "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
                            "Auto-Submitted: auto-generated\r\n", msgid, boundary);
    sf_buf_free(&to);
    return err;
}

/* Headers already in out; appends both parts and the closing boundary. */
static sf_err finish(struct sf_buf *out, const char *boundary, struct bodies *b)
{
    static const char part[] = "--%s\r\nContent-Type: text/%s; charset=UTF-8\r\n"
                               "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    sf_err err = b->err;

    if (!err)
        err = sf_buf_printf(out, "\r\nThis is a multi-part message in MIME format.\r\n\r\n");
    if (!err)
        err = sf_buf_printf(out, part, boundary, "plain");
    if (!err)
        err = sf_email_qp(out, b->text.data ? b->text.data : "", b->text.len);
    if (!err)
        err = sf_buf_printf(out, part, boundary, "html");
    if (!err)
        err = sf_email_qp(out, b->html.data ? b->html.data : "", b->html.len);
    if (!err)
        err = sf_buf_printf(out, "--%s--\r\n", boundary);
    sf_buf_free(&b->text);
    sf_buf_free(&b->html);
    return err;
}

static void text_block(struct bodies *b, const char *s, const char *html_style)
{
    if (!s || !*s || b->err)
        return;
    for (const char *p = s; *p && !b->err; p++)   /* keep line breaks, drop other controls */
        if ((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t')
            b->err = sf_buf_addc(&b->text, *p);
    if (!b->err)
        b->err = sf_buf_addc(&b->text, '\n');
    if (!b->err)
        b->err = sf_buf_printf(&b->html, "<p style=\"%s\">", html_style);
    if (!b->err)
        b->err = html(&b->html, s);
    if (!b->err)
        b->err = sf_buf_adds(&b->html, "</p>\n");
}

static void alert_rows(struct bodies *b, const struct sf_email_opts *eo,
                       const struct sf_notify_alert *a, const char *sev)
{
    char src[512], org[512];
    struct sf_buf dev;

    snprintf(org, sizeof(org), "%s%s%s%s", a->v->tenant ? a->v->tenant : "",
             a->v->tenant_id ? " (tenant " : "", a->v->tenant_id ? a->v->tenant_id : "",
             a->v->tenant_id ? ")" : "");
    snprintf(src, sizeof(src), "%s%s%s", a->v->service_source ? a->v->service_source : "",
             a->v->service_source && a->v->detection_source ? " / " : "",
             a->v->detection_source ? a->v->detection_source : "");
    sf_buf_init(&dev, 0);
    for (size_t i = 0; i < a->v->ndevices; i++)
        sf_buf_printf(&dev, "%s%s", i ? ", " : "", a->v->devices[i]);
    if (eo->organization)
        row(b, "Organization:", org);
    row(b, "Severity:", sev);
    row(b, "Status:", a->v->status);
    row(b, "Category:", a->v->category);
    row(b, "Source:", src);
    row(b, "Created:", a->v->created);
    if (eo->device)
        row(b, "Devices:", dev.data);
    row(b, "Alert ID:", a->v->id);
    if (eo->portal_link)
        link_row(b, "Portal link:", a->v->link, "Open the alert in Microsoft Defender");
    sf_buf_free(&dev);
}

sf_err sf_email_alert(const struct sf_email_opts *eo, const struct sf_notify_alert *a,
                      int64_t now_ms, const char *msgid, const char *boundary,
                      struct sf_buf *out)
{
    struct bodies b = { .err = SF_OK };
    struct sf_buf subject;
    const char *title = a->v->title ? a->v->title : "(no title)";
    char sev[64];
    sf_err err;

    sf_notify_severity_word(a->v->severity, sev, sizeof(sev));
    sf_buf_init(&subject, 0);
    sf_buf_init(&b.text, 0);
    sf_buf_init(&b.html, 0);
    if (eo->organization && a->v->tenant)
        sf_buf_printf(&subject, "[%s] ", a->v->tenant);
    sf_buf_printf(&subject, "%s: %s", sev, title);
    err = mime_headers(out, eo, now_ms, msgid, boundary, subject.data);
    sf_buf_free(&subject);
    b.err = err;
    if (!b.err)
        b.err = flatten(&b.text, title, 4096);
    if (!b.err)
        b.err = sf_buf_printf(&b.text, "\n\n");
    if (!b.err)
        b.err = sf_buf_printf(&b.html, "<!DOCTYPE html>\n<html><body style=\"font-family:"
                              "sans-serif\">\n<h2>%s: ", sev);
    if (!b.err)
        b.err = html(&b.html, title);
    if (!b.err)
        b.err = sf_buf_adds(&b.html, "</h2>\n<table>\n");
    alert_rows(&b, eo, a, sev);
    if (!b.err)
        b.err = sf_buf_adds(&b.text, "\n");
    if (!b.err)
        b.err = sf_buf_adds(&b.html, "</table>\n");
    text_block(&b, a->v->description, "white-space:pre-wrap");
    if (a->rule && !b.err)
        b.err = sf_buf_printf(&b.text, "\n-- \nSent by siemfwd (rule: %s)\n", a->rule);
    if (a->rule && !b.err)
        b.err = sf_buf_printf(&b.html, "<p style=\"color:#666\">Sent by siemfwd (rule: ");
    if (a->rule && !b.err)
        b.err = html(&b.html, a->rule);
    if (!b.err)
        b.err = sf_buf_adds(&b.html, a->rule ? ")</p>\n</body></html>\n" : "</body></html>\n");
    return finish(out, boundary, &b);
}

/* "[contoso, fabrikam] " from the items' tenants (at most 5 named). */
static void digest_tenants(struct sf_buf *s, const struct sf_notify_digest *d)
{
    size_t named = 0, more = 0;

    for (size_t i = 0; i < d->n; i++) {
        const char *t = d->items[i].tenant ? d->items[i].tenant : "";
        size_t k = 0;
        while (k < i && strcmp(d->items[k].tenant ? d->items[k].tenant : "", t) != 0)
            k++;
        if (k < i)
            continue;
        if (named < 5)
            sf_buf_printf(s, "%s%s", named++ ? ", " : "[", t);
        else
            more++;
    }
    if (named && more)
        sf_buf_printf(s, " +%zu", more);
    if (named)
        sf_buf_adds(s, "] ");
}

static void digest_item(struct bodies *b, const struct sf_email_opts *eo,
                        const struct sf_notify_item *it, size_t i)
{
    char sev[64], line[1536];

    sf_notify_severity_word(it->severity, sev, sizeof(sev));
    snprintf(line, sizeof(line), "%s%s%s%s: %s (alert %s)", eo->organization ? "[" : "",
             eo->organization && it->tenant ? it->tenant : "", eo->organization ? "] " : "",
             sev, it->title ? it->title : "(no title)", it->alert_id ? it->alert_id : "");
    if (!b->err)
        b->err = sf_buf_printf(&b->text, "%zu. ", i + 1);
    if (!b->err)
        b->err = flatten(&b->text, line, sizeof(line));
    if (!b->err)
        b->err = sf_buf_adds(&b->html, "<li>");
    if (!b->err)
        b->err = html(&b->html, line);
    if (eo->portal_link && it->link && strncmp(it->link, "https://", 8) == 0 && !b->err) {
        b->err = sf_buf_printf(&b->text, "\n   %s", it->link);
        if (!b->err)
            b->err = sf_buf_adds(&b->html, " <a href=\"");
        if (!b->err)
            b->err = html(&b->html, it->link);
        if (!b->err)
            b->err = sf_buf_adds(&b->html, "\">open</a>");
    }
    if (!b->err)
        b->err = sf_buf_adds(&b->text, "\n");
    if (!b->err)
        b->err = sf_buf_adds(&b->html, "</li>\n");
}

sf_err sf_email_digest(const struct sf_email_opts *eo, const struct sf_notify_digest *d,
                       int64_t now_ms, const char *msgid, const char *boundary,
                       struct sf_buf *out)
{
    static const char *const words[] = { "Unknown", "Informational", "Low", "Medium", "High" };
    struct bodies b = { .err = SF_OK };
    struct sf_buf subject, intro;
    char from[64], until[64];
    sf_err err;

    sf_buf_init(&subject, 0);
    sf_buf_init(&intro, 0);
    sf_buf_init(&b.text, 0);
    sf_buf_init(&b.html, 0);
    if (eo->organization)
        digest_tenants(&subject, d);
    sf_buf_printf(&subject, "Digest: %zu alert%s held by flood control (highest: %s)", d->n,
                  d->n == 1 ? "" : "s", words[d->max_rank >= 0 && d->max_rank <= 4
                                              ? d->max_rank : 0]);
    err = mime_headers(out, eo, now_ms, msgid, boundary, subject.data);
    sf_email_date(d->from_ms, from, sizeof(from));
    sf_email_date(d->until_ms, until, sizeof(until));
    sf_buf_printf(&intro, "%zu alert%s matched the rule \"%s\" after its flood limit (%s) was "
                  "reached, between %s and %s, and %s not sent one by one:", d->n,
                  d->n == 1 ? "" : "s", d->rule ? d->rule : "", d->limit ? d->limit : "",
                  from, until, d->n == 1 ? "was" : "were");
    b.err = err ? err : intro.data ? SF_OK : SF_ERR_NOMEM;
    if (!b.err)
        b.err = sf_buf_printf(&b.text, "%s\n\n", intro.data);
    if (!b.err)
        b.err = sf_buf_adds(&b.html, "<!DOCTYPE html>\n<html><body style=\"font-family:"
                            "sans-serif\">\n<p>");
    if (!b.err)
        b.err = html(&b.html, intro.data);
    if (!b.err)
        b.err = sf_buf_adds(&b.html, "</p>\n<ol>\n");
    for (size_t i = 0; i < d->n && !b.err; i++)
        digest_item(&b, eo, &d->items[i], i);
    if (!b.err)
        b.err = sf_buf_adds(&b.text, "\n-- \nSent by siemfwd\n");
    if (!b.err)
        b.err = sf_buf_adds(&b.html, "</ol>\n<p style=\"color:#666\">Sent by siemfwd</p>\n"
                            "</body></html>\n");
    sf_buf_free(&subject);
    sf_buf_free(&intro);
    return finish(out, boundary, &b);
}

static int random_hex(char *out, size_t bytes)
{
    unsigned char r[32];

    if (bytes > sizeof(r) || getrandom(r, bytes, 0) != (ssize_t)bytes)
        return -1;
    for (size_t i = 0; i < bytes; i++)
        sprintf(out + 2 * i, "%02x", r[i]);
    return 0;
}

void sf_email_ids(const char *domain, char *msgid, size_t mlen, char *boundary, size_t blen)
{
    char a[33] = "0", b[33] = "0";
    static unsigned long fallback;

    /* getrandom cannot fail for 28 bytes after boot; if it does, still unique */
    if (random_hex(a, 16) || random_hex(b, 12)) {
        snprintf(a, sizeof(a), "%lx%lx", (unsigned long)time(NULL), ++fallback);
        snprintf(b, sizeof(b), "%s", a);
    }
    snprintf(msgid, mlen, "%s.siemfwd@%s", a, domain ? domain : "siemfwd.invalid");
    snprintf(boundary, blen, "=_siemfwd_%s", b);
}
