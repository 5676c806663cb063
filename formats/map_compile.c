/* map_compile.c - YAML field map -> compiled sf_map (map_internal.h), with
 * every problem reported as "FILE:LINE: key.path: message". Does not
 * evaluate (map_eval.c). The map owns an arena holding every string and
 * array it needs; the YAML document can be freed right after compiling.
 *
 * Map format (formats/maps/README.md has the long version):
 *
 *   format: cef | leef            required; must be what the caller renders
 *   leef_version: 1 | 2           leef only, default 2
 *   delimiter: "^" | xHH | 0xHH   leef 2 only, default TAB
 *   description: free text        ignored
 *   tables:                       named lookup tables: value -> result,
 *     sev: {high: 8, _default: 0} "_default" for unmatched values
 *   header:                       cef: vendor product version event_id name
 *     vendor: Microsoft             severity (all required); leef: vendor
 *     event_id: {path: detectorId}  product version event_id (required)
 *   fields:                       ordered; written in this order
 *     - {key: cs1, label: ThreatName, path: threatDisplayName}
 *
 * A value (header entry or field) is a constant scalar, or a mapping with
 *   value: "text ${tenant.name} ${tenant.id} ${alert.path}"   ($${ = "${")
 *   path: a.b[0].c | [path, fallback path, ...]   first that yields wins
 *   transform: [name, {name: argument}, ...]       applied in order
 *   default: text                                  when still missing
 * Paths: a.b.c, a[0], a[-1], a[*] (a list: needs join/any/count/first),
 * a[member=value] (first element whose member equals value, ASCII case-
 * insensitive; member may hold '@' and '.'), ['odd.key'].
 * Transforms: epoch_ms, {time_format: strftime (+%L = ms)}, lower, upper,
 * {lookup: table | {inline}}, host, domain, bool01, {default: x},
 * {truncate: N}, {prefix: s}, {suffix: s}, {template: "${rel.path}"};
 * reducers {join: sep}, {any: [v...]}, count, first.
 * JSON null and "" are missing; a missing value omits the field; `label: X`
 * adds <key>Label=X right after a field that has a value. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_internal.h"
#include "sf_conf.h"
#include "sf_render.h"

struct sf_map_blk {
    struct sf_map_blk *next;
    max_align_t data[];
};

void *sf_mapc_alloc(struct sf_mapc *c, size_t n)
{
    struct sf_map_blk *blk = calloc(1, sizeof(*blk) + n);
    if (!blk) {
        c->oom = 1;
        return NULL;
    }
    blk->next = c->m->arena;
    c->m->arena = blk;
    return blk->data;
}

char *sf_mapc_strndup(struct sf_mapc *c, const char *s, size_t n)
{
    char *p = sf_mapc_alloc(c, n + 1);
    if (p && n)
        memcpy(p, s, n);
    return p;
}

void sf_mapc_error(struct sf_mapc *c, const struct sf_node *node, const char *path,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (++c->nerr > SF_MAP_MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->nerr == SF_MAP_MAX_ERRORS)
        snprintf(msg, sizeof(msg), "too many errors, stopping here");
    sf_conf_error(&c->errs, node, path, "%s", msg);
}

const char *sf_mapc_closest(const char *word, const char *const *cands, size_t n)
{
    return sf_closest(word, cands, n);
}

const char *sf_mapc_scalar(struct sf_mapc *c, const struct sf_node *node, const char *path)
{
    if (node->type != SF_NODE_SCALAR) {
        sf_mapc_error(c, node, path, "expected a string, got %s", sf_node_type_name(node));
        return NULL;
    }
    return sf_mapc_strndup(c, node->str, node->len);
}

/* Report every key of map not in allowed[] (with the closest one). */
static int check_keys(struct sf_mapc *c, const struct sf_node *map, const char *kpath,
                      const char *const *allowed, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->str;
        size_t j = 0;
        while (j < n && strcmp(allowed[j], k) != 0)
            j++;
        if (j < n)
            continue;
        char p[256];
        const char *hint = sf_closest(k, allowed, n);
        snprintf(p, sizeof(p), "%s%s%s", kpath, *kpath ? "." : "", k);
        if (hint)
            sf_mapc_error(c, map->keys[i], p, "unknown key (did you mean '%s'?)", hint);
        else
            sf_mapc_error(c, map->keys[i], p, "unknown key");
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* ---- value specs ---- */

static int compile_paths(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                         struct sf_map_value *v)
{
    size_t n = node->type == SF_NODE_SEQ ? node->n : 1;
    struct sf_map_path *paths = sf_mapc_alloc(c, (n ? n : 1) * sizeof(*paths));
    int bad = 0;
    if (!paths)
        return -1;
    if (node->type == SF_NODE_MAP || n == 0) {
        sf_mapc_error(c, node, kpath, "expected a path or a list of paths");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const struct sf_node *it = node->type == SF_NODE_SEQ ? node->items[i] : node;
        char p[256];
        if (node->type == SF_NODE_SEQ)
            snprintf(p, sizeof(p), "%.200s[%zu]", kpath, i);
        else
            snprintf(p, sizeof(p), "%s", kpath);
        if (it->type != SF_NODE_SCALAR) {
            sf_mapc_error(c, it, p, "expected a path, got %s", sf_node_type_name(it));
            bad = 1;
        } else if (sf_map_path_parse(c, it, p, it->str, it->len, &paths[i])) {
            bad = 1;
        } else {
            v->list |= paths[i].list;
        }
    }
    v->paths = paths;
    v->npaths = n;
    return bad ? -1 : 0;
}

static int compile_xfs(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                       struct sf_map_value *v)
{
    size_t n = node->type == SF_NODE_SEQ ? node->n : 1;
    struct sf_map_xf *xf = sf_mapc_alloc(c, (n ? n : 1) * sizeof(*xf));
    int bad = 0;
    if (!xf)
        return -1;
    v->reduce = n;
    for (size_t i = 0; i < n; i++) {
        const struct sf_node *it = node->type == SF_NODE_SEQ ? node->items[i] : node;
        char p[256];
        snprintf(p, sizeof(p), "%.200s[%zu]", kpath, i);
        if (sf_map_xf_compile(c, it, p, &xf[i]))
            bad = 1;
        else if (XF_IS_REDUCER(xf[i].kind) && v->reduce == n)
            v->reduce = i;
    }
    v->xf = xf;
    v->nxf = n;
    return bad ? -1 : 0;
}

static int compile_text(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                        struct sf_map_value *v)
{
    if (node->type != SF_NODE_SCALAR || sf_node_is_null(node)) {
        sf_mapc_error(c, node, kpath, "expected a text value, got %s",
                      node->type == SF_NODE_SCALAR ? "null" : sf_node_type_name(node));
        return -1;
    }
    if (strstr(node->str, "${")) {
        v->kind = VS_TEMPLATE;
        return sf_map_tmpl_parse(c, node, kpath, node->str, node->len, &v->tmpl);
    }
    v->kind = VS_CONST;
    v->s = sf_mapc_strndup(c, node->str, node->len);
    v->len = node->len;
    return v->s ? 0 : -1;
}

static const char *const value_keys[] = { "path", "value", "transform", "default",
                                          "key", "label" };

/* A header entry or a field. nkeys limits value_keys[] (4: no key/label). */
static int compile_value(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                         size_t nkeys, struct sf_map_value *v)
{
    char p[256];
    int bad = 0;
    memset(v, 0, sizeof(*v));
    if (node->type != SF_NODE_MAP)
        return compile_text(c, node, kpath, v);
    bad |= check_keys(c, node, kpath, value_keys, nkeys);
    const struct sf_node *path = sf_node_get(node, "path"), *value = sf_node_get(node, "value");
    const struct sf_node *xf = sf_node_get(node, "transform"), *def = sf_node_get(node, "default");
    if (!path == !value) {
        sf_mapc_error(c, node, kpath, path ? "give either path: or value:, not both"
                                           : "needs path: or value:");
        return -1;
    }
    snprintf(p, sizeof(p), "%s.%s", kpath, path ? "path" : "value");
    if (path) {
        v->kind = VS_PATH;
        bad |= compile_paths(c, path, p, v);
    } else {
        bad |= compile_text(c, value, p, v);
    }
    snprintf(p, sizeof(p), "%s.transform", kpath);
    if (xf)
        bad |= compile_xfs(c, xf, p, v);
    if (v->list && v->reduce == v->nxf && !bad) {
        sf_mapc_error(c, path, kpath, "path yields a list ([*]): add a join, any, count or "
                      "first transform");
        bad = 1;
    }
    if (def) {
        snprintf(p, sizeof(p), "%s.default", kpath);
        if (sf_node_is_null(def)) {
            sf_mapc_error(c, def, p, "default: needs a value");
            return -1;
        }
        v->def = sf_mapc_scalar(c, def, p);
        v->deflen = def->len;
        bad |= !v->def;
    }
    return bad ? -1 : 0;
}

/* ---- header ---- */

static const char *const hdr_names[SF_HDR_COUNT] = { "vendor", "product", "version",
                                                     "event_id", "name", "severity" };

static void compile_header(struct sf_mapc *c, const struct sf_node *hdr, const struct sf_node *root)
{
    size_t nallowed = c->m->kind == SF_MAP_CEF ? SF_HDR_COUNT : SF_HDR_NAME;
    if (!hdr) {
        sf_mapc_error(c, root, "header", "missing (the %s header needs %s)",
                      c->m->kind == SF_MAP_CEF ? "CEF" : "LEEF",
                      c->m->kind == SF_MAP_CEF ? "vendor, product, version, event_id, name, "
                      "severity" : "vendor, product, version, event_id");
        return;
    }
    if (hdr->type != SF_NODE_MAP) {
        sf_mapc_error(c, hdr, "header", "expected a mapping, got %s", sf_node_type_name(hdr));
        return;
    }
    for (size_t i = 0; i < hdr->n; i++) {
        const char *k = hdr->keys[i]->str;
        if (c->m->kind == SF_MAP_LEEF && (!strcmp(k, "name") || !strcmp(k, "severity"))) {
            char p[64];
            snprintf(p, sizeof(p), "header.%s", k);
            sf_mapc_error(c, hdr->keys[i], p, "LEEF has no %s header field (use a field: "
                          "%s)", k, !strcmp(k, "name") ? "e.g. title" : "sev, 1-10");
        }
    }
    check_keys(c, hdr, "header", hdr_names, SF_HDR_COUNT);
    for (size_t h = 0; h < nallowed; h++) {
        const struct sf_node *n = sf_node_get(hdr, hdr_names[h]);
        char p[64];
        snprintf(p, sizeof(p), "header.%s", hdr_names[h]);
        if (!n)
            sf_mapc_error(c, hdr, "header", "missing '%s'", hdr_names[h]);
        else
            compile_value(c, n, p, 4, &c->m->hdr[h]);
    }
}

/* ---- fields ---- */

struct used {               /* keys written so far, for duplicate checks */
    const char *key;
    int line;
};

static int key_ok(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                  const char *key, struct used *used, size_t *nused)
{
    char why[512];
    int rc = c->m->kind == SF_MAP_CEF ? sf_cef_key_check(key, why, sizeof(why))
                                      : sf_leef_key_check(key, why, sizeof(why));
    if (rc) {
        sf_mapc_error(c, node, kpath, "%s", why);
        return -1;
    }
    for (size_t i = 0; i < *nused; i++) {
        if (strcmp(used[i].key, key) == 0) {
            sf_mapc_error(c, node, kpath, "duplicate key '%s' (already written by line %d)",
                          key, used[i].line);
            return -1;
        }
    }
    used[*nused].key = key;
    used[(*nused)++].line = node->line;
    return 0;
}

static int compile_field(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                         struct sf_map_field *f, struct used *used, size_t *nused)
{
    char p[256];
    if (node->type != SF_NODE_MAP) {
        sf_mapc_error(c, node, kpath, "a field is a mapping with key: and path: or value:, "
                      "got %s", sf_node_type_name(node));
        return -1;
    }
    const struct sf_node *key = sf_node_get(node, "key"), *label = sf_node_get(node, "label");
    int bad = compile_value(c, node, kpath, 6, &f->v);
    snprintf(p, sizeof(p), "%s.key", kpath);
    if (!key) {
        sf_mapc_error(c, node, kpath, "missing key:");
        return -1;
    }
    f->key = sf_mapc_scalar(c, key, p);
    if (!f->key || key_ok(c, key, p, f->key, used, nused))
        return -1;
    if (!label)
        return bad;
    snprintf(p, sizeof(p), "%s.label", kpath);
    f->label = sf_node_is_null(label) ? NULL : sf_mapc_scalar(c, label, p);
    if (!f->label || !*f->label) {
        if (f->label)
            sf_mapc_error(c, label, p, "empty label");
        else if (label->type == SF_NODE_SCALAR)
            sf_mapc_error(c, label, p, "expected a label text, got null");
        return -1;
    }
    f->label_len = label->len;
    size_t klen = strlen(f->key);
    char *lk = sf_mapc_alloc(c, klen + 6);
    if (!lk)
        return -1;
    memcpy(lk, f->key, klen);
    memcpy(lk + klen, "Label", 6);
    f->label_key = lk;
    return key_ok(c, label, p, lk, used, nused) ? -1 : bad;
}

static void compile_fields(struct sf_mapc *c, const struct sf_node *fields,
                           const struct sf_node *root)
{
    if (!fields) {
        sf_mapc_error(c, root, "fields", "missing (a list of {key: ..., path: ...})");
        return;
    }
    if (fields->type != SF_NODE_SEQ) {
        sf_mapc_error(c, fields, "fields", "expected a list, got %s",
                      sf_node_type_name(fields));
        return;
    }
    struct sf_map_field *f = sf_mapc_alloc(c, (fields->n ? fields->n : 1) * sizeof(*f));
    struct used *used = calloc(2 * fields->n + 1, sizeof(*used));
    size_t nused = 0;
    if (!f || !used) {
        c->oom = 1;
        free(used);
        return;
    }
    for (size_t i = 0; i < fields->n && !c->oom; i++) {
        char p[64];
        snprintf(p, sizeof(p), "fields[%zu]", i);
        compile_field(c, fields->items[i], p, &f[i], used, &nused);
    }
    free(used);
    c->m->fields = f;
    c->m->nfields = fields->n;
}

/* ---- top level ---- */

static void compile_tables(struct sf_mapc *c, const struct sf_node *tables)
{
    if (!tables)
        return;
    if (tables->type != SF_NODE_MAP) {
        sf_mapc_error(c, tables, "tables", "expected a mapping of name: {value: result}, "
                      "got %s", sf_node_type_name(tables));
        return;
    }
    struct sf_map_table *t = sf_mapc_alloc(c, (tables->n ? tables->n : 1) * sizeof(*t));
    if (!t)
        return;
    for (size_t i = 0; i < tables->n; i++) {
        const struct sf_node *k = tables->keys[i];
        char p[256];
        snprintf(p, sizeof(p), "tables.%s", k->str);
        const char *name = sf_mapc_strndup(c, k->str, k->len);
        if (name)
            sf_map_table_compile(c, tables->items[i], p, name, &t[i]);
    }
    c->m->tables = t;
    c->m->ntables = tables->n;
}

static void compile_format(struct sf_mapc *c, const struct sf_node *root, enum sf_map_kind want)
{
    static const char *const kinds[] = { "cef", "leef" };
    const struct sf_node *f = sf_node_get(root, "format");
    c->m->kind = want;
    if (!f) {
        sf_mapc_error(c, root, "format", "missing (cef or leef)");
        return;
    }
    if (f->type != SF_NODE_SCALAR || (strcmp(f->str, "cef") && strcmp(f->str, "leef"))) {
        const char *hint = f->type == SF_NODE_SCALAR ? sf_closest(f->str, kinds, 2) : NULL;
        sf_mapc_error(c, f, "format", "expected cef or leef%s%s%s",
                      hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        return;
    }
    enum sf_map_kind got = strcmp(f->str, "cef") == 0 ? SF_MAP_CEF : SF_MAP_LEEF;
    if (got != want)
        sf_mapc_error(c, f, "format", "this is a %s map, but a %s map is needed here",
                      kinds[got], kinds[want]);
    c->m->kind = got;  /* check the rest as what it says it is: no error cascade */
}

static void compile_leef_opts(struct sf_mapc *c, const struct sf_node *root)
{
    const struct sf_node *ver = sf_node_get(root, "leef_version");
    const struct sf_node *delim = sf_node_get(root, "delimiter");
    c->m->leef_version = 2;
    c->m->leef_delim = '\t';
    if (c->m->kind != SF_MAP_LEEF) {
        if (ver)
            sf_mapc_error(c, ver, "leef_version", "only for format: leef");
        if (delim)
            sf_mapc_error(c, delim, "delimiter", "only for format: leef");
        return;
    }
    if (ver) {
        const char *s = ver->type == SF_NODE_SCALAR ? ver->str : "";
        if (!strcmp(s, "1") || !strcmp(s, "1.0"))
            c->m->leef_version = 1;
        else if (strcmp(s, "2") && strcmp(s, "2.0"))
            sf_mapc_error(c, ver, "leef_version", "expected 1 or 2");
    }
    if (!delim)
        return;
    if (c->m->leef_version == 1)
        sf_mapc_error(c, delim, "delimiter", "LEEF 1.0 always uses TAB; a delimiter needs "
                      "leef_version: 2");
    else if (delim->type != SF_NODE_SCALAR || sf_leef_parse_delim(delim->str, &c->m->leef_delim))
        sf_mapc_error(c, delim, "delimiter", "expected one character or a hex code like x5E "
                      "or 0x09 (not '=', CR or LF)");
}

static const char *const top_keys[] = { "format", "leef_version", "delimiter",
                                        "description", "tables", "header", "fields" };

sf_err sf_map_compile(const struct sf_node *root, enum sf_map_kind kind,
                      struct sf_map **out, char *errbuf, size_t errlen)
{
    struct sf_mapc c = { 0 };
    sf_err err = SF_OK;
    c.m = calloc(1, sizeof(*c.m));
    sf_buf_init(&c.errs, 64 * 1024);
    if (!c.m) {
        err = SF_ERR_NOMEM;
        goto out;
    }
    if (!root || root->type != SF_NODE_MAP) {
        sf_mapc_error(&c, root, "", "a field map is a mapping with format:, header: and "
                      "fields:, got %s", root ? sf_node_type_name(root) : "an empty document");
    } else {
        check_keys(&c, root, "", top_keys, sizeof(top_keys) / sizeof(top_keys[0]));
        compile_format(&c, root, kind);
        compile_leef_opts(&c, root);
        compile_tables(&c, sf_node_get(root, "tables"));
        compile_header(&c, sf_node_get(root, "header"), root);
        compile_fields(&c, sf_node_get(root, "fields"), root);
    }
    if (c.oom)
        err = SF_ERR_NOMEM;
    else if (c.nerr)
        err = SF_ERR_CONFIG;
out:
    if (err == SF_ERR_NOMEM)
        sf_errf(errbuf, errlen, "out of memory compiling the field map");
    else if (err) {
        if (c.errs.len && c.errs.data[c.errs.len - 1] == '\n')
            sf_buf_truncate(&c.errs, c.errs.len - 1);
        sf_errf(errbuf, errlen, "%s", c.errs.data ? c.errs.data : "invalid field map");
    }
    sf_buf_free(&c.errs);
    if (err) {
        sf_map_free(c.m);
        return err;
    }
    *out = c.m;
    return SF_OK;
}

sf_err sf_map_load(const char *path, enum sf_map_kind kind,
                   struct sf_map **out, char *errbuf, size_t errlen)
{
    struct sf_doc *doc = NULL;
    sf_err err = sf_yaml_load_file(path, &doc, errbuf, errlen);
    if (err)
        return err;
    if (!doc->root) {
        sf_errf(errbuf, errlen, "%s:1: the field map is empty", path);
        err = SF_ERR_CONFIG;
        goto out;
    }
    err = sf_map_compile(doc->root, kind, out, errbuf, errlen);
out:
    sf_doc_free(doc);
    return err;
}

void sf_map_free(struct sf_map *m)
{
    if (!m)
        return;
    while (m->arena) {
        struct sf_map_blk *next = m->arena->next;
        free(m->arena);
        m->arena = next;
    }
    free(m);
}

void sf_map_render_opts(const struct sf_map *m, struct sf_render_opts *o)
{
    if (!m || m->kind != SF_MAP_LEEF)
        return;
    o->leef_version = m->leef_version;
    o->leef_delim = m->leef_delim;
}
