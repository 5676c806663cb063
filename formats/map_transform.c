/* map_transform.c - the per-value transforms of a field map: compiled from
 * YAML (`lower`, `{lookup: t}`, ...) and applied to one value at a time.
 * Reducers (join/any/count/first) are only compiled here; map_eval.c runs
 * them because they see a whole list. New text goes to the scratch tail of
 * the record buffer; nothing here allocates per alert. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "map_internal.h"
#include "sf_time.h"

enum arg { ARG_NONE, ARG_STR, ARG_OPT_STR, ARG_SPECIAL };

static const struct {
    const char *name;
    enum sf_map_xf_kind kind;
    enum arg arg;
} xf_names[] = {
    { "epoch_ms", XF_EPOCH_MS, ARG_NONE },     { "time_format", XF_TIME_FORMAT, ARG_STR },
    { "lower", XF_LOWER, ARG_NONE },           { "upper", XF_UPPER, ARG_NONE },
    { "lookup", XF_LOOKUP, ARG_SPECIAL },      { "host", XF_HOST, ARG_NONE },
    { "domain", XF_DOMAIN, ARG_NONE },         { "bool01", XF_BOOL01, ARG_NONE },
    { "default", XF_DEFAULT, ARG_STR },        { "truncate", XF_TRUNCATE, ARG_SPECIAL },
    { "prefix", XF_PREFIX, ARG_STR },          { "suffix", XF_SUFFIX, ARG_STR },
    { "template", XF_TEMPLATE, ARG_SPECIAL },  { "join", XF_JOIN, ARG_OPT_STR },
    { "any", XF_ANY, ARG_SPECIAL },            { "count", XF_COUNT, ARG_NONE },
    { "first", XF_FIRST, ARG_NONE },
};
#define NXF (sizeof(xf_names) / sizeof(xf_names[0]))

static int unknown_name(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                        const char *name)
{
    const char *names[NXF];
    for (size_t i = 0; i < NXF; i++)
        names[i] = xf_names[i].name;
    const char *hint = sf_mapc_closest(name, names, NXF);
    if (hint)
        sf_mapc_error(c, node, kpath, "unknown transform '%s' (did you mean '%s'?)", name, hint);
    else
        sf_mapc_error(c, node, kpath, "unknown transform '%s'", name);
    return -1;
}

int sf_map_table_compile(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                         const char *name, struct sf_map_table *out)
{
    memset(out, 0, sizeof(*out));
    out->name = name;
    out->line = node->line;
    if (node->type != SF_NODE_MAP) {
        sf_mapc_error(c, node, kpath, "a table is a mapping of value: result, got %s",
                      sf_node_type_name(node));
        return -1;
    }
    struct sf_map_entry *e = sf_mapc_alloc(c, (node->n ? node->n : 1) * sizeof(*e));
    struct sf_map_entry *def = sf_mapc_alloc(c, sizeof(*def));
    if (!e || !def)
        return -1;
    int bad = 0;
    for (size_t i = 0; i < node->n; i++) {
        const struct sf_node *k = node->keys[i], *v = node->items[i];
        char ip[256];
        snprintf(ip, sizeof(ip), "%s.%s", kpath, k->str);
        const char *s = sf_node_is_null(v) ? "" : sf_mapc_scalar(c, v, ip);
        if (!s) {
            bad = 1;
            continue;
        }
        int is_def = strcmp(k->str, "_default") == 0;
        struct sf_map_entry *d = is_def ? def : &e[out->n++];
        d->k = sf_mapc_strndup(c, k->str, k->len);
        d->klen = k->len;
        if (!d->k)
            return -1;
        d->v = s;
        d->vlen = strlen(s);
        if (is_def)
            out->def = def;
    }
    qsort(e, out->n, sizeof(*e), sf_map_entry_cmp);
    out->e = e;
    return bad ? -1 : 0;
}

const struct sf_map_table *sf_mapc_table(struct sf_mapc *c, const struct sf_node *node,
                                         const char *kpath, const char *name)
{
    const struct sf_map *m = c->m;
    if (!name) {
        struct sf_map_table *t = sf_mapc_alloc(c, sizeof(*t));
        return t && !sf_map_table_compile(c, node, kpath, NULL, t) ? t : NULL;
    }
    for (size_t i = 0; i < m->ntables; i++)
        if (strcmp(m->tables[i].name, name) == 0)
            return &m->tables[i];
    const char **names = calloc(m->ntables + 1, sizeof(*names));
    for (size_t i = 0; names && i < m->ntables; i++)
        names[i] = m->tables[i].name;
    const char *hint = names ? sf_mapc_closest(name, (const char *const *)names,
                                               m->ntables) : NULL;
    if (hint)
        sf_mapc_error(c, node, kpath, "unknown lookup table '%s' (did you mean '%s'?)",
                      name, hint);
    else
        sf_mapc_error(c, node, kpath, "unknown lookup table '%s' (tables: are declared at "
                      "the top of the map)", name);
    free(names);
    return NULL;
}

static int compile_any(struct sf_mapc *c, const struct sf_node *arg, const char *kpath,
                       struct sf_map_xf *x)
{
    size_t n = arg->type == SF_NODE_SEQ ? arg->n : 1;
    struct sf_map_entry *set = sf_mapc_alloc(c, (n ? n : 1) * sizeof(*set));
    if (!set)
        return -1;
    if (arg->type == SF_NODE_MAP || n == 0) {
        sf_mapc_error(c, arg, kpath, "any: expected a list of values");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct sf_node *it = arg->type == SF_NODE_SEQ ? arg->items[i] : arg;
        char ip[256];
        snprintf(ip, sizeof(ip), "%.200s[%zu]", kpath, i);
        const char *s = sf_mapc_scalar(c, it, ip);
        if (!s)
            return -1;
        set[i].k = s;
        set[i].klen = it->len;
    }
    x->set = set;
    x->nset = n;
    return 0;
}

static int compile_truncate(struct sf_mapc *c, const struct sf_node *arg, const char *kpath,
                            struct sf_map_xf *x)
{
    const char *s = sf_mapc_scalar(c, arg, kpath);
    if (!s)
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < 1 || v > 1000000) {
        sf_mapc_error(c, arg, kpath, "truncate: '%s' is not a length in 1..1000000", s);
        return -1;
    }
    x->n = (size_t)v;
    return 0;
}

static int compile_special(struct sf_mapc *c, const struct sf_node *arg, const char *kpath,
                           struct sf_map_xf *x)
{
    switch (x->kind) {
    case XF_LOOKUP:
        if (arg->type == SF_NODE_MAP) {
            x->table = sf_mapc_table(c, arg, kpath, NULL);
        } else {
            const char *s = sf_mapc_scalar(c, arg, kpath);
            x->table = s ? sf_mapc_table(c, arg, kpath, s) : NULL;
        }
        return x->table ? 0 : -1;
    case XF_TRUNCATE:
        return compile_truncate(c, arg, kpath, x);
    case XF_ANY:
        return compile_any(c, arg, kpath, x);
    default: { /* XF_TEMPLATE */
        const char *s = sf_mapc_scalar(c, arg, kpath);
        return s ? sf_map_tmpl_parse(c, arg, kpath, s, arg->len, &x->tmpl) : -1;
    }
    }
}

