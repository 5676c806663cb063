/* sf_yaml.h - YAML documents loaded (libyaml) into a tree that keeps line
 * numbers, so every later error can say FILE:LINE: key.path: message.
 * The document owns every node; nodes are read-only to callers.
 * Anchors/aliases and multi-document streams are rejected. */
#ifndef SF_YAML_H
#define SF_YAML_H

#include <stddef.h>
#include "sf_err.h"

enum sf_node_type { SF_NODE_SCALAR, SF_NODE_MAP, SF_NODE_SEQ };

struct sf_node {
    enum sf_node_type type;
    int line;            /* 1-based line of the node's first character */
    int col;             /* 1-based column */
    const char *file;    /* borrowed from the owning document */
    /* SF_NODE_SCALAR */
    char *str;           /* NUL-terminated value */
    size_t len;
    int plain;           /* 1 if unquoted (so `null`, `~` and `` mean null) */
    /* SF_NODE_MAP: keys[i] (scalars) -> items[i]; SF_NODE_SEQ: items[i] */
    size_t n;
    struct sf_node **keys;
    struct sf_node **items;
};

struct sf_doc {
    char *file;          /* path or name given at load */
    struct sf_node *root; /* NULL for an empty document */
};

/* Load a file / buffer. On error returns SF_ERR_IO or SF_ERR_PARSE with
 * "FILE:LINE: message" in errbuf and *out untouched. */
sf_err sf_yaml_load_file(const char *path, struct sf_doc **out,
                         char *errbuf, size_t errlen);
sf_err sf_yaml_load_string(const char *name, const char *text, size_t len,
                           struct sf_doc **out, char *errbuf, size_t errlen);
void sf_doc_free(struct sf_doc *doc);

/* Map lookup: the value node for key, or NULL (also NULL if map is not a map). */
const struct sf_node *sf_node_get(const struct sf_node *map, const char *key);
/* 1 if the node is a plain null scalar (null, Null, NULL, ~, empty). */
int sf_node_is_null(const struct sf_node *node);
const char *sf_node_type_name(const struct sf_node *node);

#endif
