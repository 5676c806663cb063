/* config_dump.c - prints the effective configuration (defaults applied,
 * tenant_defaults merged, paths resolved) as YAML, driven by the same tables
 * that loaded it. Secrets are written as "***", never their value; keys of
 * output types that look secret (password, secret, token) and a webhook's
 * url are masked too. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_priv.h"

#define MASK "\"***\""

static int plain_ok(const char *s)
{
    static const char *const nulls[] = { "null", "Null", "NULL", "~" };

    if (!*s || strchr("-:@", *s))
        return 0;
    for (size_t i = 0; i < 4; i++)
        if (strcmp(s, nulls[i]) == 0)
            return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./@+=:-", *p))
            return 0;
    return s[strlen(s) - 1] != ':';
}

static void put_str(struct sf_buf *out, const char *s)
{
    if (plain_ok(s)) {
        sf_buf_adds(out, s);
        return;
    }
    sf_buf_addc(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sf_buf_printf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            sf_buf_printf(out, "\\x%02x", *p);
        else
            sf_buf_addc(out, (char)*p);
    }
    sf_buf_addc(out, '"');
}

static int secret_key(const char *key)
{
    /* "headers": webhook headers carry Authorization / API keys */
    static const char *const words[] = { "password", "secret", "token", "passphrase",
                                         "authorization", "headers", "api_key", "apikey" };

    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasestr(key, words[i]))
            return 1;
    return 0;
}

/* A YAML node in flow style; masked: every scalar below is written "***". */
static void put_node(struct sf_buf *out, const struct sf_node *n, int masked)
{
    switch (n->type) {
    case SF_NODE_SCALAR:
        if (masked)
            sf_buf_adds(out, MASK);
        else if (sf_node_is_null(n))
            sf_buf_adds(out, "null");
        else
            put_str(out, n->str);
        return;
    case SF_NODE_SEQ:
        sf_buf_addc(out, '[');
        for (size_t i = 0; i < n->n; i++) {
            sf_buf_adds(out, i ? ", " : "");
            put_node(out, n->items[i], masked);
        }
        sf_buf_addc(out, ']');
        return;
    case SF_NODE_MAP:
        sf_buf_addc(out, '{');
        for (size_t i = 0; i < n->n; i++) {
            sf_buf_adds(out, i ? ", " : "");
            put_str(out, n->keys[i]->str);
            sf_buf_adds(out, ": ");
            put_node(out, n->items[i], masked || secret_key(n->keys[i]->str));
        }
        sf_buf_addc(out, '}');
        return;
    }
}

/* Writes "key: value" for one bound field; 0 if there was nothing to write
 * (unset optional values are left out, as in a file that omits them). */
static int put_field(struct sf_buf *out, const struct sf_conf_entry *e, const void *src)
{
    const char *f = (const char *)src + e->offset;
    const char *s = NULL;
    long long v = 0;
    char tmp[32];

    if (e->type == SF_CT_STRING || e->type == SF_CT_SECRET || e->type == SF_CT_ENUM)
        s = *(char *const *)f;
    if (e->type == SF_CT_INT || e->type == SF_CT_DURATION || e->type == SF_CT_SIZE)
        v = *(const long long *)f;

    if ((e->type == SF_CT_STRING || e->type == SF_CT_SECRET || e->type == SF_CT_ENUM) && !s)
        return 0;
    if ((e->type == SF_CT_INT || e->type == SF_CT_DURATION || e->type == SF_CT_SIZE) &&
        v == 0 && !e->def)
        return 0;
    if (e->type == SF_CT_NODE && !*(const struct sf_node *const *)f)
        return 0;
    sf_buf_printf(out, "%s: ", e->key);
    switch (e->type) {
    case SF_CT_STRING:
    case SF_CT_ENUM:
        put_str(out, s);
        break;
    case SF_CT_SECRET:
        sf_buf_adds(out, MASK);
        break;
    case SF_CT_INT:
        sf_buf_printf(out, "%lld", v);
        break;
    case SF_CT_DURATION:
        sf_format_duration(v, tmp, sizeof(tmp));
        sf_buf_adds(out, tmp);
        break;
    case SF_CT_SIZE:
        sf_format_size(v, tmp, sizeof(tmp));
        sf_buf_adds(out, tmp);
        break;
    case SF_CT_BOOL:
        sf_buf_adds(out, *(const int *)f ? "true" : "false");
        break;
    case SF_CT_STRLIST: {
        const struct sf_strlist *l = (const struct sf_strlist *)f;
        sf_buf_addc(out, '[');
        for (size_t i = 0; i < l->n; i++) {
            sf_buf_adds(out, i ? ", " : "");
            put_str(out, l->v[i]);
        }
        sf_buf_addc(out, ']');
        break;
    }
    case SF_CT_NODE:
        put_node(out, *(const struct sf_node *const *)f, 0);
        break;
    }
    sf_buf_addc(out, '\n');
    return 1;
}

