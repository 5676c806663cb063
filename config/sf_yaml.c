/* sf_yaml.c - libyaml event stream -> sf_node tree with line numbers.
 * Does not interpret values (no typing, no env expansion): that is the
 * schema binder's job. Owns: everything hanging off the sf_doc. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "sf_yaml.h"

#define MAX_DEPTH 64
#define MAX_FILE_SIZE (16u * 1024 * 1024)

static void node_free(struct sf_node *node)
{
    if (!node)
        return;
    for (size_t i = 0; i < node->n; i++) {
        if (node->keys)
            node_free(node->keys[i]);
        node_free(node->items[i]);
    }
    free(node->keys);
    free(node->items);
    free(node->str);
    free(node);
}

void sf_doc_free(struct sf_doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
    free(doc->file);
    free(doc);
}

static struct sf_node *node_new(enum sf_node_type type, const yaml_mark_t *m,
                                const char *file)
{
    struct sf_node *node = calloc(1, sizeof(*node));
    if (!node)
        return NULL;
    node->type = type;
    node->line = (int)m->line + 1;
    node->col = (int)m->column + 1;
    node->file = file;
    return node;
}

static int node_append(struct sf_node *parent, struct sf_node *key,
                       struct sf_node *item)
{
    size_t n = parent->n + 1;
    struct sf_node **items = realloc(parent->items, n * sizeof(*items));
    if (!items)
        return -1;
    parent->items = items;
    if (parent->type == SF_NODE_MAP) {
        struct sf_node **keys = realloc(parent->keys, n * sizeof(*keys));
        if (!keys)
            return -1;
        parent->keys = keys;
        keys[parent->n] = key;
    }
    items[parent->n] = item;
    parent->n = n;
    return 0;
}

struct builder {
    yaml_parser_t parser;
    struct sf_doc *doc;
    char *errbuf;
    size_t errlen;
};

static sf_err parse_node(struct builder *b, yaml_event_t *ev, int depth,
                         struct sf_node **out);

static sf_err next_event(struct builder *b, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&b->parser, ev)) {
        sf_errf(b->errbuf, b->errlen, "%s:%zu: %s%s%s", b->doc->file,
                b->parser.problem_mark.line + 1,
                b->parser.problem ? b->parser.problem : "YAML syntax error",
                b->parser.context ? " " : "",
                b->parser.context ? b->parser.context : "");
        return SF_ERR_PARSE;
    }
    return SF_OK;
}

static sf_err parse_children(struct builder *b, struct sf_node *parent, int depth)
{
    for (;;) {
        yaml_event_t ev;
        sf_err err = next_event(b, &ev);
        if (err)
            return err;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return SF_OK;
        }
        struct sf_node *key = NULL, *item = NULL;
        if (parent->type == SF_NODE_MAP) {
            err = parse_node(b, &ev, depth + 1, &key);
            if (err)
                return err;
            if (key->type != SF_NODE_SCALAR) {
                sf_errf(b->errbuf, b->errlen, "%s:%d: mapping keys must be plain strings",
                        b->doc->file, key->line);
                node_free(key);
                return SF_ERR_PARSE;
            }
            for (size_t i = 0; i < parent->n; i++) {
                if (strcmp(parent->keys[i]->str, key->str) == 0) {
                    sf_errf(b->errbuf, b->errlen,
                            "%s:%d: %s: duplicate key (first at line %d)",
                            b->doc->file, key->line, key->str, parent->keys[i]->line);
                    node_free(key);
                    return SF_ERR_PARSE;
                }
            }
            err = next_event(b, &ev);
            if (err) {
                node_free(key);
                return err;
            }
        }
        err = parse_node(b, &ev, depth + 1, &item);
        if (err) {
            node_free(key);
            return err;
        }
        if (node_append(parent, key, item) != 0) {
            node_free(key);
            node_free(item);
            return SF_ERR_NOMEM;
        }
    }
}

/* Consumes ev (always deleted). */
static sf_err parse_node(struct builder *b, yaml_event_t *ev, int depth,
                         struct sf_node **out)
{
    sf_err err = SF_OK;
    struct sf_node *node = NULL;
    const char *file = b->doc->file;

