/* sf_record.c - storage for one evaluated record (see sf_record.h). */
#include <stdlib.h>
#include <string.h>

#include "sf_record.h"

void sf_record_init(struct sf_record *r)
{
    memset(r, 0, sizeof(*r));
    sf_buf_init(&r->vals, 0);
}

void sf_record_reset(struct sf_record *r)
{
    memset(r->hdr, 0, sizeof(r->hdr));
    r->n = 0;
    sf_buf_reset(&r->vals);
}

void sf_record_free(struct sf_record *r)
{
    free(r->fields);
    sf_buf_free(&r->vals);
    memset(r, 0, sizeof(*r));
}

static sf_err store(struct sf_record *r, struct sf_field *f, const char *v, size_t len)
{
    size_t off = r->vals.len;
    sf_err err = sf_buf_add(&r->vals, v, len);
    if (!err)
        err = sf_buf_addc(&r->vals, '\0');
    if (err)
        return err;
    f->off = off;
    f->len = len;
    f->present = 1;
    return SF_OK;
}

sf_err sf_record_set_hdr(struct sf_record *r, enum sf_hdr h, const char *v, size_t len)
{
    if ((unsigned)h >= SF_HDR_COUNT)
        return SF_ERR_INVALID;
    r->hdr[h].key = NULL;
    return store(r, &r->hdr[h], v, len);
}

sf_err sf_record_add(struct sf_record *r, const char *key, const char *v, size_t len)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct sf_field *p = realloc(r->fields, cap * sizeof(*p));
        if (!p)
            return SF_ERR_NOMEM;
        r->fields = p;
        r->cap = cap;
    }
    struct sf_field *f = &r->fields[r->n];
    f->key = key;
    sf_err err = store(r, f, v, len);
    if (err)
        return err;
    r->n++;
    return SF_OK;
}
