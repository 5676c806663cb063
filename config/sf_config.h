/* sf_config.h - the whole siemfwd configuration (DESIGN.md §4) loaded from
 * YAML into typed structs: top level, http, metrics, tenants (tenant_defaults
 * merged in), formats and the common keys of outputs. Output-specific keys
 * stay as YAML nodes for each output type's own table. The sf_config owns
 * every string and the YAML document that output nodes are borrowed from. */
#ifndef SF_CONFIG_H
#define SF_CONFIG_H

#include <stddef.h>
#include "sf_buf.h"
#include "sf_conf.h"
#include "sf_err.h"
#include "sf_tls_conf.h"
#include "sf_yaml.h"

struct sf_cert_conf {
    char *cert_file;      /* absolute (resolved against the config's directory) */
    char *key_file;       /* absolute */
    char *key_password;   /* secret, NULL if the key is not encrypted */
};

/* Longest tenant / output / format name. */
#define SF_CONFIG_NAME_MAX 64

struct sf_tenant_conf {
    char *name;           /* unique, [A-Za-z0-9._-]{1,64} */
    char *tenant_id;      /* GUID, as written */
    /* Name of a source type ("graph", "mde", "siem"), as written. The
     * forwarder's source registry checks it and the source-specific keys
     * (api_base, page_size, filter) and fills in the type's defaults after
     * loading (sf_sources_apply, forwarder/sf_sources.h): config knows no
     * source. */
    char *source_name;
    char *client_id;
    char *client_secret;  /* secret; NULL when a certificate is used */
    const struct sf_node *certificate_node; /* borrowed; where cert came from */
    int has_cert;         /* exactly one of client_secret / cert is set */
    struct sf_cert_conf cert;
    char *authority;      /* no trailing '/' */
    char *api_base;       /* no trailing '/'; NULL: the source's default */
    long long start_from_ms;
    long long overlap_ms;
    long long settle_ms;
    long long page_size;  /* $top; 0: the source's default (0 if it has no paging) */
    char *filter;         /* extra OData $filter clause, or NULL */
    struct sf_strlist outputs; /* output names; every output when not given */
    int enabled;
    int line;             /* line of the tenant's entry in the config */
    const struct sf_node *node; /* the tenant's mapping, borrowed (for FILE:LINE
                           * messages of checks made after loading) */
    char path[32];        /* "tenants[i]" (or "tenant" in a tenants_dir file) */
};

struct sf_format_conf {
    char *name;
    char *type_name;      /* "cef" | "leef" | "json": a formats/ registry name
                           * (sf_format_type_find), checked against the same list */
    char *map;            /* absolute path of the field map; NULL for json */
    long long max_len;    /* record limit in bytes, 0 = the format's default */
    int line;
};

struct sf_output_conf {
    char *name;           /* unique, [A-Za-z0-9._-]{1,64} */
    char *type;           /* "syslog", "kafka", "hec", ... */
    char *format;         /* a formats[] name, "json", or NULL (email/webhook) */
    const struct sf_format_conf *fmt; /* resolved; NULL for built-in json / none */
    const struct sf_node *rules;  /* borrowed from the document, NULL if absent */
    const struct sf_node *flood;  /* borrowed, NULL if absent */
    long long queue_max_bytes;    /* budget of the output's in-memory queue */
    long long queue_max_failing_ms; /* stop feeding an output failing this long */
    const struct sf_node *events; /* borrowed, NULL if absent */
    struct sf_events_conf {       /* operational events (email, webhook) */
        int consent;              /* consent revoked or never given */
        long long stale_ms;       /* no successful cycle for this long; 0 = off */
        long long output_failing_ms; /* an output failing this long; 0 = off */
        int quarantine;           /* records quarantined */
        int any;                  /* one of them is on */
    } ev;
    const struct sf_node *node;   /* the whole output mapping, borrowed: the
                                     output type binds its own keys from it */
    char path[32];        /* "outputs[i]", for the type's error messages */
    int line;
};

/* `cluster:` (DESIGN section 8). Absent: cluster.enabled == 0 and siemfwd
 * runs alone with cursors in SQLite. */
