/* config.c - loads siemfwd's YAML configuration (DESIGN.md §4) into struct
 * sf_config: top level, metrics, http, formats, the common keys of outputs
 * and the references between them. Tenants are config_tenants.c, the dump
 * config_dump.c. The sf_config owns every string and the sf_doc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

#define COFF(f) offsetof(struct sf_config, f)
#define FOFF(f) offsetof(struct sf_format_conf, f)
#define OOFF(f) offsetof(struct sf_output_conf, f)
#define SEC 1000LL
#define DAY (86400LL * SEC)
#define KIB 1024LL
#define MIB (1024LL * KIB)

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const log_formats[] = { "logfmt", "json", NULL };
/* The names of formats/format.c's registry (config cannot see formats/;
 * test_config keeps the two lists equal). */
static const char *const format_types[] = { "cef", "leef", "json", NULL };
/* The output types DESIGN.md §4 names. Kept here rather than taken from
 * sf_output_type_names() so a config naming an output type that is not
 * built yet still validates; the pipeline reports an unregistered type. */
static const char *const output_types[] = {
    "syslog", "kafka", "hec", "file", "stdout", "email", "webhook", NULL
};
static const char *const root_sections[] = {
    "metrics", "http", "tenant_defaults", "tenants", "formats", "outputs", "cluster", NULL
};

static const char *const state_syncs[] = { "normal", "full", NULL };

const char *const sf_output_common_keys[] = { "name", "type", "format", "rules", "flood",
                                              "queue_max_bytes", "queue_max_failing",
                                              "events", NULL };

const struct sf_conf_entry cfg_root_table[] = {
    { "state_dir", SF_CT_STRING, "/var/lib/siemfwd", COFF(state_dir), 0, 0, NULL, 0,
      "directory of the cursor store" },
    { "poll_interval", SF_CT_DURATION, "60s", COFF(poll_interval_ms), SEC, DAY, NULL, 0,
      "time between two polls of one tenant" },
    { "log_level", SF_CT_ENUM, "info", COFF(log_level), 0, 0, log_levels, 0,
      "least severe message logged" },
    { "log_format", SF_CT_ENUM, "logfmt", COFF(log_format), 0, 0, log_formats, 0,
      "log line format" },
    { "organization", SF_CT_STRING, NULL, COFF(organization), 0, 0, NULL, 0,
      "MSSP name sent in the partner User-Agent" },
    { "shutdown_timeout", SF_CT_DURATION, "30s", COFF(shutdown_timeout_ms), SEC, 3600 * SEC,
      NULL, 0, "bound on draining outputs (and on one delivery round) at stop or reload" },
    { "state_sync", SF_CT_ENUM, "normal", COFF(state_sync), 0, 0, state_syncs, 0,
      "state store durability: normal survives a crash, full also a power loss" },
    { "tenants_dir", SF_CT_STRING, NULL, COFF(tenants_dir), 0, 0, NULL, 0,
      "directory whose *.yaml files each hold a tenant or a list of tenants, merged with "
      "tenants (relative to this file; re-read on SIGHUP)" },
    SF_CONF_END
};

const struct sf_conf_entry cfg_metrics_table[] = {
    { "listen", SF_CT_STRING, NULL, COFF(metrics_listen), 0, 0, NULL, 0,
      "HOST:PORT serving /metrics, /healthz, the status page at / and /status.json; unset: "
      "no endpoint" },
    SF_CONF_END
};

