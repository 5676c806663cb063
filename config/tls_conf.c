/* tls_conf.c - the one `tls:` table and its binder: same keys, same meaning
 * on every TLS-speaking output and on http:, deprecated bare keys mapped in
 * with a FILE:LINE warning, and the one "verification is OFF" warning.
 * Applying the result (OpenSSL, libcurl) is the transports' business. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_log.h"
#include "sf_tls_conf.h"

#define T(f) offsetof(struct sf_tls_conf, f)
const struct sf_conf_entry sf_tls_table[] = {
    { "ca_file", SF_CT_STRING, NULL, T(ca_file), 0, 0, NULL, 0,
      "PEM CAs trusted instead of the system store (relative to this file); "
      "default: the system store" },
    { "cert_file", SF_CT_STRING, NULL, T(cert_file), 0, 0, NULL, 0,
      "client certificate chain (PEM) for mutual TLS; needs key_file" },
    { "key_file", SF_CT_STRING, NULL, T(key_file), 0, 0, NULL, 0,
      "private key of cert_file (PEM)" },
    { "server_name", SF_CT_STRING, NULL, T(server_name), 0, 0, NULL, 0,
      "name sent as SNI and verified in the certificate (default: the host "
      "of the address or URL)" },
    { "verify", SF_CT_BOOL, "true", T(verify), 0, 0, NULL, 0,
      "verify the peer's chain and name; false only with good reason (warned)" },
    SF_CONF_END
};
#undef T

static const struct sf_conf_entry legacy_table[] = {
    { "ca_file", SF_CT_STRING, NULL, 0, 0, 0, NULL, 0, "deprecated" },
    SF_CONF_END
};

/* The key node of key in map, or NULL. */
static struct sf_node *key_node(const struct sf_node *map, const char *key)
{
    if (!map || map->type != SF_NODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (map->keys[i]->str && strcmp(map->keys[i]->str, key) == 0)
            return map->keys[i];
    return NULL;
}

/* Bind parent's deprecated bare key (a CA file) into t->ca_file, with the
 * warning that names where it is and how to write it now. */
static sf_err bind_legacy(const struct sf_node *parent, const char *path,
                          const struct sf_tls_bind_opts *opts, const struct sf_node *tls,
                          struct sf_tls_conf *t, struct sf_buf *errs)
{
    const char *key = opts->legacy_ca_file;
    struct sf_node *k = key_node(parent, key);
    struct sf_node *v = (struct sf_node *)sf_node_get(parent, key);
    struct sf_node one = { .type = SF_NODE_MAP, .file = parent ? parent->file : NULL,
                           .line = k ? k->line : 0, .n = 1, .keys = &k, .items = &v };
    char *val = NULL;
    sf_err err;

