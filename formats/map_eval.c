/* map_eval.c - runs a compiled field map against one alert: header slots and
 * fields in map order, paths walked with borrowed json-c references, lists
 * ([*]) streamed element by element into their reducer. All intermediate
 * text lives at the tail of the record's own value buffer, so evaluation
 * allocates nothing beyond that buffer's (reused) growth. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "map_internal.h"

sf_err sf_map_val_text(struct sf_map_ev *ev, struct sf_map_val *v)
{
    if (v->kind != V_JSON)
        return SF_OK;
    json_object *j = v->j;
    const char *s;
    char num[32];
    size_t start = ev->b->len, n;
    v->j = NULL;
    v->p = NULL;
    v->kind = V_TEXT;
    switch (json_object_get_type(j)) {
    case json_type_null:
        v->kind = V_MISSING;
        return SF_OK;
    case json_type_string:
        v->p = json_object_get_string(j);
        v->len = (size_t)json_object_get_string_len(j);
        v->kind = v->len ? V_TEXT : V_MISSING;
        return SF_OK;
    case json_type_boolean:
        v->p = json_object_get_boolean(j) ? "true" : "false";
        v->len = strlen(v->p);
        return SF_OK;
    case json_type_int:
        n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(j));
        s = num;
        break;
    default: /* double, object, array: json-c's compact text, copied at once */
        s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                              JSON_C_TO_STRING_NOSLASHESCAPE);
        n = s ? strlen(s) : 0;
        break;
    }
    v->off = start;
    v->len = n;
    return sf_buf_add(ev->b, s ? s : "", n);
}

static void set_missing(struct sf_map_val *v)
{
    memset(v, 0, sizeof(*v));
    v->kind = V_MISSING;
}

static void set_const(struct sf_map_val *v, const char *s, size_t len)
{
    memset(v, 0, sizeof(*v));
    v->kind = len ? V_TEXT : V_MISSING;
    v->p = s;
    v->len = len;
}

static void set_tail(struct sf_map_ev *ev, struct sf_map_val *v, size_t start)
{
    memset(v, 0, sizeof(*v));
    v->off = start;
    v->len = ev->b->len - start;
    v->kind = v->len ? V_TEXT : V_MISSING;
}

/* Append one template part; *have is 0 when a reference is missing. */
static sf_err tmpl_part(struct sf_map_ev *ev, const struct sf_map_tpart *tp,
                        json_object *rel, int *have)
{
    const char *s = NULL;
    struct sf_map_val pv;
    sf_err err = SF_OK;

    *have = 1;
    switch (tp->kind) {
    case TP_LIT:
        return sf_buf_add(ev->b, tp->s, tp->len);
    case TP_TENANT_NAME:
    case TP_TENANT_ID:
        if (ev->t)
            s = tp->kind == TP_TENANT_NAME ? ev->t->name : ev->t->id;
        *have = s && *s;
        return *have ? sf_buf_adds(ev->b, s) : SF_OK;
    case TP_PATH:
        memset(&pv, 0, sizeof(pv));
        pv.j = rel ? sf_map_path_get(&tp->path, 0, rel) : NULL;
        pv.kind = pv.j ? V_JSON : V_MISSING;
        err = sf_map_val_text(ev, &pv);  /* non-strings land at the tail */
        if (!err && pv.kind == V_TEXT && pv.p)
            err = sf_buf_add(ev->b, pv.p, pv.len);
        *have = pv.kind == V_TEXT && pv.len > 0;
        return err;
    default:  /* group marks are handled by the caller */
        return SF_OK;
    }
}

/* No half values: a missing required reference makes the template missing,
 * a missing reference in $[...] drops that group, literals included. */
sf_err sf_map_tmpl_eval(struct sf_map_ev *ev, const struct sf_map_tmpl *t,
                        json_object *rel, struct sf_map_val *v)
{
    size_t start = ev->b->len, mark = start;
    sf_err err = SF_OK;
    int in_group = 0, skip = 0, have;
    for (size_t i = 0; i < t->n && !err; i++) {
        const struct sf_map_tpart *tp = &t->parts[i];
        if (tp->kind == TP_OPT_BEGIN || tp->kind == TP_OPT_END) {
            in_group = tp->kind == TP_OPT_BEGIN;
            mark = ev->b->len;
            skip = 0;
            continue;
        }
        if (skip)
            continue;
        err = tmpl_part(ev, tp, rel, &have);
        if (err || have)
            continue;
        if (!in_group) {
            sf_buf_truncate(ev->b, start);
            set_missing(v);
            return SF_OK;
        }
        sf_buf_truncate(ev->b, mark);
        skip = 1;
    }
    if (!err)
        set_tail(ev, v, start);
    return err;
}

/* ---- reducers ---- */

static int in_set(const struct sf_map_xf *x, const char *s, size_t n)
{
    for (size_t i = 0; i < x->nset; i++)
        if (x->set[i].klen == n && strncasecmp(x->set[i].k, s, n) == 0)
            return 1;
    return 0;
}

