/* config_cluster.c - the `cluster:` section (DESIGN.md section 8) into
 * cfg->cluster: brokers, group, topics, P, instance id and the librdkafka
 * properties, checked and defaulted through cfg_cluster_table. Absent
 * section: cluster.enabled stays 0 and nothing else changes. librdkafka
 * itself checks the property names when the cluster starts (this layer does
 * not link it). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_priv.h"

#define KOFF(f) offsetof(struct cfg_cluster_bind, f)

/* Properties siemfwd sets from the keys above or needs as they are. */
static const struct {
    const char *prop, *why;
} cluster_owned[] = {
    { "bootstrap.servers", "set by cluster.brokers" },
    { "metadata.broker.list", "set by cluster.brokers" },
    { "group.id", "set by cluster.group" },
    { "enable.auto.commit", "siemfwd keeps no consumer offsets (the tenants topic is "
                            "only used for its assignment)" },
    { "enable.idempotence", "the cursors producer is always idempotent" },
    { "acks", "cursor records count as written only with acks=all" },
    { "request.required.acks", "cursor records count as written only with acks=all" },
};

const struct sf_conf_entry cfg_cluster_table[] = {
    { "brokers", SF_CT_STRLIST, NULL, KOFF(brokers), 0, 0, NULL, 1,
      "Kafka bootstrap brokers, HOST:PORT (a list or \"a:9092, b:9092\")" },
    { "group", SF_CT_STRING, "siemfwd", KOFF(group), 0, 0, NULL, 0,
      "consumer group every instance of this cluster joins" },
    { "tenants_topic", SF_CT_STRING, "siemfwd.tenants", KOFF(tenants_topic), 0, 0, NULL, 0,
      "topic whose partitions are assigned to instances (messages unused; created if "
      "absent)" },
    { "cursors_topic", SF_CT_STRING, "siemfwd.cursors", KOFF(cursors_topic), 0, 0, NULL, 0,
      "compacted topic holding the cursors, key tenant/output (created if absent)" },
    { "partitions", SF_CT_INT, "128", KOFF(partitions), 1, 10000, NULL, 0,
      "P: partitions of both topics, fixed when they are created; tenant -> partition = "
      "FNV-1a(lower-case tenant_id) mod P" },
    { "instance_id", SF_CT_STRING, NULL, KOFF(instance_id), 0, 0, NULL, 0,
      "this instance's name in cursor records, logs and siemfwd state (default "
      "HOSTNAME-PID)" },
    { "properties", SF_CT_NODE, NULL, KOFF(properties), 0, 0, NULL, 0,
      "librdkafka properties (mapping) for the consumer and the cursors producer, e.g. "
      "security.protocol, session.timeout.ms" },
    SF_CONF_END
};

/* 1..249 of a-z A-Z 0-9 . _ - (Kafka's rule). */
static void check_topic(struct cfg_loader *ld, const struct sf_node *sec, const char *key,
                        const char *topic)
{
    char kpath[64];
    size_t n;

    if (!topic)
        return;
    n = strlen(topic);
    snprintf(kpath, sizeof(kpath), "cluster.%s", key);
    if (n == 0 || n > 249 || topic[strspn(topic, "abcdefghijklmnopqrstuvwxyz"
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")] ||
        strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0)
        cfg_error(ld, cfg_at(sec, key), kpath,
                  "'%s' is not a valid topic name (1..249 of a-z A-Z 0-9 . _ -)", topic);
}

/* Every entry HOST:PORT with PORT 1..65535; joined with ',' into *out. */
static void join_brokers(struct cfg_loader *ld, const struct sf_node *sec,
                         const struct sf_strlist *l, char **out)
{
    size_t len = 1;

    for (size_t i = 0; i < l->n; i++) {
        const char *b = l->v[i], *colon = strrchr(b, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == b || colon[1] == '\0' || *end || port < 1 || port > 65535)
            cfg_error(ld, cfg_at(sec, "brokers"), "cluster.brokers",
                      "'%s' is not HOST:PORT (e.g. kafka1:9092)", b);
        len += strlen(b) + 1;
    }
    if (l->n == 0 && sf_node_get(sec, "brokers"))
        cfg_error(ld, cfg_at(sec, "brokers"), "cluster.brokers", "needs at least one broker");
    if (!(*out = calloc(1, len))) {
        ld->nomem = 1;
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            strcat(*out, ",");
        strcat(*out, l->v[i]);
    }
}

/* A property whose value is a secret: read as one (file:/path allowed,
 * registered with the redactor). Others stay plain text, so that a value
 * like session.timeout.ms: 3000 is not masked wherever "3000" is logged. */
static int secret_property(const char *key)
{
    static const char *const words[] = { "password", "secret", "token", "oauthbearer",
                                         "key.pem", "keystore", "sasl.jaas" };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(key, words[i]))
            return 1;
    return 0;
}

/* properties: a mapping of scalars; values may use ${ENV}, secret ones
 * (sasl.password) also file:/path. */
static void load_properties(struct cfg_loader *ld, const struct sf_node *props,
                            struct sf_cluster_conf *c)
{
    struct sf_conf_entry *ptab;
    char kpath[320];

    if (!props || sf_node_is_null(props))
        return;
    if (props->type != SF_NODE_MAP) {
        cfg_error(ld, props, "cluster.properties",
                  "must be a mapping of librdkafka properties, not %s",
                  sf_node_type_name(props));
        return;
    }
    ptab = calloc(props->n + 1, sizeof(*ptab));
    c->prop_keys = calloc(props->n + 1, sizeof(char *));
    c->prop_vals = calloc(props->n + 1, sizeof(char *));
    if (!ptab || !c->prop_keys || !c->prop_vals) {
        free(ptab);
        ld->nomem = 1;
        return;
    }
    for (size_t i = 0; i < props->n; i++) {
        ptab[i].key = props->keys[i]->str;
        ptab[i].type = secret_property(props->keys[i]->str) ? SF_CT_SECRET : SF_CT_STRING;
        ptab[i].offset = i * sizeof(char *);
    }
    cfg_bound(ld, sf_conf_bind(props, "cluster.properties", ptab, NULL, c->prop_vals,
                               ld->errs));
    free(ptab);
    c->n_props = props->n;
    for (size_t i = 0; i < props->n; i++) {
        const char *key = props->keys[i]->str;
        snprintf(kpath, sizeof(kpath), "cluster.properties.%s", key);
        if (!(c->prop_keys[i] = strdup(key))) {
            ld->nomem = 1;
            return;
        }
        if (!c->prop_vals[i] && sf_node_is_null(props->items[i]))
            cfg_error(ld, props->keys[i], kpath, "needs a value");
        for (size_t k = 0; k < sizeof(cluster_owned) / sizeof(cluster_owned[0]); k++)
            if (strcmp(key, cluster_owned[k].prop) == 0)
                cfg_error(ld, props->keys[i], kpath, "may not be set here: %s",
                          cluster_owned[k].why);
    }
}

static char *default_instance_id(void)
{
    char host[256] = "";
    char buf[300];

    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "siemfwd");
    host[strcspn(host, ".")] = '\0'; /* short name; keeps it within the name rules */
    snprintf(buf, sizeof(buf), "%.48s-%ld", host, (long)getpid());
    return strdup(buf);
}