    if (!k || !v || sf_node_is_null(v))
        return SF_OK;
    err = sf_conf_bind(&one, path, legacy_table, NULL, &val, errs);
    if (err)
        return err;
    if (sf_node_get(tls, "ca_file")) {
        char kp[300];
        snprintf(kp, sizeof(kp), "%s%s%s", path, *path ? "." : "", key);
        sf_conf_error(errs, k, kp, "%s and tls.ca_file both given; keep tls.ca_file "
                      "(%s is its deprecated spelling)", key, key);
        free(val);
        return SF_ERR_CONFIG;
    }
    if (opts->legacy_ca_add)
        sf_warn(NULL, opts->who, "%s:%d: %s%s%s is deprecated: it adds its CAs to the "
                "system store, which it keeps doing; tls.ca_file trusts only the CAs "
                "it names (write a bundle with both if you need both)",
                k->file ? k->file : "-", k->line, path, *path ? "." : "", key);
    else
        sf_warn(NULL, opts->who, "%s:%d: %s%s%s is deprecated: write it as tls: "
                "{ca_file: ...} (same meaning: these CAs instead of the system store)",
                k->file ? k->file : "-", k->line, path, *path ? "." : "", key);
    t->ca_file = val;
    val = NULL; /* handed to t */
    t->ca_add = opts->legacy_ca_add;
    t->verify = 1;
    return SF_OK;
}

/* Make a file name absolute against the file that said it. */
static sf_err resolve(const struct sf_node *at, char **file)
{
    char *abs;

    if (!*file)
        return SF_OK;
    abs = sf_conf_path(at, *file);
    if (!abs)
        return SF_ERR_NOMEM;
    free(*file);
    *file = abs;
    return SF_OK;
}

static sf_err resolve_all(const struct sf_node *parent, const struct sf_node *tls,
                          const struct sf_tls_bind_opts *opts, struct sf_tls_conf *t)
{
    const struct sf_node *ca = sf_node_get(tls, "ca_file");
    sf_err err;

    if (!ca && opts->legacy_ca_file)
        ca = sf_node_get(parent, opts->legacy_ca_file);
    err = resolve(ca, &t->ca_file);
    if (!err)
        err = resolve(sf_node_get(tls, "cert_file"), &t->cert_file);
    if (!err)
        err = resolve(sf_node_get(tls, "key_file"), &t->key_file);
    return err;
}

sf_err sf_tls_bind(const struct sf_node *parent, const char *path,
                   const struct sf_tls_bind_opts *opts, struct sf_tls_conf *t,
                   struct sf_buf *errs)
{
    static const struct sf_tls_bind_opts none = { 0 };
    const struct sf_node *tls = sf_node_get(parent, "tls");
    const struct sf_node *v;
    char kp[256];
    sf_err err;

    opts = opts ? opts : &none;
    path = path ? path : "";
    snprintf(kp, sizeof(kp), "%s%stls", path, *path ? "." : "");
    if (tls && sf_node_is_null(tls))
        tls = NULL;
    err = sf_conf_bind(tls, kp, sf_tls_table, opts->extra, t, errs);
    if (!err && opts->legacy_ca_file)
        err = bind_legacy(parent, path, opts, tls, t, errs);
    if (!err)
        err = resolve_all(parent, tls, opts, t);
    if (!err && !t->cert_file != !t->key_file) {
        char mp[300];
        snprintf(mp, sizeof(mp), "%s.%s", kp, t->cert_file ? "key_file" : "cert_file");
        sf_conf_error(errs, tls ? tls : parent, mp, "cert_file and key_file must be given "
                      "together");
        err = SF_ERR_CONFIG;
    }
    if (!err && opts->no_server_name && t->server_name) {
        char sp[300];
        snprintf(sp, sizeof(sp), "%s.server_name", kp);
        sf_conf_error(errs, sf_node_get(tls, "server_name"), sp, "server_name is not "
                      "supported here: this peer's client (libcurl, librdkafka) sends and "
                      "verifies the host it connects to; put that name in the URL or "
                      "brokers list");
        err = SF_ERR_CONFIG;
    }
    v = sf_node_get(tls, "verify");
    if (!err && !t->verify && !opts->quiet)
        sf_warn(NULL, opts->who, "TLS certificate verification is OFF (%s:%d): anyone on "
                "the path can read and forge what %s", v && v->file ? v->file : "-",
                v ? v->line : 0, opts->who ? "this output sends" : "the API calls carry");
    return err;
}

static int dup_or_null(char **dst, const char *src)
{
    *dst = src ? strdup(src) : NULL;
    return !src || *dst;
}

sf_err sf_tls_copy(struct sf_tls_conf *dst, const struct sf_tls_conf *src)
{
    dst->verify = src ? src->verify : 1;
    dst->ca_add = src ? src->ca_add : 0;
    if (!src)
        return SF_OK;
    if (dup_or_null(&dst->ca_file, src->ca_file) && dup_or_null(&dst->cert_file, src->cert_file)
        && dup_or_null(&dst->key_file, src->key_file)
        && dup_or_null(&dst->server_name, src->server_name))
        return SF_OK;
    sf_tls_release(dst);
    return SF_ERR_NOMEM;
}

void sf_tls_release(struct sf_tls_conf *t)
{
    if (!t)
        return;
    sf_conf_release(sf_tls_table, t);
    memset(t, 0, sizeof(*t));
}
