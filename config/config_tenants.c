/* config_tenants.c - the tenants section: tenant_defaults merged under each
 * entry, credentials (client secret or certificate), URL checks, and
 * references to outputs, for entries of the main file
 * and of tenants_dir files alike (tenants_dir.c collects them). Strings are
 * owned by each sf_tenant_conf (deep copies of the defaults), freed by
 * cfg_free_tenants with the tenants_dir documents. Sources are names here:
 * their defaults and rules are the forwarder's source types' (sf_sources.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define TOFF(f) offsetof(struct sf_tenant_conf, f)
#define KOFF(f) offsetof(struct sf_cert_conf, f)
#define SEC 1000LL
#define DAY (86400LL * SEC)

const struct sf_conf_entry cfg_tenant_table[] = {
    { "name", SF_CT_STRING, NULL, TOFF(name), 0, 0, NULL, 1,
      "unique tenant name, in every record and in state" },
    { "tenant_id", SF_CT_STRING, NULL, TOFF(tenant_id), 0, 0, NULL, 1,
      "the customer's Entra tenant id (GUID)" },
    { "source", SF_CT_STRING, "graph", TOFF(source_name), 0, 0, NULL, 0,
      "alert API: graph (alerts_v2), mde (/api/alerts), siem (legacy SIEM API)" },
    { "client_id", SF_CT_STRING, NULL, TOFF(client_id), 0, 0, NULL, 1,
      "application (client) id of the MSSP's multi-tenant app" },
    { "client_secret", SF_CT_SECRET, NULL, TOFF(client_secret), 0, 0, NULL, 0,
      "app secret: ${ENV}, file:/path or text (or use certificate)" },
    { "certificate", SF_CT_NODE, NULL, TOFF(certificate_node), 0, 0, NULL, 0,
      "{cert_file, key_file, key_password} instead of client_secret" },
    { "authority", SF_CT_STRING, "https://login.microsoftonline.com", TOFF(authority), 0, 0,
      NULL, 0, "Entra ID login host (https:// only)" },
    { "api_base", SF_CT_STRING, NULL, TOFF(api_base), 0, 0, NULL, 0,
      "API host (https:// only); default per source; siem: required (regional)" },
    { "start_from", SF_CT_DURATION, "24h", TOFF(start_from_ms), 0, 180 * DAY, NULL, 0,
      "first-run backfill window" },
    { "overlap", SF_CT_DURATION, "5m", TOFF(overlap_ms), 0, DAY, NULL, 0,
      "re-read window behind the cursor (repeats are dropped)" },
    { "settle", SF_CT_DURATION, "30s", TOFF(settle_ms), 0, 3600 * SEC, NULL, 0,
      "the last seconds before now that are not read yet" },
    { "page_size", SF_CT_INT, NULL, TOFF(page_size), 1, 10000, NULL, 0,
      "$top per request; default graph 500, mde 10000 (siem: no paging)" },
    { "filter", SF_CT_STRING, NULL, TOFF(filter), 0, 0, NULL, 0,
      "extra OData $filter clause, ANDed (graph only)" },
    { "outputs", SF_CT_STRLIST, NULL, TOFF(outputs), 0, 0, NULL, 0,
      "outputs that get this tenant's alerts; default: every output" },
    { "enabled", SF_CT_BOOL, "true", TOFF(enabled), 0, 0, NULL, 0,
      "false: checked but not polled" },
    SF_CONF_END
};
#define N_TENANT_KEYS (sizeof(cfg_tenant_table) / sizeof(cfg_tenant_table[0]) - 1)

const struct sf_conf_entry cfg_cert_table[] = {
    { "cert_file", SF_CT_STRING, NULL, KOFF(cert_file), 0, 0, NULL, 1,
      "PEM certificate registered on the app" },
    { "key_file", SF_CT_STRING, NULL, KOFF(key_file), 0, 0, NULL, 1, "PEM private key" },
    { "key_password", SF_CT_SECRET, NULL, KOFF(key_password), 0, 0, NULL, 0,
      "password of an encrypted key: ${ENV}, file:/path or text" },
    SF_CONF_END
};

static int present(const struct sf_node *map, const char *key)
{
    return !sf_node_is_null(sf_node_get(map, key));
}

static size_t key_index(const char *key)
{
    size_t i = 0;
    while (i < N_TENANT_KEYS && strcmp(cfg_tenant_table[i].key, key) != 0)
        i++;
    return i;
}

static int is_credential(const char *key)
{
    return strcmp(key, "client_secret") == 0 || strcmp(key, "certificate") == 0;
}

static int is_per_source(const char *key)
{
    return strcmp(key, "api_base") == 0 || strcmp(key, "page_size") == 0 ||
           strcmp(key, "filter") == 0;
}

/* Deep copy of one bound field from src to dst; -1 on no memory. */
static int copy_field(const struct sf_conf_entry *e, void *dst, const void *src)
{
    char *d = (char *)dst + e->offset;
    const char *s = (const char *)src + e->offset;

    switch (e->type) {
    case SF_CT_STRING:
    case SF_CT_SECRET:
    case SF_CT_ENUM:
        if (*(char *const *)s && !(*(char **)d = strdup(*(char *const *)s)))
            return -1;
        return 0;
    case SF_CT_INT:
    case SF_CT_DURATION:
    case SF_CT_SIZE:
        *(long long *)d = *(const long long *)s;
        return 0;
    case SF_CT_BOOL:
        *(int *)d = *(const int *)s;
        return 0;
    case SF_CT_STRLIST: {
        const struct sf_strlist *sl = (const struct sf_strlist *)s;
        struct sf_strlist *dl = (struct sf_strlist *)d;
        if (sl->n == 0)
            return 0;
        if (!(dl->v = calloc(sl->n, sizeof(*dl->v))))
            return -1;
        for (; dl->n < sl->n; dl->n++)
            if (!(dl->v[dl->n] = strdup(sl->v[dl->n])))
                return -1;
        return 0;
    }
    case SF_CT_NODE:
        *(const struct sf_node **)d = *(const struct sf_node *const *)s;
        return 0;
    }
    return 0;
}