const struct sf_conf_entry cfg_http_table[] = {
    { "timeout", SF_CT_DURATION, "30s", COFF(http_timeout_ms), SEC, 3600 * SEC, NULL, 0,
      "limit on one Microsoft API call" },
    { "max_parallel", SF_CT_INT, "32", COFF(http_max_parallel), 1, 1024, NULL, 0,
      "tenants fetched at once" },
    { "tls", SF_CT_NODE, NULL, COFF(http_tls_node), 0, 0, NULL, 0,
      "TLS to the Microsoft APIs (ca_file, cert_file, key_file, verify; see tls:)" },
    { "ca_file", SF_CT_NODE, NULL, COFF(http_legacy_ca_file), 0, 0, NULL, 0,
      "deprecated (warned): CAs (PEM) added to the system store; tls.ca_file replaces it" },
    { "max_response", SF_CT_SIZE, "64MiB", COFF(http_max_response), 64 * KIB, 1024 * MIB,
      NULL, 0, "largest API response body accepted" },
    { "max_retry_after", SF_CT_DURATION, "10m", COFF(http_max_retry_after_ms), SEC, DAY, NULL,
      0, "longest Retry-After obeyed; a longer one is cut to this and logged" },
    SF_CONF_END
};

const struct sf_conf_entry cfg_format_table[] = {
    { "name", SF_CT_STRING, NULL, FOFF(name), 0, 0, NULL, 1,
      "unique name that outputs refer to" },
    { "type", SF_CT_ENUM, NULL, FOFF(type_name), 0, 0, format_types, 1, "record format" },
    { "map", SF_CT_STRING, NULL, FOFF(map), 0, 0, NULL, 0,
      "field map file (cef and leef only); relative to this file" },
    { "max_len", SF_CT_SIZE, NULL, FOFF(max_len), 256, 16 * MIB, NULL, 0,
      "longest record in bytes; fields are shortened to fit" },
    SF_CONF_END
};

const struct sf_conf_entry cfg_output_table[] = {
    { "name", SF_CT_STRING, NULL, OOFF(name), 0, 0, NULL, 1,
      "unique name that tenants refer to" },
    { "type", SF_CT_ENUM, NULL, OOFF(type), 0, 0, output_types, 1, "transport" },
    { "format", SF_CT_STRING, NULL, OOFF(format), 0, 0, NULL, 0,
      "a formats[] name or json; required except for email and webhook" },
    { "rules", SF_CT_NODE, NULL, OOFF(rules), 0, 0, NULL, 0,
      "send an alert only if one rule matches" },
    { "flood", SF_CT_NODE, NULL, OOFF(flood), 0, 0, NULL, 0,
      "{max, per}: past it, one digest for the rest" },
    { "queue_max_bytes", SF_CT_SIZE, "16MiB", OOFF(queue_max_bytes), 64 * KIB, 64LL * 1024 * MIB,
      NULL, 0, "memory for records waiting for this output (retried from memory); when full, "
      "fetch stops feeding it and it catches up from its cursor later" },
    { "queue_max_failing", SF_CT_DURATION, "5m", OOFF(queue_max_failing_ms), SEC, 7 * DAY,
      NULL, 0, "after failing this long, fetch stops feeding the output (its queue is still "
      "retried) and it catches up from its cursor once it delivers again" },
    { "events", SF_CT_NODE, NULL, OOFF(events), 0, 0, NULL, 0,
      "email and webhook: operational events to send besides alerts (see events keys)" },
    SF_CONF_END
};

#define EOFF(f) offsetof(struct sf_output_conf, ev.f)
const struct sf_conf_entry cfg_events_table[] = {
    { "consent", SF_CT_BOOL, "false", EOFF(consent), 0, 0, NULL, 0,
      "a tenant whose consent was revoked or never given (token or API refused)" },
    { "stale", SF_CT_DURATION, NULL, EOFF(stale_ms), SEC, 30 * DAY, NULL, 0,
      "a tenant with no successful cycle for this long" },
    { "output_failing", SF_CT_DURATION, NULL, EOFF(output_failing_ms), SEC, 30 * DAY, NULL,
      0, "an output failing (nothing delivered) for this long" },
    { "quarantine", SF_CT_BOOL, "false", EOFF(quarantine), 0, 0, NULL, 0,
      "records quarantined by an output (at most one message a minute per output)" },
    SF_CONF_END
};
#undef EOFF