/* Every field of src, each line starting with indent; the first line of a
 * list item starts with item instead. */
static void put_table(struct sf_buf *out, const struct sf_conf_entry *table,
                      const void *src, const char *indent, const char *item,
                      const char *skip)
{
    int first = 1;

    for (size_t i = 0; table[i].key; i++) {
        if (skip && strcmp(table[i].key, skip) == 0)
            continue;
        size_t mark = out->len;
        sf_buf_adds(out, first && item ? item : indent);
        if (put_field(out, &table[i], src))
            first = 0;
        else
            sf_buf_truncate(out, mark);
    }
}

static void put_tenants(struct sf_buf *out, const struct sf_config *cfg)
{
    sf_buf_adds(out, "tenants:\n");
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        const struct sf_tenant_conf *t = &cfg->tenants[i];
        put_table(out, cfg_tenant_table, t, "    ", "  - ", "certificate");
        if (t->has_cert) {
            sf_buf_adds(out, "    certificate:\n");
            put_table(out, cfg_cert_table, &t->cert, "      ", NULL, NULL);
        }
    }
}

static void put_outputs(struct sf_buf *out, const struct sf_config *cfg)
{
    sf_buf_adds(out, "outputs:\n");
    for (size_t i = 0; i < cfg->n_outputs; i++) {
        const struct sf_output_conf *o = &cfg->outputs[i];
        const struct sf_node *n = o->node;
        put_table(out, cfg_output_table, o, "    ", "  - ", NULL);
        for (size_t k = 0; n && n->type == SF_NODE_MAP && k < n->n; k++) {
            const char *key = n->keys[k]->str;
            int common = 0;
            for (size_t c = 0; sf_output_common_keys[c]; c++)
                common |= strcmp(key, sf_output_common_keys[c]) == 0;
            if (common)
                continue;
            sf_buf_adds(out, "    ");
            put_str(out, key);
            sf_buf_adds(out, ": ");
            /* a webhook URL carries the token in its path (Slack, Teams) */
            put_node(out, n->items[k], secret_key(key) ||
                     (strcmp(o->type, "webhook") == 0 && strcmp(key, "url") == 0));
            sf_buf_addc(out, '\n');
        }
    }
}

/* cluster: brokers as one list; properties as written in the file (never
 * an expanded ${ENV} or file: value), masked where they look secret
 * (sasl.password, ssl.key.password, ssl.key.pem). */
static void put_cluster(struct sf_buf *out, const struct sf_config *cfg)
{
    const struct sf_cluster_conf *c = &cfg->cluster;
    const struct sf_node *props;
    struct cfg_cluster_bind b;

    if (!c->enabled)
        return;
    sf_buf_adds(out, "cluster:\n  brokers: ");
    put_str(out, c->brokers ? c->brokers : "");
    sf_buf_addc(out, '\n');
    cfg_cluster_view(cfg, &b);
    put_table(out, cfg_cluster_table, &b, "  ", NULL, "brokers");
    props = sf_node_get(sf_node_get(cfg->doc ? cfg->doc->root : NULL, "cluster"),
                        "properties");
    if (!props || props->type != SF_NODE_MAP || !props->n)
        return;
    sf_buf_adds(out, "  properties:\n");
    for (size_t i = 0; i < props->n; i++) {
        const char *key = props->keys[i]->str;
        sf_buf_adds(out, "    ");
        put_str(out, key);
        sf_buf_adds(out, ": ");
        put_node(out, props->items[i], secret_key(key) || strstr(key, "key.pem") ||
                                           strstr(key, "oauthbearer.config"));
        sf_buf_addc(out, '\n');
    }
}

void sf_config_dump(const struct sf_config *cfg, struct sf_buf *out)
{
    put_table(out, cfg_root_table, cfg, "", NULL, NULL);
    if (cfg->metrics_listen) {
        sf_buf_adds(out, "metrics:\n");
        put_table(out, cfg_metrics_table, cfg, "  ", NULL, NULL);
    }
    sf_buf_adds(out, "http:\n");
    put_table(out, cfg_http_table, cfg, "  ", NULL, NULL);
    put_tenants(out, cfg);
    if (cfg->n_formats) {
        sf_buf_adds(out, "formats:\n");
        for (size_t i = 0; i < cfg->n_formats; i++)
            put_table(out, cfg_format_table, &cfg->formats[i], "    ", "  - ", NULL);
    }
    put_outputs(out, cfg);
    put_cluster(out, cfg);
}