static int check_time_format(struct sf_mapc *c, const struct sf_node *arg, const char *kpath,
                             const char *s)
{
    char out[256];
    struct tm tm;
    sf_time_gmtime_ms(0, &tm, NULL);
    /* The format is the map author's by design; it is checked here once. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = strlen(s) <= 128 ? strftime(out, sizeof(out), s, &tm) : 0;
#pragma GCC diagnostic pop
    if (!*s || n == 0) {
        sf_mapc_error(c, arg, kpath, "time_format: '%s' is empty or produces no text", s);
        return -1;
    }
    return 0;
}

int sf_map_xf_compile(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                      struct sf_map_xf *out)
{
    const struct sf_node *name = node, *arg = NULL;
    memset(out, 0, sizeof(*out));
    if (node->type == SF_NODE_MAP) {
        if (node->n != 1) {
            sf_mapc_error(c, node, kpath, "a transform is a name or a mapping with one key "
                          "(e.g. {lookup: severity}), got %zu keys", node->n);
            return -1;
        }
        name = node->keys[0];
        arg = node->items[0];
    } else if (node->type != SF_NODE_SCALAR) {
        sf_mapc_error(c, node, kpath, "a transform is a name or a one-key mapping, got %s",
                      sf_node_type_name(node));
        return -1;
    }
    size_t i = 0;
    while (i < NXF && strcmp(xf_names[i].name, name->str) != 0)
        i++;
    if (i == NXF)
        return unknown_name(c, name, kpath, name->str);
    out->kind = xf_names[i].kind;
    if (!arg && (xf_names[i].arg == ARG_STR || xf_names[i].arg == ARG_SPECIAL)) {
        sf_mapc_error(c, node, kpath, "transform '%s' needs an argument ({%s: ...})",
                      name->str, name->str);
        return -1;
    }
    if (arg && xf_names[i].arg == ARG_NONE) {
        sf_mapc_error(c, node, kpath, "transform '%s' takes no argument (write it as a "
                      "plain name)", name->str);
        return -1;
    }
    if (!arg) {
        out->s = ", "; /* bare `join` */
        out->len = 2;
        return 0;
    }
    if (xf_names[i].arg == ARG_SPECIAL)
        return compile_special(c, arg, kpath, out);
    if (out->kind == XF_DEFAULT && sf_node_is_null(arg)) {
        sf_mapc_error(c, arg, kpath, "default: needs a value");
        return -1;
    }
    out->s = sf_mapc_scalar(c, arg, kpath);
    out->len = arg->len;
    if (!out->s)
        return -1;
    return out->kind == XF_TIME_FORMAT ? check_time_format(c, arg, kpath, out->s) : 0;
}