void cfg_load_cluster(struct cfg_loader *ld, const struct sf_node *root)
{
    const struct sf_node *sec = sf_node_get(root, "cluster");
    struct sf_cluster_conf *c = &ld->cfg->cluster;
    struct cfg_cluster_bind b;
    const struct sf_node *props;

    if (!sec)
        return;
    c->enabled = 1;
    memset(&b, 0, sizeof(b));
    cfg_bound(ld, sf_conf_bind(sec, "cluster", cfg_cluster_table, NULL, &b, ld->errs));
    c->group = b.group;
    c->tenants_topic = b.tenants_topic;
    c->cursors_topic = b.cursors_topic;
    c->instance_id = b.instance_id;
    c->partitions = (int)b.partitions;
    b.group = b.tenants_topic = b.cursors_topic = b.instance_id = NULL;
    props = b.properties;
    if (sec->type == SF_NODE_MAP || sf_node_is_null(sec))
        join_brokers(ld, sec, &b.brokers, &c->brokers);
    sf_conf_release(cfg_cluster_table, &b);
    if (ld->nomem)
        return;
    if (c->group && !*c->group)
        cfg_error(ld, cfg_at(sec, "group"), "cluster.group", "may not be empty");
    check_topic(ld, sec, "tenants_topic", c->tenants_topic);
    check_topic(ld, sec, "cursors_topic", c->cursors_topic);
    if (c->tenants_topic && c->cursors_topic && strcmp(c->tenants_topic, c->cursors_topic) == 0)
        cfg_error(ld, cfg_at(sec, "cursors_topic"), "cluster.cursors_topic",
                  "must differ from cluster.tenants_topic ('%s')", c->tenants_topic);
    if (c->instance_id)
        cfg_check_name(ld, cfg_at(sec, "instance_id"), "cluster.instance_id", c->instance_id);
    else if (!(c->instance_id = default_instance_id()))
        ld->nomem = 1;
    if (sec->type == SF_NODE_MAP)
        load_properties(ld, props, c);
}

void cfg_free_cluster(struct sf_config *cfg)
{
    struct sf_cluster_conf *c = &cfg->cluster;

    for (size_t i = 0; i < c->n_props; i++) {
        free(c->prop_keys[i]);
        if (c->prop_vals[i]) /* secrets may be in it: wipe before freeing */
            memset(c->prop_vals[i], 0, strlen(c->prop_vals[i]));
        free(c->prop_vals[i]);
    }
    free(c->prop_keys);
    free(c->prop_vals);
    free(c->brokers);
    free(c->group);
    free(c->tenants_topic);
    free(c->cursors_topic);
    free(c->instance_id);
    memset(c, 0, sizeof(*c));
}

void cfg_cluster_view(const struct sf_config *cfg, struct cfg_cluster_bind *b)
{
    const struct sf_cluster_conf *c = &cfg->cluster;

    memset(b, 0, sizeof(*b));
    b->group = c->group;
    b->tenants_topic = c->tenants_topic;
    b->cursors_topic = c->cursors_topic;
    b->partitions = c->partitions;
    b->instance_id = c->instance_id;
}
