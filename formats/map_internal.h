/* map_internal.h - the compiled form of a field map, shared by map_compile.c
 * (YAML -> structures), map_path.c (paths, templates), map_transform.c and
 * map_eval.c. Private to formats/map_*.c. Every pointer inside a compiled
 * map points into the map's arena and lives exactly as long as the map. */
#ifndef MAP_INTERNAL_H
#define MAP_INTERNAL_H

#include <stddef.h>
#include <json-c/json.h>

#include "sf_buf.h"
#include "sf_map.h"
#include "sf_yaml.h"

#define SF_MAP_MAX_SEGS 32     /* segments in one path */
#define SF_MAP_MAX_ERRORS 25   /* compile errors reported before giving up */

/* ---- paths ---- */

enum sf_map_seg_kind {
    SEG_KEY,    /* .name or ['quoted'] */
    SEG_INDEX,  /* [3], [-1] */
    SEG_ALL,    /* [*] */
    SEG_MATCH,  /* [member=value]: first element whose member equals value */
};

struct sf_map_seg {
    enum sf_map_seg_kind kind;
    const char *key;   /* KEY: member name; MATCH: member compared */
    const char *val;   /* MATCH: value (compared ASCII case-insensitively) */
    size_t vlen;
    long idx;          /* INDEX: from the start if >= 0, from the end if < 0 */
};

struct sf_map_path {
    const struct sf_map_seg *segs;
    size_t n;
    int list;          /* contains [*]: yields zero or more values */
    const char *text;  /* as written, for messages */
};

/* ---- "${...}" templates ---- */

/* A reference outside an optional group is required: when it is missing
 * (absent, null, "", or an unset tenant variable) the whole template is
 * missing. $[ ... ] (TP_OPT_BEGIN .. TP_OPT_END, never nested) is written
 * only when every reference inside it is present. */
enum sf_map_tpart_kind {
    TP_LIT, TP_TENANT_NAME, TP_TENANT_ID, TP_PATH, TP_OPT_BEGIN, TP_OPT_END,
};

struct sf_map_tpart {
    enum sf_map_tpart_kind kind;
    const char *s;     /* TP_LIT */
    size_t len;
    struct sf_map_path path;  /* TP_PATH (never a list path) */
};

struct sf_map_tmpl {
    const struct sf_map_tpart *parts;
    size_t n;
};

/* ---- lookup tables ---- */

struct sf_map_entry {
    const char *k, *v;
    size_t klen, vlen;
};

struct sf_map_table {
    const char *name;             /* NULL for an inline table */
    const struct sf_map_entry *e; /* sorted by (klen, bytes) for bsearch */
    size_t n;
    const struct sf_map_entry *def; /* the _default entry, or NULL */
    int line;
};

/* ---- transforms ---- */

enum sf_map_xf_kind {
    XF_EPOCH_MS, XF_TIME_FORMAT, XF_LOWER, XF_UPPER, XF_LOOKUP, XF_HOST,
    XF_DOMAIN, XF_BOOL01, XF_DEFAULT, XF_TRUNCATE, XF_PREFIX, XF_SUFFIX,
    XF_TEMPLATE,
    /* reducers: turn a list (or a JSON array) into one value */
    XF_JOIN, XF_ANY, XF_COUNT, XF_FIRST,
};
#define XF_IS_REDUCER(k) ((k) >= XF_JOIN)

struct sf_map_xf {
    enum sf_map_xf_kind kind;
    const char *s;                    /* time_format, join, default, prefix, suffix */
    size_t len;
    size_t n;                         /* truncate: characters */
    const struct sf_map_table *table; /* lookup */
    const struct sf_map_entry *set;   /* any: candidate values (k only) */
    size_t nset;
    struct sf_map_tmpl tmpl;          /* template */
};

/* ---- value specs, fields, the map ---- */

enum sf_map_vs_kind { VS_NONE, VS_CONST, VS_TEMPLATE, VS_PATH };

struct sf_map_value {
    enum sf_map_vs_kind kind;
    const char *s;                    /* VS_CONST */
    size_t len;
    struct sf_map_tmpl tmpl;          /* VS_TEMPLATE */
    const struct sf_map_path *paths;  /* VS_PATH: first that yields wins */
    size_t npaths;
    const struct sf_map_xf *xf;
    size_t nxf;
    size_t reduce;                    /* index of the first reducer, or nxf */
    int list;                         /* some path contains [*] */
    const char *def;                  /* default: value (applied last) */
    size_t deflen;
};

struct sf_map_field {
    const char *key;
    const char *label_key;            /* "<key>Label", or NULL */
    const char *label;
    size_t label_len;
    struct sf_map_value v;
};

