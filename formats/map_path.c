/* map_path.c - field-map paths ("evidence[@odata.type=#x.fileEvidence].fileDetails.sha1")
 * and "${...}" templates: parsed once at compile time into segment arrays,
 * then walked per alert with borrowed json-c references (no allocation).
 * Parsed strings live in the map's arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "map_internal.h"

struct pp {                   /* path parser state */
    struct sf_mapc *c;
    const struct sf_node *node;
    const char *kpath;
    const char *s;
    size_t len, i;
    const char *why;          /* set on the first error */
    size_t at;
};

static int pp_fail(struct pp *p, const char *why, size_t at)
{
    if (!p->why) {
        p->why = why;
        p->at = at;
    }
    return -1;
}

/* Quoted string at s[i] ('...' or "..."; backslash escapes the next byte)
 * -> arena copy. */
static int pp_quoted(struct pp *p, const char **out, size_t *outlen)
{
    char q = p->s[p->i];
    size_t start = ++p->i, n = 0;
    char *tmp = malloc(p->len + 1);
    if (!tmp) {
        p->c->oom = 1;
        return pp_fail(p, "out of memory", start);
    }
    while (p->i < p->len && p->s[p->i] != q) {
        if (p->s[p->i] == '\\' && p->i + 1 < p->len)
            p->i++;
        tmp[n++] = p->s[p->i++];
    }
    int rc = 0;
    if (p->i >= p->len)
        rc = pp_fail(p, "unterminated quote", start - 1);
    else
        p->i++;
    if (!rc) {
        *out = sf_mapc_strndup(p->c, tmp, n);
        *outlen = n;
        rc = *out ? 0 : pp_fail(p, "out of memory", start);
    }
    free(tmp);
    return rc;
}

static int pp_name(struct pp *p, struct sf_map_seg *seg)
{
    size_t start = p->i;
    while (p->i < p->len && p->s[p->i] != '.' && p->s[p->i] != '[' && p->s[p->i] != ']')
        p->i++;
    if (p->i == start)
        return pp_fail(p, "expected a member name", start);
    seg->kind = SEG_KEY;
    seg->key = sf_mapc_strndup(p->c, p->s + start, p->i - start);
    return seg->key ? 0 : pp_fail(p, "out of memory", start);
}

static int pp_index(struct pp *p, struct sf_map_seg *seg)
{
    size_t start = p->i, k = p->i;
    long v = 0;
    int neg = p->s[k] == '-';
    if (neg)
        k++;
    if (k >= p->len || p->s[k] < '0' || p->s[k] > '9')
        return pp_fail(p, "expected an index", start);
    for (; k < p->len && p->s[k] >= '0' && p->s[k] <= '9'; k++) {
        v = v * 10 + (p->s[k] - '0');
        if (v > 1000000)
            return pp_fail(p, "index out of range", start);
    }
    p->i = k;
    seg->kind = SEG_INDEX;
    seg->idx = neg ? -v : v;
    if (neg && v == 0)
        return pp_fail(p, "index -0 is not allowed (use 0 or -1)", start);
    return 0;
}

/* member=value (member/value plain up to '='/']', or quoted). */
static int pp_match(struct pp *p, struct sf_map_seg *seg, const char *qkey)
{
    size_t start = p->i, klen;
    seg->kind = SEG_MATCH;
    seg->key = qkey;
    if (!qkey) {
        while (p->i < p->len && p->s[p->i] != '=' && p->s[p->i] != ']')
            p->i++;
        if (p->i >= p->len || p->s[p->i] != '=')
            return pp_fail(p, "expected a number, '*', a quoted key or member=value", start);
        if (p->i == start)
            return pp_fail(p, "empty member name before '='", start);
        seg->key = sf_mapc_strndup(p->c, p->s + start, p->i - start);
        if (!seg->key)
            return pp_fail(p, "out of memory", start);
    }
    p->i++; /* '=' */
    size_t vstart = p->i;
    if (p->i < p->len && (p->s[p->i] == '\'' || p->s[p->i] == '"'))
        return pp_quoted(p, &seg->val, &seg->vlen);
    while (p->i < p->len && p->s[p->i] != ']')
        p->i++;
    if (p->i == vstart)
        return pp_fail(p, "empty match value after '='", vstart);
    klen = p->i - vstart;
    seg->val = sf_mapc_strndup(p->c, p->s + vstart, klen);
    seg->vlen = klen;
    return seg->val ? 0 : pp_fail(p, "out of memory", vstart);
}