void cfg_error(struct cfg_loader *ld, const struct sf_node *node, const char *path,
               const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ld->bad++;
    sf_conf_error(ld->errs, node, path, "%s", msg);
}

void cfg_bound(struct cfg_loader *ld, sf_err err)
{
    if (err == SF_ERR_NOMEM)
        ld->nomem = 1;
    else if (err)
        ld->bad++;
}

int cfg_check_name(struct cfg_loader *ld, const struct sf_node *at, const char *path,
                   const char *name)
{
    size_t ok = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789._-");
    if (*name && name[ok] == '\0' && ok <= SF_CONFIG_NAME_MAX)
        return 0;
    if (name[ok] == '\0' && *name)
        cfg_error(ld, at, path, "'%.*s...' is longer than %d characters", 16, name,
                  SF_CONFIG_NAME_MAX);
    else
        cfg_error(ld, at, path, "'%s' may only use letters, digits, '.', '_' and '-'", name);
    return -1;
}

void cfg_resolve(struct cfg_loader *ld, const struct sf_node *at, char **p)
{
    char *abs;

    if (!*p)
        return;
    abs = sf_conf_path(at, *p);
    if (!abs) {
        ld->nomem = 1;
        return;
    }
    free(*p);
    *p = abs;
}

void cfg_check_url(struct cfg_loader *ld, const struct sf_node *at, const char *path,
                   char *url)
{
    size_t n;

    if (!url)
        return;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
        cfg_error(ld, at, path, "'%s' is not an http:// or https:// URL", url);
        return;
    }
    n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
}

const struct sf_node *cfg_at(const struct sf_node *map, const char *key)
{
    const struct sf_node *node = sf_node_get(map, key);
    return node ? node : map;
}

/* HOST:PORT or [V6]:PORT with PORT 1..65535. */
static void check_listen(struct cfg_loader *ld, const struct sf_node *at, const char *s)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char *end;
    long port;

    if (!s)
        return;
    if (colon && colon > s) {
        port = strtol(colon + 1, &end, 10);
        if (colon[1] != '\0' && *end == '\0' && port >= 1 && port <= 65535)
            return;
    }
    cfg_error(ld, at, "metrics.listen", "'%s' is not HOST:PORT (e.g. 127.0.0.1:9464)", s);
}

/* A list section: NULL/null is allowed only if !required. 0: nothing to load. */
static size_t section_len(struct cfg_loader *ld, const struct sf_node *root,
                          const char *key, int required)
{
    const struct sf_node *seq = sf_node_get(root, key);

    if (sf_node_is_null(seq)) {
        if (required)
            cfg_error(ld, seq ? seq : root, key, "required key is missing");
        return 0;
    }
    if (seq->type != SF_NODE_SEQ) {
        cfg_error(ld, seq, key, "expected a list, got %s", sf_node_type_name(seq));
        return 0;
    }
    if (seq->n == 0 && required)
        cfg_error(ld, seq, key, "needs at least one entry");
    return seq->n;
}

static void check_format(struct cfg_loader *ld, const struct sf_node *node,
                         const char *path, struct sf_format_conf *f, size_t i)
{
    char kpath[64];
    const struct sf_format_conf *all = ld->cfg->formats;

    snprintf(kpath, sizeof(kpath), "%s.name", path);
    if (f->name && cfg_check_name(ld, cfg_at(node, "name"), kpath, f->name) == 0) {
        for (size_t j = 0; j < i; j++)
            if (all[j].name && strcmp(all[j].name, f->name) == 0)
                cfg_error(ld, cfg_at(node, "name"), kpath,
                          "duplicate format name '%s' (first at line %d)", f->name,
                          all[j].line);
    }
    if (!f->type_name)
        return;
    /* json renders the alert as it is; cef and leef need a field map */
    int json = strcmp(f->type_name, "json") == 0;
    snprintf(kpath, sizeof(kpath), "%s.map", path);
    if (!json && !f->map)
        cfg_error(ld, node, kpath, "required for type %s", f->type_name);
    if (json && f->map)
        cfg_error(ld, cfg_at(node, "map"), kpath, "type json takes no map");
    cfg_resolve(ld, cfg_at(node, "map"), &f->map);
}