struct red {                      /* one reducer consuming a stream of values */
    struct sf_map_ev *ev;
    const struct sf_map_value *vs;
    const struct sf_map_xf *x;
    size_t pre;                   /* per-element transforms: xf[0..pre) */
    size_t raw, n, acc;
    int hit;
    struct sf_map_val first;
    sf_err err;
};

/* Append sep (unless first) and v's text, then move both down to base so
 * the joined text stays contiguous at [acc, b->len). */
static sf_err join_add(struct red *rd, struct sf_map_val *v, size_t base)
{
    struct sf_buf *b = rd->ev->b;
    size_t seplen = rd->n ? rd->x->len : 0, tail = b->len;
    sf_err err = sf_buf_reserve(b, seplen + v->len);
    if (!err)
        err = sf_buf_add(b, rd->x->s, seplen);
    if (!err)
        err = sf_buf_add(b, sf_map_val_ptr(rd->ev, v), v->len);
    if (err)
        return err;
    memmove(b->data + base, b->data + tail, seplen + v->len);
    sf_buf_truncate(b, base + seplen + v->len);
    return SF_OK;
}

/* Feed one value (already through the per-element transforms). 1 = stop. */
static int red_feed(struct red *rd, struct sf_map_val *v, size_t base)
{
    struct sf_map_ev *ev = rd->ev;
    if (rd->x->kind == XF_FIRST) {
        rd->first = *v;
        rd->n++;
        return 1;
    }
    rd->err = sf_map_val_text(ev, v);
    if (rd->err || v->kind == V_MISSING) {
        sf_buf_truncate(ev->b, base);
        return rd->err != SF_OK;
    }
    if (rd->x->kind == XF_JOIN) {
        rd->err = join_add(rd, v, base);
        rd->n++;
        return rd->err != SF_OK;
    }
    if (rd->x->kind == XF_ANY)
        rd->hit = in_set(rd->x, sf_map_val_ptr(ev, v), v->len);
    rd->n++;
    sf_buf_truncate(ev->b, base);
    return rd->hit;
}

static int red_elem(json_object *j, void *ctx)
{
    struct red *rd = ctx;
    if (json_object_is_type(j, json_type_string) && json_object_get_string_len(j) == 0)
        return 0;  /* "" is missing, as for single values */
    rd->raw++;
    size_t base = rd->ev->b->len;
    struct sf_map_val v = { .kind = V_JSON, .j = j };
    for (size_t i = 0; i < rd->pre && !rd->err && v.kind != V_MISSING; i++)
        rd->err = sf_map_xf_apply(rd->ev, &rd->vs->xf[i], &v);
    if (rd->err)
        return 1;
    if (v.kind == V_MISSING) {
        sf_buf_truncate(rd->ev->b, base);
        return 0;
    }
    return red_feed(rd, &v, base);
}

static sf_err red_finish(struct red *rd, struct sf_map_val *v)
{
    char num[32];
    switch (rd->x->kind) {
    case XF_JOIN:
        set_tail(rd->ev, v, rd->acc);
        return SF_OK;
    case XF_ANY:  /* nothing to test is unknown, not "no" */
        if (rd->n)
            set_const(v, rd->hit ? "1" : "0", 1);
        else
            set_missing(v);
        return SF_OK;
    case XF_COUNT: {
        size_t start = rd->ev->b->len;
        snprintf(num, sizeof(num), "%zu", rd->n);
        sf_err err = sf_buf_adds(rd->ev->b, num);
        set_tail(rd->ev, v, start);
        return err;
    }
    default: /* XF_FIRST */
        if (rd->n)
            *v = rd->first;
        else
            set_missing(v);
        return SF_OK;
    }
}

/* A reducer met by a single value: JSON arrays are reduced element-wise,
 * anything else is a one-element list (missing: an empty one). */
static sf_err reduce_single(struct sf_map_ev *ev, const struct sf_map_value *vs,
                            const struct sf_map_xf *x, struct sf_map_val *v)
{
    struct red rd = { .ev = ev, .vs = vs, .x = x, .acc = ev->b->len };
    if (v->kind == V_JSON && json_object_is_type(v->j, json_type_array)) {
        json_object *arr = v->j;
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n && !rd.err; i++) {
            json_object *el = json_object_array_get_idx(arr, i);
            if (el && red_elem(el, &rd))
                break;
        }
    } else if (v->kind != V_MISSING) {
        if (x->kind == XF_JOIN || x->kind == XF_FIRST)
            return SF_OK;  /* a non-list passes */
        red_feed(&rd, v, ev->b->len);
    }
    return rd.err ? rd.err : red_finish(&rd, v);
}

/* ---- value specs ---- */

