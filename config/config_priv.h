/* config_priv.h - what the config loader's files (config.c,
 * config_tenants.c, config_dump.c) share and nothing else may use: the
 * tables, the load context and helpers. Not installed, not for other dirs. */
#ifndef SF_CONFIG_PRIV_H
#define SF_CONFIG_PRIV_H

#include "sf_config.h"

/* One load in progress: errors are counted so a full errs buffer still
 * fails the load. */
struct cfg_loader {
    struct sf_config *cfg;
    struct sf_buf *errs;
    int bad;
    int nomem;
};

extern const struct sf_conf_entry cfg_root_table[];
extern const struct sf_conf_entry cfg_metrics_table[];
extern const struct sf_conf_entry cfg_http_table[];
extern const struct sf_conf_entry cfg_format_table[];
extern const struct sf_conf_entry cfg_output_table[];
extern const struct sf_conf_entry cfg_events_table[];
extern const struct sf_conf_entry cfg_tenant_table[];
extern const struct sf_conf_entry cfg_cert_table[];

void cfg_error(struct cfg_loader *ld, const struct sf_node *node, const char *path,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Accounts for an sf_conf_bind result. */
void cfg_bound(struct cfg_loader *ld, sf_err err);
/* Checks name against [A-Za-z0-9._-]+; reports and returns -1 if not. */
int cfg_check_name(struct cfg_loader *ld, const struct sf_node *at, const char *path,
                   const char *name);
/* Replaces *p (if set) by itself resolved against the config file's
 * directory. */
void cfg_resolve(struct cfg_loader *ld, const struct sf_node *at, char **p);
/* Strips trailing '/' from a URL and checks its scheme. */
void cfg_check_url(struct cfg_loader *ld, const struct sf_node *at, const char *path,
                   char *url);
/* The value node of key in map (for error lines), else map itself. */
const struct sf_node *cfg_at(const struct sf_node *map, const char *key);

/* One tenant entry to load: its mapping (borrowed from the main document or
 * a tenants_dir file's) and its key path in messages: "tenants[3]" in the
 * main file, "tenant" or "tenants[0]" in a tenants_dir file. */
struct cfg_tenant_ref {
    const struct sf_node *node;
    char path[32];
};

/* config_tenants.c: loads n entries into cfg->tenants, in order. */
void cfg_load_tenants(struct cfg_loader *ld, const struct sf_node *defaults,
                      const struct cfg_tenant_ref *refs, size_t n);
/* Frees the tenants and the tenants_dir documents. */
void cfg_free_tenants(struct sf_config *cfg);

/* tenants_dir.c: the `tenants:` list of root merged with every *.yaml of
 * tenants_dir (sorted by name), then cfg_load_tenants. */
void cfg_load_all_tenants(struct cfg_loader *ld, const struct sf_node *root);

/* config_cluster.c: the `cluster:` section. The bind struct is what
 * cfg_cluster_table binds (and the dump prints). */
struct cfg_cluster_bind {
    struct sf_strlist brokers;
    char *group, *tenants_topic, *cursors_topic, *instance_id;
    long long partitions;
    const struct sf_node *properties;
};
extern const struct sf_conf_entry cfg_cluster_table[];
void cfg_load_cluster(struct cfg_loader *ld, const struct sf_node *root);
void cfg_free_cluster(struct sf_config *cfg);
/* A view of cfg->cluster for the dump (borrows its strings; no brokers). */
void cfg_cluster_view(const struct sf_config *cfg, struct cfg_cluster_bind *b);

#endif