static void load_formats(struct cfg_loader *ld, const struct sf_node *root)
{
    struct sf_config *cfg = ld->cfg;
    size_t n = section_len(ld, root, "formats", 0);
    const struct sf_node *seq = sf_node_get(root, "formats");

    if (n == 0)
        return;
    cfg->formats = calloc(n, sizeof(*cfg->formats));
    if (!cfg->formats) {
        ld->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct sf_format_conf *f = &cfg->formats[i];
        char path[32];
        snprintf(path, sizeof(path), "formats[%zu]", i);
        cfg->n_formats = i + 1;
        f->line = seq->items[i]->line;
        cfg_bound(ld, sf_conf_bind(seq->items[i], path, cfg_format_table, NULL, f,
                                   ld->errs));
        check_format(ld, seq->items[i], path, f, i);
    }
}

/* Other keys are the output type's, but a typo of `format` would only
 * surface as "missing": point at it. */
static void missing_format(struct cfg_loader *ld, const struct sf_output_conf *o,
                           const char *kpath)
{
    static const char *const want[] = { "format" };
    const struct sf_node *n = o->node;

    for (size_t k = 0; n->type == SF_NODE_MAP && k < n->n; k++) {
        if (sf_closest(n->keys[k]->str, want, 1)) {
            cfg_error(ld, n->keys[k], kpath, "required key is missing (is '%s' a typo?)",
                      n->keys[k]->str);
            return;
        }
    }
    cfg_error(ld, n, kpath, "required key is missing");
}

/* format must name a formats[] entry or the built-in json. */
static void resolve_format(struct cfg_loader *ld, struct sf_output_conf *o)
{
    struct sf_config *cfg = ld->cfg;
    const char *cand[65];
    size_t n = 0;
    char kpath[64];

    snprintf(kpath, sizeof(kpath), "%s.format", o->path);
    if (!o->format) {
        if (o->type && strcmp(o->type, "email") != 0 && strcmp(o->type, "webhook") != 0)
            missing_format(ld, o, kpath);
        return;
    }
    o->fmt = sf_config_format(cfg, o->format);
    if (o->fmt || strcmp(o->format, "json") == 0)
        return;
    for (size_t i = 0; i < cfg->n_formats && n < 64; i++)
        if (cfg->formats[i].name)
            cand[n++] = cfg->formats[i].name;
    cand[n++] = "json";
    const char *near = sf_closest(o->format, cand, n);
    if (near)
        cfg_error(ld, cfg_at(o->node, "format"), kpath,
                  "unknown format '%s' (did you mean '%s'?)", o->format, near);
    else
        cfg_error(ld, cfg_at(o->node, "format"), kpath,
                  "unknown format '%s' (define it under formats, or use json)", o->format);
}

/* outputs[i].events: only notification outputs send operational events. */
static void load_events(struct cfg_loader *ld, struct sf_output_conf *o)
{
    char kpath[64];
    if (!o->events || sf_node_is_null(o->events))
        return;
    snprintf(kpath, sizeof(kpath), "%s.events", o->path);
    if (o->type && strcmp(o->type, "email") != 0 && strcmp(o->type, "webhook") != 0) {
        cfg_error(ld, o->events, kpath, "only email and webhook outputs send operational "
                  "events (this one is %s)", o->type);
        return;
    }
    cfg_bound(ld, sf_conf_bind(o->events, kpath, cfg_events_table, NULL, o, ld->errs));
    o->ev.any = o->ev.consent || o->ev.stale_ms || o->ev.output_failing_ms ||
                o->ev.quarantine;
}