static void bind_cert(struct cfg_loader *ld, const struct sf_node *node, const char *path,
                      struct sf_cert_conf *cert)
{
    cfg_bound(ld, sf_conf_bind(node, path, cfg_cert_table, NULL, cert, ld->errs));
    cfg_resolve(ld, cfg_at(node, "cert_file"), &cert->cert_file);
    cfg_resolve(ld, cfg_at(node, "key_file"), &cert->key_file);
}

/* Each output name in the list must be defined, once. */
static void check_output_refs(struct cfg_loader *ld, const struct sf_node *map,
                              const char *path, const struct sf_strlist *l)
{
    const struct sf_node *list = sf_node_get(map, "outputs");
    const char *cand[64];
    size_t n = 0;
    char kpath[96];

    for (size_t i = 0; i < ld->cfg->n_outputs && n < 64; i++)
        if (ld->cfg->outputs[i].name)
            cand[n++] = ld->cfg->outputs[i].name;
    if (list && list->type == SF_NODE_SEQ && list->n == 0)
        cfg_error(ld, list, path, "empty list (leave the key out to use every output)");
    for (size_t i = 0; i < l->n; i++) {
        const struct sf_node *at = list;
        snprintf(kpath, sizeof(kpath), "%s", path);
        if (list && list->type == SF_NODE_SEQ && i < list->n) {
            at = list->items[i];
            snprintf(kpath, sizeof(kpath), "%s[%zu]", path, i);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->v[j], l->v[i]) == 0)
                cfg_error(ld, at, kpath, "output '%s' is listed twice", l->v[i]);
        if (sf_config_output(ld->cfg, l->v[i]))
            continue;
        const char *near = sf_closest(l->v[i], cand, n);
        if (near)
            cfg_error(ld, at, kpath, "unknown output '%s' (did you mean '%s'?)", l->v[i],
                      near);
        else
            cfg_error(ld, at, kpath, "unknown output '%s'", l->v[i]);
    }
}

static void load_defaults(struct cfg_loader *ld, const struct sf_node *node,
                          struct sf_tenant_conf *d)
{
    struct sf_conf_entry table[N_TENANT_KEYS + 1];

    memcpy(table, cfg_tenant_table, sizeof(table));
    for (size_t i = 0; i < N_TENANT_KEYS; i++) {
        table[i].required = 0;
        table[i].def = NULL;
    }
    cfg_bound(ld, sf_conf_bind(node, "tenant_defaults", table, NULL, d, ld->errs));
    if (present(node, "name"))
        cfg_error(ld, sf_node_get(node, "name"), "tenant_defaults.name",
                  "belongs to each tenant, not to tenant_defaults");
    if (present(node, "tenant_id"))
        cfg_error(ld, sf_node_get(node, "tenant_id"), "tenant_defaults.tenant_id",
                  "belongs to each tenant, not to tenant_defaults");
    if (d->certificate_node) {
        bind_cert(ld, d->certificate_node, "tenant_defaults.certificate", &d->cert);
        d->has_cert = 1;
    }
    if (present(node, "outputs"))
        check_output_refs(ld, node, "tenant_defaults.outputs", &d->outputs);
}