static int pp_bracket(struct pp *p, struct sf_map_seg *seg)
{
    size_t open = p->i++;
    int rc;
    if (p->i >= p->len)
        return pp_fail(p, "expected a number, '*', a quoted key or member=value", p->i);
    char ch = p->s[p->i];
    if (ch == '*') {
        p->i++;
        seg->kind = SEG_ALL;
        rc = 0;
    } else if (ch == '\'' || ch == '"') {
        const char *q = NULL;
        size_t qlen;
        rc = pp_quoted(p, &q, &qlen);
        if (!rc && p->i < p->len && p->s[p->i] == '=')
            rc = pp_match(p, seg, q);
        else if (!rc) {
            seg->kind = SEG_KEY;
            seg->key = q;
        }
    } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
        rc = pp_index(p, seg);
    } else {
        rc = pp_match(p, seg, NULL);
    }
    if (rc)
        return rc;
    if (p->i >= p->len || p->s[p->i] != ']')
        return pp_fail(p, p->i >= p->len ? "missing ']'" : "expected ']'",
                       p->i >= p->len ? open : p->i);
    p->i++;
    return 0;
}

static int pp_run(struct pp *p, struct sf_map_seg *segs, size_t *n)
{
    *n = 0;
    if (p->len == 0)
        return pp_fail(p, "empty path", 0);
    while (p->i < p->len) {
        if (*n == SF_MAP_MAX_SEGS)
            return pp_fail(p, "too many segments", p->i);
        char ch = p->s[p->i];
        int rc;
        if (ch == '[') {
            rc = pp_bracket(p, &segs[*n]);
        } else if (*n > 0 && ch == '.') {
            p->i++;
            if (p->i < p->len && p->s[p->i] == '[')
                return pp_fail(p, "expected a member name", p->i);
            rc = pp_name(p, &segs[*n]);
        } else if (*n == 0 && ch != ']') {
            rc = pp_name(p, &segs[*n]);
        } else {
            return pp_fail(p, ch == ']' ? "unexpected ']'" : "expected '.' or '['", p->i);
        }
        if (rc)
            return rc;
        (*n)++;
    }
    return 0;
}

int sf_map_path_parse(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                      const char *text, size_t len, struct sf_map_path *out)
{
    struct sf_map_seg segs[SF_MAP_MAX_SEGS];
    struct pp p = { .c = c, .node = node, .kpath = kpath, .s = text, .len = len };
    size_t n = 0;
    memset(segs, 0, sizeof(segs));
    memset(out, 0, sizeof(*out));
    if (memchr(text, '\0', len))
        pp_fail(&p, "NUL byte in path", (size_t)((const char *)memchr(text, '\0', len) - text));
    else
        pp_run(&p, segs, &n);
    if (p.why) {
        if (!c->oom)
            sf_mapc_error(c, node, kpath, "bad path '%.*s': %s at column %zu",
                          (int)len, text, p.why, p.at + 1);
        return -1;
    }
    struct sf_map_seg *copy = sf_mapc_alloc(c, n * sizeof(*copy));
    out->text = sf_mapc_strndup(c, text, len);
    if (!copy || !out->text)
        return -1;
    memcpy(copy, segs, n * sizeof(*copy));
    for (size_t k = 0; k < n; k++)
        out->list |= copy[k].kind == SEG_ALL;
    out->segs = copy;
    out->n = n;
    return 0;
}

/* ---- templates ---- */

static int tmpl_ref(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                    const char *ref, size_t len, struct sf_map_tpart *part)
{
    static const char *const tvars[] = { "tenant.name", "tenant.id" };
    if (len == 11 && !memcmp(ref, "tenant.name", 11)) {
        part->kind = TP_TENANT_NAME;
        return 0;
    }
    if (len == 9 && !memcmp(ref, "tenant.id", 9)) {
        part->kind = TP_TENANT_ID;
        return 0;
    }
    if (len > 7 && !memcmp(ref, "tenant.", 7)) {
        char word[64];
        snprintf(word, sizeof(word), "%.*s", (int)len, ref);
        const char *hint = sf_mapc_closest(word, tvars, 2);
        sf_mapc_error(c, node, kpath, "unknown variable '${%.*s}' (%s%s%s)", (int)len, ref,
                      hint ? "did you mean '${" : "tenant variables are ${tenant.name} and ${tenant.id}",
                      hint ? hint : "", hint ? "}'?" : "");
        return -1;
    }
    part->kind = TP_PATH;
    if (sf_map_path_parse(c, node, kpath, ref, len, &part->path))
        return -1;
    if (part->path.list) {
        sf_mapc_error(c, node, kpath, "'${%.*s}': a list path ([*]) cannot be used in a "
                      "template", (int)len, ref);
        return -1;
    }
    return 0;
}

