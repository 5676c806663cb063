/* sources.c - the source registry: every alert API siemfwd reads, looked
 * up by the name a tenant's `source:` gives, and the check of a loaded
 * config's tenants against their source type (its keys and defaults).
 * Adding a source: one source_NAME.c defining its sf_source_type, one
 * extern line in source.h and one line in the table below. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_sources.h"
#include "source.h"

static const struct sf_source_type *const types[] = {
    &sf_source_graph,
    &sf_source_mde,
    &sf_source_siem,
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

const struct sf_source_type *sf_source_type_of(const char *name)
{
    for (size_t i = 0; name && i < NTYPES; i++)
        if (strcasecmp(name, types[i]->name) == 0)
            return types[i];
    return NULL;
}

const char *sf_source_api_base(const struct sf_source_type *type, const char *configured)
{
    return configured ? configured : type->default_api_base;
}

const char *sf_source_permission(const char *name)
{
    const struct sf_source_type *type = sf_source_type_of(name);

    return type ? type->permission : NULL;
}

static const char *names[NTYPES + 1];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

/* The names live in each type's descriptor (another translation unit), so
 * the list is filled once at first use rather than at compile time. */
static void fill_names(void)
{
    for (size_t i = 0; i < NTYPES; i++)
        names[i] = types[i]->name;
    names[NTYPES] = NULL;
}

const char *const *sf_source_names(void)
{
    pthread_once(&names_once, fill_names);
    return names;
}

/* Where key of tenant t is written, for messages: the tenant's own entry,
 * else tenant_defaults (if it sets the key), else the tenant's entry. */
static const struct sf_node *key_at(const struct sf_config *cfg, const struct sf_tenant_conf *t,
                                    const char *key, char *path, size_t n)
{
    const struct sf_node *v = sf_node_get(t->node, key), *d = NULL;

    if (v && !sf_node_is_null(v)) {
        snprintf(path, n, "%s.%s", t->path, key);
        return v;
    }
    if (cfg->doc && cfg->doc->root)
        d = sf_node_get(sf_node_get(cfg->doc->root, "tenant_defaults"), key);
    if (d && !sf_node_is_null(d)) {
        snprintf(path, n, "tenant_defaults.%s", key);
        return d;
    }
    snprintf(path, n, "%s", t->path);
    return t->node;
}

/* The type named exactly name (config names are case-sensitive), or NULL
 * with the error said. */
static const struct sf_source_type *check_name(const struct sf_config *cfg,
                                               const struct sf_tenant_conf *t,
                                               struct sf_buf *errs)
{
    const char *const *all = sf_source_names();
    const struct sf_node *at;
    const char *near;
    char path[80];

    for (size_t i = 0; i < NTYPES; i++)
        if (t->source_name && strcmp(t->source_name, types[i]->name) == 0)
            return types[i];
    at = key_at(cfg, t, "source", path, sizeof(path));
    near = t->source_name ? sf_closest(t->source_name, all, NTYPES) : NULL;
    struct sf_buf list;
    sf_buf_init(&list, 0);
    for (size_t i = 0; i < NTYPES; i++)
        sf_buf_printf(&list, "%s%s", i ? ", " : "", all[i]);
    sf_conf_error(errs, at, path, "'%s' is not one of %s%s%s%s",
                  t->source_name ? t->source_name : "", list.data ? list.data : "",
                  near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    sf_buf_free(&list);
    return NULL;
}

sf_err sf_sources_apply(struct sf_config *cfg, struct sf_buf *errs)
{
    int bad = 0, nomem = 0;
    char path[80];

    for (size_t i = 0; i < cfg->n_tenants; i++) {
        struct sf_tenant_conf *t = &cfg->tenants[i];
        const struct sf_source_type *type = check_name(cfg, t, errs);
        if (!type) {
            bad = 1;
            continue;
        }
        if (t->page_size && !type->default_page_size) {
            const struct sf_node *at = key_at(cfg, t, "page_size", path, sizeof(path));
            sf_conf_error(errs, at, path, "the %s source has no paging", type->name);
            bad = 1;
        }
        if (t->filter && !type->takes_filter) {
            const struct sf_node *at = key_at(cfg, t, "filter", path, sizeof(path));
            sf_conf_error(errs, at, path, "the %s source takes no filter (graph does)",
                          type->name);
            bad = 1;
        }
        if (!t->page_size)
            t->page_size = type->default_page_size;
        if (!sf_source_api_base(type, t->api_base)) {
            sf_conf_error(errs, t->node, t->path, "source %s needs api_base: %s", type->name,
                          type->api_base_hint ? type->api_base_hint : "the API host");
            bad = 1;
        } else if (!t->api_base && !(t->api_base = strdup(type->default_api_base))) {
            nomem = 1;
        }
    }
    return nomem ? SF_ERR_NOMEM : bad ? SF_ERR_CONFIG : SF_OK;
}