/* Binds the common keys; every other key is the output type's to check. */
static void load_output(struct cfg_loader *ld, const struct sf_node *node, size_t i)
{
    struct sf_output_conf *o = &ld->cfg->outputs[i];
    const char **ignore = NULL;
    char kpath[64];

    snprintf(o->path, sizeof(o->path), "outputs[%zu]", i);
    o->node = node;
    o->line = node->line;
    if (node->type == SF_NODE_MAP) {
        ignore = calloc(node->n + 1, sizeof(*ignore));
        if (!ignore) {
            ld->nomem = 1;
            return;
        }
        for (size_t k = 0; k < node->n; k++)
            ignore[k] = node->keys[k]->str;
    }
    cfg_bound(ld, sf_conf_bind(node, o->path, cfg_output_table, ignore, o, ld->errs));
    free(ignore);
    snprintf(kpath, sizeof(kpath), "%s.name", o->path);
    if (o->name && cfg_check_name(ld, cfg_at(node, "name"), kpath, o->name) == 0) {
        for (size_t j = 0; j < i; j++)
            if (ld->cfg->outputs[j].name && strcmp(ld->cfg->outputs[j].name, o->name) == 0)
                cfg_error(ld, cfg_at(node, "name"), kpath,
                          "duplicate output name '%s' (first at line %d)", o->name,
                          ld->cfg->outputs[j].line);
    }
    resolve_format(ld, o);
    load_events(ld, o);
}

static void load_outputs(struct cfg_loader *ld, const struct sf_node *root)
{
    struct sf_config *cfg = ld->cfg;
    size_t n = section_len(ld, root, "outputs", 1);
    const struct sf_node *seq = sf_node_get(root, "outputs");

    if (n == 0)
        return;
    cfg->outputs = calloc(n, sizeof(*cfg->outputs));
    if (!cfg->outputs) {
        ld->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n && !ld->nomem; i++) {
        cfg->n_outputs = i + 1;
        load_output(ld, seq->items[i], i);
    }
}

static void load_root(struct cfg_loader *ld)
{
    struct sf_config *cfg = ld->cfg;
    const struct sf_node *root = cfg->doc->root;
    const struct sf_node *metrics, *http;

    if (!root || root->type != SF_NODE_MAP) {
        ld->bad++;
        if (root)
            sf_conf_error(ld->errs, root, "", "expected a mapping of settings, got %s",
                          sf_node_type_name(root));
        else if (ld->errs)
            sf_buf_printf(ld->errs, "%s: the configuration is empty\n", cfg->file);
        return;
    }
    cfg_bound(ld, sf_conf_bind(root, "", cfg_root_table, root_sections, cfg, ld->errs));
    cfg_resolve(ld, cfg_at(root, "state_dir"), &cfg->state_dir);
    metrics = sf_node_get(root, "metrics");
    cfg_bound(ld, sf_conf_bind(metrics, "metrics", cfg_metrics_table, NULL, cfg, ld->errs));
    check_listen(ld, cfg_at(metrics, "listen"), cfg->metrics_listen);
    http = sf_node_get(root, "http");
    cfg_bound(ld, sf_conf_bind(http, "http", cfg_http_table, NULL, cfg, ld->errs));
    {
        struct sf_tls_bind_opts to = { .legacy_ca_file = "ca_file", .legacy_ca_add = 1,
                                       .no_server_name = 1 };
        cfg_bound(ld, sf_tls_bind(http, "http", &to, &cfg->http_tls, ld->errs));
    }
    if (ld->nomem)
        return;
    load_formats(ld, root);
    if (!ld->nomem)
        load_outputs(ld, root);
    if (!ld->nomem)
        cfg_load_all_tenants(ld, root);
    if (!ld->nomem)
        cfg_load_cluster(ld, root);
}