/* ---- application ---- */

/* The new text at [start, b->len) replaces v; it is moved down onto v's old
 * scratch space when v had some, so a chain does not grow the buffer. */
static void settle(struct sf_map_ev *ev, struct sf_map_val *v, size_t start)
{
    struct sf_buf *b = ev->b;
    size_t n = b->len - start, dst = start;
    if (v->kind == V_TEXT && !v->p && v->off < start)
        dst = v->off;
    if (dst != start) {
        memmove(b->data + dst, b->data + start, n);
        sf_buf_truncate(b, dst + n);
    }
    v->kind = n ? V_TEXT : V_MISSING;
    v->j = NULL;
    v->p = NULL;
    v->off = dst;
    v->len = n;
}

static void set_ext(struct sf_map_val *v, const char *p, size_t len)
{
    v->kind = len ? V_TEXT : V_MISSING;
    v->j = NULL;
    v->p = p;
    v->len = len;
}

/* Append v's text to the buffer (safe when v itself is in the buffer). */
static sf_err add_val(struct sf_map_ev *ev, const struct sf_map_val *v)
{
    sf_err err = sf_buf_reserve(ev->b, v->len);
    return err ? err : sf_buf_add(ev->b, sf_map_val_ptr(ev, v), v->len);
}

static sf_err add_num(struct sf_map_ev *ev, struct sf_map_val *v, long long x)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", x);
    size_t start = ev->b->len;
    sf_err err = sf_buf_add(ev->b, num, (size_t)n);
    if (!err)
        settle(ev, v, start);
    return err;
}

static int is_int_text(const char *s, size_t n)
{
    size_t i = n && s[0] == '-';
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Text (epoch ms digits or ISO-8601) -> epoch ms. */
static int to_ms(const char *s, size_t n, int64_t *ms)
{
    if (is_int_text(s, n) && n < 19) {
        *ms = strtoll(s, NULL, 10);
        return 0;
    }
    return sf_time_parse_iso8601(s, n, ms);
}

static sf_err time_format(struct sf_map_ev *ev, const struct sf_map_xf *x,
                          struct sf_map_val *v, int64_t ms)
{
    char fmt[300], out[256];
    struct tm tm;
    int msec;
    size_t k = 0;
    if (sf_time_gmtime_ms(ms, &tm, &msec)) {
        v->kind = V_MISSING;
        return SF_OK;
    }
    /* %L is ours: milliseconds, 3 digits. %% pairs are copied untouched. */
    for (size_t i = 0; i < x->len && k + 4 < sizeof(fmt); i++) {
        if (x->s[i] == '%' && i + 1 < x->len && x->s[i + 1] == 'L') {
            k += (size_t)snprintf(fmt + k, sizeof(fmt) - k, "%03d", msec);
            i++;
        } else if (x->s[i] == '%' && i + 1 < x->len) {
            fmt[k++] = x->s[i++];
            fmt[k++] = x->s[i];
        } else {
            fmt[k++] = x->s[i];
        }
    }
    fmt[k] = '\0';
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = strftime(out, sizeof(out), fmt, &tm);
#pragma GCC diagnostic pop
    if (n == 0) {
        v->kind = V_MISSING;
        return SF_OK;
    }
    size_t start = ev->b->len;
    sf_err err = sf_buf_add(ev->b, out, n);
    if (!err)
        settle(ev, v, start);
    return err;
}

static sf_err xf_time(struct sf_map_ev *ev, const struct sf_map_xf *x, struct sf_map_val *v)
{
    int64_t ms;
    if (to_ms(sf_map_val_ptr(ev, v), v->len, &ms)) {
        v->kind = V_MISSING;  /* unparseable: omit rather than send garbage */
        return SF_OK;
    }
    if (x->kind == XF_EPOCH_MS)
        return add_num(ev, v, (long long)ms);
    return time_format(ev, x, v, ms);
}

static sf_err xf_case(struct sf_map_ev *ev, const struct sf_map_xf *x, struct sf_map_val *v)
{
    if (v->p) {  /* external: copy into scratch first */
        size_t start = ev->b->len;
        sf_err err = add_val(ev, v);
        if (err)
            return err;
        settle(ev, v, start);
    }
    char *s = ev->b->data + v->off;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char ch = (unsigned char)s[i];
        s[i] = (char)(x->kind == XF_LOWER ? tolower(ch) : toupper(ch));
    }
    return SF_OK;
}

