/* sf_buf.c - growable byte buffer with a hard maximum. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_buf.h"

void sf_buf_init(struct sf_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SF_BUF_DEFAULT_MAX;
}

sf_err sf_buf_reserve(struct sf_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return SF_ERR_LIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SF_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return SF_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    return SF_OK;
}

sf_err sf_buf_add(struct sf_buf *b, const void *p, size_t n)
{
    sf_err err = sf_buf_reserve(b, n);
    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SF_OK;
}

sf_err sf_buf_addc(struct sf_buf *b, char c)
{
    return sf_buf_add(b, &c, 1);
}

sf_err sf_buf_adds(struct sf_buf *b, const char *s)
{
    return sf_buf_add(b, s, strlen(s));
}

sf_err sf_buf_printf(struct sf_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SF_ERR_INVALID;
    sf_err err = sf_buf_reserve(b, (size_t)n);
    if (err)
        return err;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SF_OK;
}

void sf_buf_truncate(struct sf_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

void sf_buf_reset(struct sf_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void sf_buf_free(struct sf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *sf_buf_steal(struct sf_buf *b, size_t *len)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