/* Which keys tenant t takes from tenant_defaults: those it does not set
 * itself, except that credentials go as a pair (a tenant with its own
 * client_secret does not also inherit a certificate) and api_base,
 * page_size and filter only apply to tenants of the defaults' source. */
static void inheritance(const struct sf_node *dmap, const struct sf_tenant_conf *d,
                        const struct sf_node *tmap, int *inherit)
{
    int own_cred = present(tmap, "client_secret") || present(tmap, "certificate");
    const char *dsrc = d->source_name ? d->source_name : "graph";
    const struct sf_node *tsrc = sf_node_get(tmap, "source");
    int same_src = !present(tmap, "source") ||
                   (tsrc->type == SF_NODE_SCALAR && strcmp(tsrc->str, dsrc) == 0);

    for (size_t i = 0; i < N_TENANT_KEYS; i++) {
        const char *key = cfg_tenant_table[i].key;
        inherit[i] = present(dmap, key) && !present(tmap, key) &&
                     strcmp(key, "name") != 0 && strcmp(key, "tenant_id") != 0;
        if ((is_credential(key) && own_cred) || (is_per_source(key) && !same_src))
            inherit[i] = 0;
    }
}

static int is_guid(const char *s)
{
    static const size_t groups[] = { 8, 4, 4, 4, 12 };

    for (size_t g = 0; g < 5; g++) {
        for (size_t i = 0; i < groups[g]; i++, s++)
            if (!strchr("0123456789abcdefABCDEF", *s) || !*s)
                return 0;
        if (*s++ != (g < 4 ? '-' : '\0'))
            return 0;
    }
    return 1;
}

/* The client secret goes to the authority and the bearer token to
 * api_base: plain http:// would hand both to anyone on the path, loopback
 * included (the HTTP client speaks https only). Emulators and proxies use
 * https:// with their CA in http.ca_file. */
static void check_https(struct cfg_loader *ld, const struct sf_node *at, const char *path,
                        const char *url)
{
    if (url && strncmp(url, "http://", 7) == 0)
        cfg_error(ld, at, path, "'%s' is plain http://; the client secret and tokens travel "
                  "only over https:// (an emulator or proxy: https:// with http.tls.ca_file)",
                  url);
}

/* Rules that need the merged tenant. */
static void check_tenant(struct cfg_loader *ld, const struct sf_node *tmap,
                         const char *path, struct sf_tenant_conf *t, int has_secret)
{
    char kpath[64];

    snprintf(kpath, sizeof(kpath), "%s.tenant_id", path);
    if (t->tenant_id && !is_guid(t->tenant_id))
        cfg_error(ld, cfg_at(tmap, "tenant_id"), kpath,
                  "'%s' is not a GUID (like 00000000-0000-0000-0000-000000000000)",
                  t->tenant_id);
    if (has_secret && t->has_cert)
        cfg_error(ld, tmap, path, "give client_secret or certificate, not both");
    if (!has_secret && !t->has_cert)
        cfg_error(ld, tmap, path, "needs client_secret or certificate");
    /* source, page_size and filter: the source registry's (sf_sources_apply) */
    snprintf(kpath, sizeof(kpath), "%s.api_base", path);
    check_https(ld, cfg_at(tmap, "api_base"), kpath, t->api_base);
    cfg_check_url(ld, cfg_at(tmap, "api_base"), kpath, t->api_base);
    snprintf(kpath, sizeof(kpath), "%s.authority", path);
    check_https(ld, cfg_at(tmap, "authority"), kpath, t->authority);
    cfg_check_url(ld, cfg_at(tmap, "authority"), kpath, t->authority);
}

/* A name given twice names both places; "line N" alone when both are in
 * the same file (tenants_dir files make that not a given). */
static void check_names(struct cfg_loader *ld, const struct cfg_tenant_ref *refs,
                        size_t i)
{
    const struct sf_tenant_conf *all = ld->cfg->tenants, *t = &all[i];
    const struct sf_node *at = cfg_at(refs[i].node, "name");
    char kpath[64];

    snprintf(kpath, sizeof(kpath), "%s.name", refs[i].path);
    if (!t->name || cfg_check_name(ld, at, kpath, t->name) != 0)
        return;
    for (size_t j = 0; j < i; j++) {
        const struct sf_node *first = cfg_at(refs[j].node, "name");
        if (!all[j].name || strcmp(all[j].name, t->name) != 0)
            continue;
        if (first->file && at->file && strcmp(first->file, at->file) != 0)
            cfg_error(ld, at, kpath, "duplicate tenant name '%s' (first at %s:%d)", t->name,
                      first->file, all[j].line);
        else
            cfg_error(ld, at, kpath, "duplicate tenant name '%s' (first at line %d)",
                      t->name, all[j].line);
        return;
    }
}