/* text NULL: read the file at path; else parse text, named path in errors. */
static sf_err config_load(const char *path, const char *text, size_t len,
                          struct sf_config **out, struct sf_buf *errs)
{
    struct cfg_loader ld = { .errs = errs };
    struct sf_config *cfg = calloc(1, sizeof(*cfg));
    char errbuf[1024];
    sf_err err;

    if (!cfg)
        return SF_ERR_NOMEM;
    ld.cfg = cfg;
    cfg->file = strdup(path);
    if (!cfg->file) {
        err = SF_ERR_NOMEM;
        goto out;
    }
    err = text ? sf_yaml_load_string(path, text, len, &cfg->doc, errbuf, sizeof(errbuf))
               : sf_yaml_load_file(path, &cfg->doc, errbuf, sizeof(errbuf));
    if (err) {
        if (errs)
            sf_buf_printf(errs, "%s\n", errbuf);
        goto out;
    }
    load_root(&ld);
    err = ld.nomem ? SF_ERR_NOMEM : ld.bad ? SF_ERR_CONFIG : SF_OK;
out:
    if (err) {
        sf_config_free(cfg);
        return err;
    }
    *out = cfg;
    return SF_OK;
}

sf_err sf_config_load(const char *path, struct sf_config **out, struct sf_buf *errs)
{
    return config_load(path, NULL, 0, out, errs);
}

sf_err sf_config_load_string(const char *name, const char *text, size_t len,
                             struct sf_config **out, struct sf_buf *errs)
{
    return config_load(name, text, len, out, errs);
}

void sf_config_free(struct sf_config *cfg)
{
    if (!cfg)
        return;
    cfg_free_tenants(cfg);
    cfg_free_cluster(cfg);
    sf_tls_release(&cfg->http_tls);
    for (size_t i = 0; i < cfg->n_formats; i++)
        sf_conf_release(cfg_format_table, &cfg->formats[i]);
    free(cfg->formats);
    for (size_t i = 0; i < cfg->n_outputs; i++)
        sf_conf_release(cfg_output_table, &cfg->outputs[i]);
    free(cfg->outputs);
    sf_conf_release(cfg_root_table, cfg);
    sf_conf_release(cfg_metrics_table, cfg);
    sf_conf_release(cfg_http_table, cfg);
    sf_doc_free(cfg->doc);
    free(cfg->file);
    free(cfg);
}

const struct sf_tenant_conf *sf_config_tenant(const struct sf_config *cfg,
                                              const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_tenants; i++)
        if (cfg->tenants[i].name && strcmp(cfg->tenants[i].name, name) == 0)
            return &cfg->tenants[i];
    return NULL;
}

const struct sf_output_conf *sf_config_output(const struct sf_config *cfg,
                                              const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_outputs; i++)
        if (cfg->outputs[i].name && strcmp(cfg->outputs[i].name, name) == 0)
            return &cfg->outputs[i];
    return NULL;
}

const struct sf_format_conf *sf_config_format(const struct sf_config *cfg,
                                              const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->n_formats; i++)
        if (cfg->formats[i].name && strcmp(cfg->formats[i].name, name) == 0)
            return &cfg->formats[i];
    return NULL;
}

void sf_config_doc(struct sf_buf *out)
{
    static const struct {
        const char *title;
        const struct sf_conf_entry *table;
    } sections[] = {
        { "top level", cfg_root_table },
        { "metrics", cfg_metrics_table },
        { "http", cfg_http_table },
        { "tenants[] and tenant_defaults", cfg_tenant_table },
        { "tenants[].certificate", cfg_cert_table },
        { "formats[]", cfg_format_table },
        { "outputs[] (common keys; the rest depend on type)", cfg_output_table },
        { "outputs[].events (email and webhook)", cfg_events_table },
        { "cluster", cfg_cluster_table },
    };

    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        sf_buf_printf(out, "%s%s:\n", i ? "\n" : "", sections[i].title);
        sf_conf_doc(sections[i].table, out);
    }
}