    if (depth > MAX_DEPTH) {
        sf_errf(b->errbuf, b->errlen, "%s:%zu: nesting deeper than %d levels",
                file, ev->start_mark.line + 1, MAX_DEPTH);
        err = SF_ERR_PARSE;
        goto out;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        node = node_new(SF_NODE_SCALAR, &ev->start_mark, file);
        if (!node) {
            err = SF_ERR_NOMEM;
            goto out;
        }
        node->len = ev->data.scalar.length;
        node->str = malloc(node->len + 1);
        if (!node->str) {
            err = SF_ERR_NOMEM;
            goto out;
        }
        memcpy(node->str, ev->data.scalar.value, node->len);
        node->str[node->len] = '\0';
        node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        node = node_new(ev->type == YAML_MAPPING_START_EVENT ? SF_NODE_MAP : SF_NODE_SEQ,
                        &ev->start_mark, file);
        if (!node) {
            err = SF_ERR_NOMEM;
            goto out;
        }
        err = parse_children(b, node, depth);
        break;
    case YAML_ALIAS_EVENT:
        sf_errf(b->errbuf, b->errlen, "%s:%zu: YAML aliases (*name) are not supported",
                file, ev->start_mark.line + 1);
        err = SF_ERR_PARSE;
        break;
    default:
        sf_errf(b->errbuf, b->errlen, "%s:%zu: unexpected YAML event",
                file, ev->start_mark.line + 1);
        err = SF_ERR_PARSE;
        break;
    }
out:
    yaml_event_delete(ev);
    if (err) {
        node_free(node);
        return err;
    }
    *out = node;
    return SF_OK;
}

static sf_err build(struct builder *b)
{
    yaml_event_t ev;
    sf_err err;
    int docs = 0;

    for (;;) {
        err = next_event(b, &ev);
        if (err)
            return err;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return SF_OK;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            size_t line = ev.start_mark.line + 1;
            yaml_event_delete(&ev);
            if (++docs > 1) {
                sf_errf(b->errbuf, b->errlen, "%s:%zu: only one YAML document is allowed",
                        b->doc->file, line);
                return SF_ERR_PARSE;
            }
            err = next_event(b, &ev);
            if (err)
                return err;
            if (ev.type == YAML_DOCUMENT_END_EVENT) {
                yaml_event_delete(&ev);
                continue;
            }
            err = parse_node(b, &ev, 0, &b->doc->root);
            if (err)
                return err;
            err = next_event(b, &ev); /* DOCUMENT_END */
            if (err)
                return err;
        }
        yaml_event_delete(&ev);
    }
}

sf_err sf_yaml_load_string(const char *name, const char *text, size_t len,
                           struct sf_doc **out, char *errbuf, size_t errlen)
{
    struct builder b = { .errbuf = errbuf, .errlen = errlen };
    sf_err err;

    b.doc = calloc(1, sizeof(*b.doc));
    if (!b.doc)
        return SF_ERR_NOMEM;
    b.doc->file = strdup(name ? name : "<string>");
    if (!b.doc->file) {
        free(b.doc);
        return SF_ERR_NOMEM;
    }
    if (!yaml_parser_initialize(&b.parser)) {
        sf_doc_free(b.doc);
        return SF_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&b.parser, (const unsigned char *)text, len);
    err = build(&b);
    yaml_parser_delete(&b.parser);
    if (err) {
        sf_doc_free(b.doc);
        return err;
    }
    *out = b.doc;
    return SF_OK;
}

sf_err sf_yaml_load_file(const char *path, struct sf_doc **out,
                         char *errbuf, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0, cap = 0;
    sf_err err = SF_OK;

    if (!fp) {
        sf_errf(errbuf, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SF_ERR_IO;
    }
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(text, cap);
            if (!p) {
                err = SF_ERR_NOMEM;
                goto out;
            }
            text = p;
        }
        size_t n = fread(text + len, 1, cap - len, fp);
        len += n;
        if (len > MAX_FILE_SIZE) {
            sf_errf(errbuf, errlen, "%s: larger than %u bytes", path, MAX_FILE_SIZE);
            err = SF_ERR_LIMIT;
            goto out;
        }
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        sf_errf(errbuf, errlen, "%s: read error: %s", path, strerror(errno));
        err = SF_ERR_IO;
        goto out;
    }
    err = sf_yaml_load_string(path, text, len, out, errbuf, errlen);
out:
    free(text);
    fclose(fp);
    return err;
}

const struct sf_node *sf_node_get(const struct sf_node *map, const char *key)
{
    if (!map || map->type != SF_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0)
            return map->items[i];
    return NULL;
}

int sf_node_is_null(const struct sf_node *node)
{
    if (!node)
        return 1;
    if (node->type != SF_NODE_SCALAR || !node->plain)
        return 0;
    return node->len == 0 || strcmp(node->str, "~") == 0 ||
           strcmp(node->str, "null") == 0 || strcmp(node->str, "Null") == 0 ||
           strcmp(node->str, "NULL") == 0;
}

const char *sf_node_type_name(const struct sf_node *node)
{
    if (!node)
        return "nothing";
    switch (node->type) {
    case SF_NODE_SCALAR: return "a scalar";
    case SF_NODE_MAP: return "a mapping";
    case SF_NODE_SEQ: return "a list";
    }
    return "?";
}