static int tmpl_lit(struct sf_mapc *c, struct sf_map_tpart *part, const char *s, size_t n)
{
    part->kind = TP_LIT;
    part->s = sf_mapc_strndup(c, s, n);
    part->len = n;
    return part->s ? 0 : -1;
}

/* Template parsing state: literal text is collected in buf (with the
 * $-escapes undone) and flushed as one TP_LIT before each other part. */
struct tparse {
    struct sf_mapc *c;
    const struct sf_node *node;
    const char *kpath;
    struct sf_map_tpart *parts;
    size_t n;
    char *buf;
    size_t lit, litn;
    size_t group;       /* column of the open "$[" (1-based), 0 outside */
    size_t grefs;       /* references inside the open group */
};

static int flush_lit(struct tparse *tp)
{
    if (tp->litn > tp->lit &&
        tmpl_lit(tp->c, &tp->parts[tp->n++], tp->buf + tp->lit, tp->litn - tp->lit))
        return -1;
    tp->lit = tp->litn;
    return 0;
}

/* "$[" at column col opens a group, "]" closes it. */
static int group_mark(struct tparse *tp, int open, size_t col)
{
    if (open && tp->group) {
        sf_mapc_error(tp->c, tp->node, tp->kpath, "'$[' at column %zu: optional groups do "
                      "not nest (the group opened at column %zu is still open)", col,
                      tp->group);
        return -1;
    }
    if (!open && tp->grefs == 0) {
        sf_mapc_error(tp->c, tp->node, tp->kpath, "the optional group '$[' at column %zu "
                      "holds no ${...}, so it would always be written", tp->group);
        return -1;
    }
    if (flush_lit(tp))
        return -1;
    tp->parts[tp->n++].kind = open ? TP_OPT_BEGIN : TP_OPT_END;
    tp->group = open ? col : 0;
    tp->grefs = 0;
    return 0;
}

/* One "${ref}" starting at text[i]; returns the index after '}' or 0. */
static size_t tmpl_ref_at(struct tparse *tp, const char *text, size_t len, size_t i)
{
    const char *end = memchr(text + i + 2, '}', len - i - 2);
    if (!end) {
        sf_mapc_error(tp->c, tp->node, tp->kpath, "unclosed '${' at column %zu", i + 1);
        return 0;
    }
    size_t rlen = (size_t)(end - (text + i + 2));
    if (rlen == 0) {
        sf_mapc_error(tp->c, tp->node, tp->kpath, "empty '${}' at column %zu", i + 1);
        return 0;
    }
    if (flush_lit(tp) ||
        tmpl_ref(tp->c, tp->node, tp->kpath, text + i + 2, rlen, &tp->parts[tp->n++]))
        return 0;
    tp->grefs++;
    return (size_t)(end - text) + 1;
}

int sf_map_tmpl_parse(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                      const char *text, size_t len, struct sf_map_tmpl *out)
{
    struct tparse tp = { .c = c, .node = node, .kpath = kpath };
    size_t cap = 1, i = 0;
    for (size_t k = 0; k < len; k++)
        cap += text[k] == '$' || text[k] == ']' ? 2 : 0;
    tp.parts = sf_mapc_alloc(c, cap * sizeof(*tp.parts));
    tp.buf = sf_mapc_alloc(c, len + 1);  /* literal text with the escapes undone */
    if (!tp.parts || !tp.buf)
        return -1;
    while (i < len) {
        char d = i + 1 < len ? text[i + 1] : '\0';
        char e = i + 2 < len ? text[i + 2] : '\0';
        if (text[i] == '$' && d == '$' && (e == '{' || e == '[')) {
            tp.buf[tp.litn++] = '$';
            tp.buf[tp.litn++] = e;
            i += 3;
        } else if (text[i] == '$' && d == ']' && tp.group) {
            tp.buf[tp.litn++] = ']';
            i += 2;
        } else if (text[i] == '$' && d == '{') {
            if ((i = tmpl_ref_at(&tp, text, len, i)) == 0)
                return -1;
        } else if ((text[i] == '$' && d == '[') || (text[i] == ']' && tp.group)) {
            if (group_mark(&tp, text[i] == '$', i + 1))
                return -1;
            i += text[i] == '$' ? 2 : 1;
        } else {
            tp.buf[tp.litn++] = text[i++];
        }
    }
    if (tp.group) {
        sf_mapc_error(c, node, kpath, "unclosed '$[' at column %zu (end the optional group "
                      "with ']', write $] for a literal ']' inside it)", tp.group);
        return -1;
    }
    if (flush_lit(&tp))
        return -1;
    out->parts = tp.parts;
    out->n = tp.n;
    return 0;
}