struct sf_cluster_conf {
    int enabled;
    char *brokers;        /* "host:port,host:port" (required) */
    char *group;          /* consumer group id, default "siemfwd" */
    char *tenants_topic;  /* default "siemfwd.tenants" */
    char *cursors_topic;  /* default "siemfwd.cursors" */
    int partitions;       /* P, default 128, 1..10000; fixed at topic creation */
    char *instance_id;    /* owner id in cursor records; default "<hostname>-<pid>" */
    char **prop_keys;     /* `properties:` passed to librdkafka (consumer and */
    char **prop_vals;     /* producer), in file order; owned */
    size_t n_props;
};

struct sf_config {
    char *file;           /* path given to sf_config_load */
    char *state_dir;      /* absolute */
    long long poll_interval_ms;
    char *log_level;      /* error | warn | info | debug */
    char *log_format;     /* logfmt | json */
    char *organization;   /* for the partner User-Agent; NULL if not set */
    long long shutdown_timeout_ms; /* drain bound at stop/reload, and per delivery round */
    char *state_sync;     /* "normal" | "full" (SQLite synchronous) */
    char *metrics_listen; /* HOST:PORT, NULL = no metrics endpoint */
    long long http_timeout_ms;
    long long http_max_parallel;
    struct sf_tls_conf http_tls;  /* owned: http.tls (and the deprecated http.ca_file) */
    const struct sf_node *http_tls_node;       /* borrowed from doc, for the dump */
    const struct sf_node *http_legacy_ca_file; /* borrowed from doc, for the dump */
    long long http_max_response;  /* bytes */
    long long http_max_retry_after_ms; /* cap on a server's Retry-After */
    char *tenants_dir;    /* absolute, or NULL: directory of *.yaml tenant files */
    struct sf_tenant_conf *tenants; /* the tenants: list, then tenants_dir files */
    size_t n_tenants;
    struct sf_doc **tenants_docs; /* owned: the tenants_dir files, which tenant
                                     nodes (certificate) point into */
    size_t n_tenants_docs;
    struct sf_format_conf *formats;
    size_t n_formats;
    struct sf_output_conf *outputs;
    size_t n_outputs;
    struct sf_doc *doc;   /* owned: output nodes point into it */
    struct sf_cluster_conf cluster;
};

/* Keys every output has, handled by the loader; an output type passes this
 * as `ignore` to sf_conf_bind so only its own keys are left to it. */
extern const char *const sf_output_common_keys[];

/* Load and validate path. Every problem is appended to errs (may be NULL)
 * as one line "FILE:LINE: key.path: message". Returns SF_OK and *out (caller frees with
 * sf_config_free), or an error with *out untouched: SF_ERR_IO (unreadable),
 * SF_ERR_PARSE (YAML syntax), SF_ERR_CONFIG (invalid), SF_ERR_NOMEM. */
sf_err sf_config_load(const char *path, struct sf_config **out, struct sf_buf *errs);
/* The same from a buffer (fuzzing, tests); name stands for the file in
 * messages and relative paths resolve against its directory. */
sf_err sf_config_load_string(const char *name, const char *text, size_t len,
                             struct sf_config **out, struct sf_buf *errs);
void sf_config_free(struct sf_config *cfg);

/* Lookups by name (borrowed from cfg), NULL if absent. */
const struct sf_tenant_conf *sf_config_tenant(const struct sf_config *cfg,
                                              const char *name);
const struct sf_output_conf *sf_config_output(const struct sf_config *cfg,
                                              const char *name);
const struct sf_format_conf *sf_config_format(const struct sf_config *cfg,
                                              const char *name);

/* The effective configuration (defaults applied, tenant_defaults merged) as
 * YAML, secrets written as "***"; output-specific keys are copied from the
 * file with keys that look secret (password, secret, token) masked. */
void sf_config_dump(const struct sf_config *cfg, struct sf_buf *out);

/* Reference docs of every table the loader owns (for `--help`-style output). */
void sf_config_doc(struct sf_buf *out);

#endif
