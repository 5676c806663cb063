/* leef.c - LEEF 1.0 / 2.0 renderer (formats-and-outputs.md §2), its key
 * check and delimiter parsing. Does not do syslog framing; out is owned by
 * the caller and only appended to. */
#include <ctype.h>
#include <string.h>

#include "sf_render.h"

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

sf_err sf_render_leef(const struct sf_record *r, const struct sf_render_opts *o,
                      struct sf_buf *out, char *errbuf, size_t errlen)
{
    sf_errf(errbuf, errlen, "LEEF rendering is not available in this build");
    return SF_ERR_INTERNAL;
}