/* ---- walking ---- */

static int member_matches(json_object *m, const char *val, size_t vlen)
{
    char num[32];
    const char *s;
    size_t n;
    switch (json_object_get_type(m)) {
    case json_type_string:
        s = json_object_get_string(m);
        n = (size_t)json_object_get_string_len(m);
        break;
    case json_type_int:
        n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(m));
        s = num;
        break;
    case json_type_boolean:
        s = json_object_get_boolean(m) ? "true" : "false";
        n = strlen(s);
        break;
    default:
        return 0;
    }
    return n == vlen && strncasecmp(s, val, n) == 0;
}

/* One segment from j. An object where an array is expected counts as an
 * array of that one object ({} as an empty one): APIs and converters
 * (PowerShell's ConvertTo-Json among them) write a one-element list as its
 * element. */
static json_object *step(const struct sf_map_seg *seg, json_object *j)
{
    json_object *out = NULL;
    if (seg->kind == SEG_KEY) {
        if (json_object_is_type(j, json_type_object))
            json_object_object_get_ex(j, seg->key, &out);
        return out;
    }
    int lone = json_object_is_type(j, json_type_object);
    if (!lone && !json_object_is_type(j, json_type_array))
        return NULL;
    size_t n = !lone ? json_object_array_length(j) : json_object_object_length(j) ? 1 : 0;
    if (seg->kind == SEG_INDEX) {
        long idx = seg->idx < 0 ? (long)n + seg->idx : seg->idx;
        if (idx < 0 || (size_t)idx >= n)
            return NULL;
        return lone ? j : json_object_array_get_idx(j, (size_t)idx);
    }
    for (size_t k = 0; k < n; k++) {  /* SEG_MATCH */
        json_object *el = lone ? j : json_object_array_get_idx(j, k), *m;
        if (json_object_is_type(el, json_type_object) &&
            json_object_object_get_ex(el, seg->key, &m) && m &&
            member_matches(m, seg->val, seg->vlen))
            return el;
    }
    return NULL;
}

json_object *sf_map_path_get(const struct sf_map_path *p, size_t from, json_object *j)
{
    for (size_t k = from; k < p->n && j; k++)
        j = step(&p->segs[k], j);
    return j;
}

struct each {
    const struct sf_map_path *p;
    sf_map_each_fn fn;
    void *ctx;
    size_t count;
    int stop;
};

static void each_from(struct each *e, size_t k, json_object *j)
{
    for (; k < e->p->n && j; k++) {
        if (e->p->segs[k].kind != SEG_ALL) {
            j = step(&e->p->segs[k], j);
            continue;
        }
        if (json_object_is_type(j, json_type_object)) {
            if (json_object_object_length(j))
                each_from(e, k + 1, j);   /* a lone object: a list of one */
            return;
        }
        if (!json_object_is_type(j, json_type_array))
            return;
        size_t n = json_object_array_length(j);
        for (size_t i = 0; i < n && !e->stop; i++)
            each_from(e, k + 1, json_object_array_get_idx(j, i));
        return;
    }
    if (!j || e->stop)
        return;
    e->count++;
    e->stop = e->fn(j, e->ctx) != 0;
}

size_t sf_map_path_each(const struct sf_map_path *p, json_object *j,
                        sf_map_each_fn fn, void *ctx)
{
    struct each e = { .p = p, .fn = fn, .ctx = ctx };
    each_from(&e, 0, j);
    return e.count;
}
