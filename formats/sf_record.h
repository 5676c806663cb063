/* sf_record.h - the hand-off between the field-map evaluator and the CEF/LEEF
 * renderers: header values plus an ordered list of (key, value) pairs.
 * Values are raw (unescaped, possibly invalid UTF-8); the renderer escapes,
 * sanitises and truncates. The record owns its value bytes (vals); keys are
 * borrowed from the compiled map and live as long as it does. */
#ifndef SF_RECORD_H
#define SF_RECORD_H

#include <stddef.h>
#include "sf_buf.h"

enum sf_hdr {
    SF_HDR_VENDOR,
    SF_HDR_PRODUCT,
    SF_HDR_VERSION,
    SF_HDR_EVENT_ID,   /* CEF Signature ID / LEEF EventID */
    SF_HDR_NAME,       /* CEF Name (LEEF has none) */
    SF_HDR_SEVERITY,   /* CEF Severity (LEEF carries sev as an attribute) */
    SF_HDR_COUNT
};

struct sf_field {
    const char *key;  /* borrowed (compiled map); NULL for a header slot */
    size_t off;       /* value = vals.data + off, NUL-terminated */
    size_t len;
    int present;      /* 0: missing (header slot unset / value absent) */
};

struct sf_record {
    struct sf_field hdr[SF_HDR_COUNT];
    struct sf_field *fields;  /* owned array */
    size_t n, cap;
    struct sf_buf vals;       /* owns all value bytes */
};

void sf_record_init(struct sf_record *r);
void sf_record_reset(struct sf_record *r);   /* keeps memory for reuse */
void sf_record_free(struct sf_record *r);
sf_err sf_record_set_hdr(struct sf_record *r, enum sf_hdr h, const char *v, size_t len);
sf_err sf_record_add(struct sf_record *r, const char *key, const char *v, size_t len);

static inline const char *sf_record_val(const struct sf_record *r, const struct sf_field *f)
{
    return r->vals.data + f->off;
}

#endif