struct sf_map_blk;

struct sf_map {
    enum sf_map_kind kind;
    int leef_version;
    char leef_delim;
    const struct sf_map_table *tables;
    size_t ntables;
    struct sf_map_value hdr[SF_HDR_COUNT];  /* kind VS_NONE when unset */
    const struct sf_map_field *fields;
    size_t nfields;
    struct sf_map_blk *arena;
};

/* ---- compile context (map_compile.c) ---- */

struct sf_mapc {
    struct sf_map *m;
    struct sf_buf errs;   /* "FILE:LINE: path: message\n" lines */
    int nerr;
    int oom;
};

/* Zeroed arena memory owned by the map; NULL (and c->oom set) on failure. */
void *sf_mapc_alloc(struct sf_mapc *c, size_t n);
/* NUL-terminated copy of s[0..n) in the arena. */
char *sf_mapc_strndup(struct sf_mapc *c, const char *s, size_t n);
void sf_mapc_error(struct sf_mapc *c, const struct sf_node *node, const char *path,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Closest candidate to word by edit distance, or NULL if none is close. */
const char *sf_mapc_closest(const char *word, const char *const *cands, size_t n);
/* The scalar text of node, or NULL after reporting "expected a string". */
const char *sf_mapc_scalar(struct sf_mapc *c, const struct sf_node *node,
                           const char *path);

/* ---- map_path.c ---- */

/* Parse a path; on error report "bad path '...': <why> at column N". */
int sf_map_path_parse(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                      const char *text, size_t len, struct sf_map_path *out);
/* Parse "text with ${tenant.name}, ${tenant.id} and ${path}" and optional
 * groups "$[?tid=${path}]" ($${ and $$[ are a literal "${" and "$[", $] a
 * literal "]" inside a group). */
int sf_map_tmpl_parse(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                      const char *text, size_t len, struct sf_map_tmpl *out);
/* Walk a non-list path from j (borrowed). NULL when absent or JSON null. */
json_object *sf_map_path_get(const struct sf_map_path *p, size_t from, json_object *j);
/* Walk a path that may contain [*], calling fn for every value reached
 * (JSON null skipped). fn returns nonzero to stop. Returns the number of
 * values delivered. */
typedef int (*sf_map_each_fn)(json_object *j, void *ctx);
size_t sf_map_path_each(const struct sf_map_path *p, json_object *j,
                        sf_map_each_fn fn, void *ctx);

/* ---- evaluation values (map_eval.c, map_transform.c) ---- */

enum sf_map_val_kind { V_MISSING, V_JSON, V_TEXT };

/* A value during evaluation. Text is either external and stable (p != NULL:
 * a JSON string or map constant) or in the scratch buffer at off (p == NULL),
 * since the buffer may move when it grows. */
struct sf_map_val {
    enum sf_map_val_kind kind;
    json_object *j;
    const char *p;
    size_t off, len;
};

struct sf_map_ev {
    const struct sf_map *m;
    const struct sf_tenant_info *t;
    struct sf_buf *b;   /* the record's value buffer; scratch is appended */
};

static inline const char *sf_map_val_ptr(const struct sf_map_ev *ev,
                                         const struct sf_map_val *v)
{
    return v->p ? v->p : ev->b->data + v->off;
}

/* Make v text (JSON scalars -> their text, objects/arrays -> compact JSON). */
sf_err sf_map_val_text(struct sf_map_ev *ev, struct sf_map_val *v);
/* Expand a template; rel is the JSON value relative paths start from. */
sf_err sf_map_tmpl_eval(struct sf_map_ev *ev, const struct sf_map_tmpl *t,
                        json_object *rel, struct sf_map_val *v);

/* ---- map_transform.c ---- */

/* Compile a table mapping (value: result, optional _default) into out. */
int sf_map_table_compile(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                         const char *name, struct sf_map_table *out);
/* A lookup argument: name (a table of the map's tables:, else an error with
 * the closest name) or, when name is NULL, node as an inline table. */
const struct sf_map_table *sf_mapc_table(struct sf_mapc *c, const struct sf_node *node,
                                         const char *kpath, const char *name);
int sf_map_xf_compile(struct sf_mapc *c, const struct sf_node *node, const char *kpath,
                      struct sf_map_xf *out);
/* Table order: by key length, then bytes (bsearch and qsort). */
int sf_map_entry_cmp(const void *a, const void *b);
/* Apply one non-reducer transform to v in place. */
sf_err sf_map_xf_apply(struct sf_map_ev *ev, const struct sf_map_xf *x,
                       struct sf_map_val *v);

#endif
