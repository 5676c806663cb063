/* cef_dict.h - private to the renderers: the CEF extension dictionary
 * (formats-and-outputs.md §1.5) with per-key maximum lengths, and the
 * max_len solver shared by cef.c and leef.c. Static read-only data. */
#ifndef CEF_DICT_H
#define CEF_DICT_H

#include <stddef.h>
#include "sf_buf.h"

enum cef_key_kind {
    CEF_KEY_PRODUCER,  /* emitters may send it (incl. the CEF 1.2 "both" keys) */
    CEF_KEY_CONSUMER,  /* set by ArcSight after ingestion: never emit */
};

struct sf_cef_key {
    const char *key;
    unsigned short max_chars;  /* 0 = no length given by the spec */
    unsigned char kind;        /* enum cef_key_kind */
};

/* Exact, case-sensitive lookup; NULL when key is not in the dictionary. */
const struct sf_cef_key *sf_cef_dict_find(const char *key);
/* Closest producer key by edit distance (case-insensitive), NULL if none
 * is close enough to be a plausible typo. */
const char *sf_cef_dict_suggest(const char *key);

/* One shrinkable text unit of a line, for sf_render_fit_cap: len is its
 * escaped byte length; ovh is 0 for a header slot (always written) or the
 * bytes a key/value pair adds besides the value (separator, key, '='),
 * since a pair whose value becomes empty is omitted. */
struct sf_fit_unit {
    size_t len;
    size_t ovh;
};

/* Water-filling for sf_render_opts.max_len: the largest cap L (bytes per
 * value) such that capping every unit at L (the longest ones shrink first)
 * gives a line of at most max_len bytes. full is the uncapped line length
 * (pairs are separated by one byte, none before the first). Sets *cap and
 * returns 0; returns -1 when even L = 0 exceeds max_len. The result is an
 * upper bound: the renderer may cut a little more at character/escape
 * boundaries. */
int sf_render_fit_cap(const struct sf_fit_unit *u, size_t n, size_t full,
                      size_t max_len, size_t *cap);

/* Severity text shared by CEF (0-10) and LEEF sev (1-10): blanks trimmed;
 * an integer (optional sign) is clamped to lo..10 and written to buf
 * (>= 3 bytes), returning 1. Otherwise returns 0 with word and wlen set to
 * the trimmed text after any sign, for the caller's word table (word NULL
 * when it began like a number but was not one, e.g. "5x"). */
int sf_render_sev(const char *s, size_t n, int lo, char *buf, const char **word,
                  size_t *wlen);

/* Renders one whole line with every value capped at cap bytes, appending to
 * out; with u, records each unit (at most max_units) for the solver. */
typedef sf_err (*sf_render_line_fn)(const void *ctx, size_t cap, struct sf_buf *out,
                                    struct sf_fit_unit *u, size_t *nu, char *errbuf,
                                    size_t errlen);

/* The slow path of max_len shared by CEF and LEEF: measure the line's units,
 * solve for the cap, render again from start. SF_ERR_LIMIT naming fmt when
 * even empty values do not fit. */
sf_err sf_render_shrink(sf_render_line_fn line, const void *ctx, size_t max_units,
                        const char *fmt, size_t max_len, size_t start, struct sf_buf *out,
                        char *errbuf, size_t errlen);

#endif
