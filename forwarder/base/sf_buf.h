/* sf_buf.h - growable byte buffer with a hard maximum (after curl's dynbuf).
 * The buffer owns data; data is always NUL-terminated when non-NULL, so it
 * can be used as a C string when the content holds no NUL. */
#ifndef SF_BUF_H
#define SF_BUF_H

#include <stddef.h>
#include "sf_err.h"

struct sf_buf {
    char *data;   /* owned; NULL until the first add */
    size_t len;   /* bytes used, not counting the trailing NUL */
    size_t cap;   /* bytes allocated */
    size_t max;   /* hard limit on len; adds past it fail with SF_ERR_LIMIT */
};

#define SF_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

void sf_buf_init(struct sf_buf *b, size_t max);
sf_err sf_buf_add(struct sf_buf *b, const void *p, size_t n);
sf_err sf_buf_addc(struct sf_buf *b, char c);
sf_err sf_buf_adds(struct sf_buf *b, const char *s);
sf_err sf_buf_printf(struct sf_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
sf_err sf_buf_reserve(struct sf_buf *b, size_t extra);
void sf_buf_truncate(struct sf_buf *b, size_t len); /* len <= b->len */
void sf_buf_reset(struct sf_buf *b);  /* len = 0, keeps memory */
void sf_buf_free(struct sf_buf *b);
/* Hand the bytes to the caller (who frees them); b is reset to empty. */
char *sf_buf_steal(struct sf_buf *b, size_t *len);

#endif
