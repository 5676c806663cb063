/* sf_render.h - CEF / LEEF / JSON renderers. They own every escaping,
 * encoding (invalid UTF-8 -> U+FFFD; in CEF and LEEF, C0 and C1 controls,
 * DEL, U+2028 and U+2029 -> a space, bar CR/LF escaped in CEF extensions)
 * and length rule of their format, so a map author never has to. Renderers
 * append one line (no trailing newline) to out; they never touch sockets. */
#ifndef SF_RENDER_H
#define SF_RENDER_H

#include <stddef.h>
#include <json-c/json.h>
#include "sf_record.h"

struct sf_tenant_info {
    const char *name;  /* configured tenant name, e.g. "contoso" */
    const char *id;    /* Entra tenant id (GUID) */
};

struct sf_render_opts {
    size_t max_len;     /* whole record limit in bytes, 0 = none; fields are
                           truncated (longest first) to fit, never the line */
    int leef_version;   /* 1 or 2 (LEEF only) */
    char leef_delim;    /* LEEF 2.0 attribute delimiter; LEEF 1.0 is always TAB */
};

/* CEF:0 line from a record. Severity header: integer 0-10 (clamped) or
 * Unknown/Low/Medium/High/Very-High; anything else -> Unknown. Extension
 * values lose trailing spaces (a value only of spaces is left out): the
 * next " key=" follows, and CEF cannot escape a space. */
sf_err sf_render_cef(const struct sf_record *r, const struct sf_render_opts *o,
                     struct sf_buf *out, char *errbuf, size_t errlen);
/* LEEF:1.0 or LEEF:2.0 line from a record. */
sf_err sf_render_leef(const struct sf_record *r, const struct sf_render_opts *o,
                      struct sf_buf *out, char *errbuf, size_t errlen);
/* The alert object whole plus "tenant": {"name":..,"id":..}, one line. */
sf_err sf_render_json(json_object *alert, const struct sf_tenant_info *t,
                      const struct sf_render_opts *o, struct sf_buf *out,
                      char *errbuf, size_t errlen);

/* Key checks used by the map compiler: 0 if key may appear in the format's
 * extension / attribute list, else -1 with a reason in errbuf. */
int sf_cef_key_check(const char *key, char *errbuf, size_t errlen);
int sf_leef_key_check(const char *key, char *errbuf, size_t errlen);

/* Parse a LEEF 2.0 delimiter spec: a single character, or "xHH"/"0xHH". */
int sf_leef_parse_delim(const char *spec, char *delim);

#endif