static sf_err chain(struct sf_map_ev *ev, const struct sf_map_value *vs, size_t from,
                    struct sf_map_val *v)
{
    sf_err err = SF_OK;
    for (size_t i = from; i < vs->nxf && !err; i++) {
        const struct sf_map_xf *x = &vs->xf[i];
        err = XF_IS_REDUCER(x->kind) ? reduce_single(ev, vs, x, v)
                                     : sf_map_xf_apply(ev, x, v);
    }
    if (!err && v->kind == V_MISSING && vs->def)
        set_const(v, vs->def, vs->deflen);
    return err;
}

static int present(json_object *j)
{
    return j && !(json_object_is_type(j, json_type_string) &&
                  json_object_get_string_len(j) == 0);
}

static sf_err eval_paths(struct sf_map_ev *ev, json_object *alert,
                         const struct sf_map_value *vs, struct sf_map_val *v)
{
    for (size_t k = 0; k < vs->npaths; k++) {
        const struct sf_map_path *p = &vs->paths[k];
        if (!p->list) {
            json_object *j = sf_map_path_get(p, 0, alert);
            if (!present(j))
                continue;
            set_missing(v);
            v->kind = V_JSON;
            v->j = j;
            return chain(ev, vs, 0, v);
        }
        struct red rd = { .ev = ev, .vs = vs, .x = &vs->xf[vs->reduce],
                          .pre = vs->reduce, .acc = ev->b->len };
        sf_map_path_each(p, alert, red_elem, &rd);
        if (rd.err)
            return rd.err;
        if (rd.raw == 0)
            continue;
        sf_err err = red_finish(&rd, v);
        return err ? err : chain(ev, vs, vs->reduce + 1, v);
    }
    set_missing(v);
    return chain(ev, vs, 0, v);
}

static sf_err eval_value(struct sf_map_ev *ev, json_object *alert,
                         const struct sf_map_value *vs, struct sf_map_val *v)
{
    sf_err err;
    set_missing(v);
    switch (vs->kind) {
    case VS_PATH:
        return eval_paths(ev, alert, vs, v);
    case VS_TEMPLATE:
        err = sf_map_tmpl_eval(ev, &vs->tmpl, alert, v);
        return err ? err : chain(ev, vs, 0, v);
    case VS_CONST:
        set_const(v, vs->s, vs->len);
        return chain(ev, vs, 0, v);
    default:
        return SF_OK;
    }
}

/* Store v as header slot h (key == NULL) or as field key. Scratch text is
 * moved to base (where this value's scratch began) and committed in place:
 * adding an empty value puts the record's NUL right after it, and the slot
 * is then pointed back at base - no copy of the bytes. */
static sf_err commit(struct sf_map_ev *ev, struct sf_record *r, size_t base,
                     const char *key, enum sf_hdr h, struct sf_map_val *v, int *added)
{
    struct sf_buf *b = ev->b;
    sf_err err = sf_map_val_text(ev, v);
    *added = 0;
    if (err || v->kind == V_MISSING || v->len == 0) {
        sf_buf_truncate(b, base);
        return err;
    }
    if (v->p) {
        sf_buf_truncate(b, base);
        err = key ? sf_record_add(r, key, v->p, v->len) : sf_record_set_hdr(r, h, v->p, v->len);
        *added = !err;
        return err;
    }
    memmove(b->data + base, b->data + v->off, v->len);
    sf_buf_truncate(b, base + v->len);
    err = key ? sf_record_add(r, key, "", 0) : sf_record_set_hdr(r, h, "", 0);
    if (err)
        return err;
    struct sf_field *f = key ? &r->fields[r->n - 1] : &r->hdr[h];
    f->off = base;
    f->len = v->len;
    *added = 1;
    return SF_OK;
}

sf_err sf_map_eval(const struct sf_map *m, json_object *alert,
                   const struct sf_tenant_info *t, struct sf_record *r,
                   char *errbuf, size_t errlen)
{
    struct sf_map_ev ev = { .m = m, .t = t, .b = &r->vals };
    struct sf_map_val v;
    sf_err err = SF_OK;
    int added;
    sf_record_reset(r);
    if (!m || !json_object_is_type(alert, json_type_object)) {
        sf_errf(errbuf, errlen, "alert is not a JSON object");
        return SF_ERR_INVALID;
    }
    for (int h = 0; h < SF_HDR_COUNT && !err; h++) {
        size_t base = r->vals.len;
        err = eval_value(&ev, alert, &m->hdr[h], &v);
        if (!err)
            err = commit(&ev, r, base, NULL, (enum sf_hdr)h, &v, &added);
    }
    for (size_t i = 0; i < m->nfields && !err; i++) {
        const struct sf_map_field *f = &m->fields[i];
        size_t base = r->vals.len;
        err = eval_value(&ev, alert, &f->v, &v);
        if (!err)
            err = commit(&ev, r, base, f->key, SF_HDR_VENDOR, &v, &added);
        if (!err && added && f->label_key)
            err = sf_record_add(r, f->label_key, f->label, f->label_len);
    }
    if (err)
        sf_errf(errbuf, errlen, "evaluating the field map: %s", sf_strerror(err));
    return err;
}