/* Every output when the tenant names none. */
static void default_outputs(struct cfg_loader *ld, struct sf_tenant_conf *t)
{
    const struct sf_config *cfg = ld->cfg;

    if (cfg->n_outputs == 0 || !(t->outputs.v = calloc(cfg->n_outputs, sizeof(char *)))) {
        ld->nomem = cfg->n_outputs != 0;
        return;
    }
    for (size_t i = 0; i < cfg->n_outputs; i++)
        if (cfg->outputs[i].name && !(t->outputs.v[t->outputs.n++] =
                                          strdup(cfg->outputs[i].name)))
            ld->nomem = 1;
}

static void load_tenant(struct cfg_loader *ld, const struct sf_node *dmap,
                        const struct sf_tenant_conf *d, const struct cfg_tenant_ref *refs,
                        size_t i)
{
    struct sf_tenant_conf *t = &ld->cfg->tenants[i];
    const struct sf_node *tmap = refs[i].node;
    const char *path = refs[i].path;
    struct sf_conf_entry table[N_TENANT_KEYS + 1];
    int inherit[N_TENANT_KEYS];
    char cpath[48];

    t->line = tmap->line;
    t->node = tmap;
    snprintf(t->path, sizeof(t->path), "%s", path);
    if (tmap->type != SF_NODE_MAP) {
        cfg_bound(ld, sf_conf_bind(tmap, path, cfg_tenant_table, NULL, t, ld->errs));
        return;
    }
    inheritance(dmap, d, tmap, inherit);
    memcpy(table, cfg_tenant_table, sizeof(table));
    for (size_t k = 0; k < N_TENANT_KEYS; k++)
        if (inherit[k]) {
            table[k].required = 0;
            table[k].def = NULL;
        }
    cfg_bound(ld, sf_conf_bind(tmap, path, table, NULL, t, ld->errs));
    for (size_t k = 0; k < N_TENANT_KEYS; k++)
        if (inherit[k] && copy_field(&table[k], t, d) != 0)
            ld->nomem = 1;
    if (present(tmap, "certificate")) {
        snprintf(cpath, sizeof(cpath), "%s.certificate", path);
        bind_cert(ld, t->certificate_node, cpath, &t->cert);
        t->has_cert = 1;
    } else if (t->certificate_node && d->has_cert) {
        for (size_t k = 0; cfg_cert_table[k].key; k++)
            if (copy_field(&cfg_cert_table[k], &t->cert, &d->cert) != 0)
                ld->nomem = 1;
        t->has_cert = 1;
    }
    check_names(ld, refs, i);
    check_tenant(ld, tmap, path, t,
                 present(tmap, "client_secret") || inherit[key_index("client_secret")]);
    snprintf(cpath, sizeof(cpath), "%s.outputs", path);
    if (present(tmap, "outputs"))
        check_output_refs(ld, tmap, cpath, &t->outputs);
    else if (!present(dmap, "outputs"))
        default_outputs(ld, t);
}

void cfg_load_tenants(struct cfg_loader *ld, const struct sf_node *defaults,
                      const struct cfg_tenant_ref *refs, size_t n)
{
    struct sf_config *cfg = ld->cfg;
    struct sf_tenant_conf d;

    memset(&d, 0, sizeof(d));
    load_defaults(ld, defaults, &d);
    if (n == 0)
        goto out;
    cfg->tenants = calloc(n, sizeof(*cfg->tenants));
    if (!cfg->tenants) {
        ld->nomem = 1;
        goto out;
    }
    for (size_t i = 0; i < n && !ld->nomem; i++) {
        cfg->n_tenants = i + 1;
        load_tenant(ld, defaults, &d, refs, i);
    }
out:
    sf_conf_release(cfg_cert_table, &d.cert);
    sf_conf_release(cfg_tenant_table, &d);
}

void cfg_free_tenants(struct sf_config *cfg)
{
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        sf_conf_release(cfg_cert_table, &cfg->tenants[i].cert);
        sf_conf_release(cfg_tenant_table, &cfg->tenants[i]);
    }
    free(cfg->tenants);
    cfg->tenants = NULL;
    cfg->n_tenants = 0;
    for (size_t i = 0; i < cfg->n_tenants_docs; i++)
        sf_doc_free(cfg->tenants_docs[i]);
    free(cfg->tenants_docs);
    cfg->tenants_docs = NULL;
    cfg->n_tenants_docs = 0;
}