int sf_map_entry_cmp(const void *a, const void *b)
{
    const struct sf_map_entry *x = a, *y = b;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return memcmp(x->k, y->k, x->klen);
}

static void xf_lookup(struct sf_map_ev *ev, const struct sf_map_xf *x, struct sf_map_val *v)
{
    const struct sf_map_table *t = x->table;
    struct sf_map_entry key = { .k = sf_map_val_ptr(ev, v), .klen = v->len };
    const struct sf_map_entry *e = bsearch(&key, t->e, t->n, sizeof(*t->e), sf_map_entry_cmp);
    if (!e)
        e = t->def;
    if (e)
        set_ext(v, e->v, e->vlen);
}

/* An IP address has no host/domain split. */
static int looks_like_ip(const char *s, size_t n)
{
    if (memchr(s, ':', n))
        return 1;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

static void xf_split(struct sf_map_ev *ev, const struct sf_map_xf *x, struct sf_map_val *v)
{
    const char *s = sf_map_val_ptr(ev, v);
    const char *dot = looks_like_ip(s, v->len) ? NULL : memchr(s, '.', v->len);
    size_t cut = dot ? (size_t)(dot - s) : v->len;
    if (x->kind == XF_HOST) {
        v->len = cut;
    } else {
        size_t skip = dot ? cut + 1 : v->len;
        if (v->p)
            v->p += skip;
        else
            v->off += skip;
        v->len -= skip;
    }
    if (v->len == 0)
        v->kind = V_MISSING;
}

static void xf_bool01(struct sf_map_ev *ev, struct sf_map_val *v)
{
    const char *s = sf_map_val_ptr(ev, v);
    if ((v->len == 4 && !strncasecmp(s, "true", 4)) || (v->len == 1 && s[0] == '1'))
        set_ext(v, "1", 1);
    else if ((v->len == 5 && !strncasecmp(s, "false", 5)) || (v->len == 1 && s[0] == '0'))
        set_ext(v, "0", 1);
    else
        v->kind = V_MISSING;
}

static void xf_truncate(struct sf_map_ev *ev, const struct sf_map_xf *x, struct sf_map_val *v)
{
    const unsigned char *s = (const unsigned char *)sf_map_val_ptr(ev, v);
    size_t chars = 0, i = 0;
    for (; i < v->len; i++) {
        if ((s[i] & 0xC0) != 0x80 && chars++ == x->n)
            break;
    }
    v->len = i;
}

static sf_err xf_affix(struct sf_map_ev *ev, const struct sf_map_xf *x, struct sf_map_val *v)
{
    size_t start = ev->b->len;
    sf_err err = sf_buf_reserve(ev->b, x->len + v->len);
    if (!err && x->kind == XF_PREFIX)
        err = sf_buf_add(ev->b, x->s, x->len);
    if (!err)
        err = add_val(ev, v);
    if (!err && x->kind == XF_SUFFIX)
        err = sf_buf_add(ev->b, x->s, x->len);
    if (!err)
        settle(ev, v, start);
    return err;
}

sf_err sf_map_xf_apply(struct sf_map_ev *ev, const struct sf_map_xf *x, struct sf_map_val *v)
{
    if (v->kind == V_MISSING) {
        if (x->kind == XF_DEFAULT)
            set_ext(v, x->s, x->len);
        return SF_OK;
    }
    if (x->kind == XF_TEMPLATE)
        return sf_map_tmpl_eval(ev, &x->tmpl, v->kind == V_JSON ? v->j : NULL, v);
    if (x->kind == XF_BOOL01 && v->kind == V_JSON &&
        json_object_is_type(v->j, json_type_boolean)) {
        set_ext(v, json_object_get_boolean(v->j) ? "1" : "0", 1);
        return SF_OK;
    }
    sf_err err = sf_map_val_text(ev, v);
    if (err || v->kind == V_MISSING)
        return err;
    switch (x->kind) {
    case XF_EPOCH_MS:
    case XF_TIME_FORMAT:
        return xf_time(ev, x, v);
    case XF_LOWER:
    case XF_UPPER:
        return xf_case(ev, x, v);
    case XF_LOOKUP:
        xf_lookup(ev, x, v);
        break;
    case XF_HOST:
    case XF_DOMAIN:
        xf_split(ev, x, v);
        break;
    case XF_BOOL01:
        xf_bool01(ev, v);
        break;
    case XF_TRUNCATE:
        xf_truncate(ev, x, v);
        break;
    case XF_PREFIX:
    case XF_SUFFIX:
        return xf_affix(ev, x, v);
    default: /* XF_DEFAULT on a present value; reducers are not applied here */
        break;
    }
    return SF_OK;
}

