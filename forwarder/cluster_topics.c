/* cluster_topics.c - the cluster's Kafka handles and topics: the group
 * consumer's settings (roundrobin, no offsets, cluster.properties on top,
 * librdkafka's own words for a bad property), the brokers check at start
 * (unreachable: named, never a silent single mode), and the tenants and
 * cursors topics: created with P partitions if absent (the cursors topic
 * compacted), refused when they exist with another partition count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"
#include "sf_log.h"

#define METADATA_TIMEOUT_MS 10000
#define CREATE_TIMEOUT_MS 15000

void sf_cluster_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* CONFWARN: a consumer property on the drift producer, or the reverse */
    if (level <= 3 && strcmp(fac, "FAIL") != 0) /* FAIL: one connect, retried */
        sf_error(NULL, NULL, "cluster: kafka %s: %s", fac, buf);
    else if (level <= 4 && strcmp(fac, "CONFWARN") != 0)
        sf_warn(NULL, NULL, "cluster: kafka %s: %s", fac, buf);
    else
        sf_debug(NULL, NULL, "cluster: kafka %s: %s", fac, buf);
}

static int set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errbuf,
               size_t errlen)
{
    char why[512];
    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
        return 0;
    snprintf(errbuf, errlen, "cluster: %s=%s: %s", name, value, why);
    return -1;
}

/* cluster.properties onto conf, each error as FILE:LINE: cluster.properties.KEY. */
static int set_properties(const struct sf_cluster *c, rd_kafka_conf_t *conf, char *errbuf,
                          size_t errlen)
{
    const struct sf_cluster_conf *cc = &c->cfg->cluster;
    const struct sf_node *props =
        sf_node_get(sf_node_get(c->cfg->doc ? c->cfg->doc->root : NULL, "cluster"),
                    "properties");
    char why[512];

    for (size_t i = 0; i < cc->n_props; i++) {
        if (!cc->prop_keys[i] || !cc->prop_vals[i])
            continue;
        if (rd_kafka_conf_set(conf, cc->prop_keys[i], cc->prop_vals[i], why, sizeof(why)) ==
            RD_KAFKA_CONF_OK)
            continue;
        const struct sf_node *at = props && props->type == SF_NODE_MAP && i < props->n
                                       ? props->keys[i] : NULL;
        snprintf(errbuf, errlen, "%s:%d: cluster.properties.%s: %s",
                 at ? at->file : c->cfg->file, at ? at->line : 0, cc->prop_keys[i], why);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *sf_cluster_conf_new(const struct sf_cluster *c, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char client[128];

    if (!conf) {
        snprintf(errbuf, errlen, "cluster: out of memory");
        return NULL;
    }
    snprintf(client, sizeof(client), "siemfwd-%s", c->cfg->cluster.instance_id);
    rd_kafka_conf_set_log_cb(conf, sf_cluster_log_cb);
    if (set(conf, "bootstrap.servers", c->cfg->cluster.brokers, errbuf, errlen) ||
        set(conf, "client.id", client, errbuf, errlen) ||
        set(conf, "socket.keepalive.enable", "true", errbuf, errlen) ||
        set_properties(c, conf, errbuf, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

static int64_t conf_ms(rd_kafka_conf_t *conf, const char *name, int64_t def)
{
    char buf[64];
    size_t n = sizeof(buf);
    if (rd_kafka_conf_get(conf, name, buf, &n) != RD_KAFKA_CONF_OK)
        return def;
    return strtoll(buf, NULL, 10);
}

sf_err sf_cluster_consumer(struct sf_cluster *c,
                           void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                rd_kafka_topic_partition_list_t *, void *),
                           char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const struct sf_cluster_conf *cc = &c->cfg->cluster;
    char client[128], why[512];

    if (!conf)
        return SF_ERR_NOMEM;
    snprintf(client, sizeof(client), "siemfwd-%s", cc->instance_id);
    /* ours first; cluster.properties may then change the assignor and the
     * timeouts (the config loader refused the ones that must stay) */
    if (set(conf, "bootstrap.servers", cc->brokers, errbuf, errlen) ||
        set(conf, "group.id", cc->group, errbuf, errlen) ||
        set(conf, "client.id", client, errbuf, errlen) ||
        set(conf, "enable.auto.commit", "false", errbuf, errlen) ||
        set(conf, "enable.auto.offset.store", "false", errbuf, errlen) ||
        set(conf, "auto.offset.reset", "latest", errbuf, errlen) ||
        set(conf, "enable.partition.eof", "false", errbuf, errlen) ||
        set(conf, "socket.keepalive.enable", "true", errbuf, errlen) ||
        set(conf, "partition.assignment.strategy", "roundrobin", errbuf, errlen) ||
        set_properties(c, conf, errbuf, errlen)) {
        rd_kafka_conf_destroy(conf);
        return SF_ERR_CONFIG;
    }
    c->heartbeat_ms = conf_ms(conf, "heartbeat.interval.ms", 3000);
    c->session_ms = conf_ms(conf, "session.timeout.ms", 45000);
    c->alive_ms = 2 * c->heartbeat_ms;
    c->load_timeout_ms = c->session_ms > 10000 ? (long)c->session_ms : 10000;
    rd_kafka_conf_set_log_cb(conf, sf_cluster_log_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof(why));
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(errbuf, errlen, "cluster: cannot create the consumer: %s", why);
        return SF_ERR_CONFIG;
    }
    rd_kafka_poll_set_consumer(c->rk);
    return SF_OK;
}

/* Partition count of topic, 0 if it does not exist, -1 on error (errbuf). */
static int partitions_of(struct sf_cluster *c, const char *topic, char *errbuf, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topic, NULL);
    int n = -1;

    if (!rkt) {
        snprintf(errbuf, errlen, "cluster: topic %s: %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    rd_kafka_resp_err_t err = rd_kafka_metadata(c->rk, 0, rkt, &md, METADATA_TIMEOUT_MS);
    if (err) {
        snprintf(errbuf, errlen, "cluster: cannot reach the Kafka brokers of cluster.brokers "
                 "(%s) within %d s: %s", c->cfg->cluster.brokers, METADATA_TIMEOUT_MS / 1000,
                 rd_kafka_err2str(err));
    } else if (md->topic_cnt < 1 ||
               md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        n = 0;
    } else if (md->topics[0].err) {
        snprintf(errbuf, errlen, "cluster: topic %s: %s", topic,
                 rd_kafka_err2str(md->topics[0].err));
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

static sf_err create_topic(struct sf_cluster *c, const char *topic, int compact,
                           char *errbuf, size_t errlen)
{
    char why[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, c->P, -1, why, sizeof(why));
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(c->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_event_t *ev = NULL;
    sf_err err = SF_ERR_NETWORK;

    if (!nt || !q || !opt) {
        snprintf(errbuf, errlen, "cluster: cannot create topic %s: %s", topic,
                 nt ? "out of memory" : why);
        goto out;
    }
    if (compact)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_AdminOptions_set_request_timeout(opt, CREATE_TIMEOUT_MS, why, sizeof(why));
    rd_kafka_CreateTopics(c->rk, &nt, 1, opt, q);
    ev = rd_kafka_queue_poll(q, CREATE_TIMEOUT_MS + 2000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &cnt)
                                             : NULL;
    rd_kafka_resp_err_t kerr = !ev ? RD_KAFKA_RESP_ERR__TIMED_OUT
                               : rd_kafka_event_error(ev) ? rd_kafka_event_error(ev)
                               : cnt ? rd_kafka_topic_result_error(tr[0])
                                     : RD_KAFKA_RESP_ERR__FAIL;
    if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR || kerr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        sf_info(NULL, NULL, "cluster: created topic %s (%d partitions%s)", topic, c->P,
                compact ? ", cleanup.policy=compact" : "");
        err = SF_OK;
    } else {
        snprintf(errbuf, errlen, "cluster: cannot create topic %s (%d partitions%s): %s; "
                 "create it beforehand", topic, c->P, compact ? ", cleanup.policy=compact" : "",
                 rd_kafka_err2str(kerr));
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (opt)
        rd_kafka_AdminOptions_destroy(opt);
    if (q)
        rd_kafka_queue_destroy(q);
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    return err;
}

static sf_err ensure_topic(struct sf_cluster *c, const char *key, const char *topic,
                           int compact, char *errbuf, size_t errlen)
{
    int n = partitions_of(c, topic, errbuf, errlen);
    if (n < 0)
        return SF_ERR_NETWORK;
    if (n == 0)
        return create_topic(c, topic, compact, errbuf, errlen);
    if (n != c->P) {
        snprintf(errbuf, errlen, "cluster: topic %s (cluster.%s) has %d partitions but "
                 "cluster.partitions is %d: every instance of a cluster must use the count "
                 "the topic was created with (a different P places tenants differently)",
                 topic, key, n, c->P);
        return SF_ERR_CONFIG;
    }
    return SF_OK;
}

sf_err sf_cluster_topics(struct sf_cluster *c, char *errbuf, size_t errlen)
{
    sf_err err = ensure_topic(c, "tenants_topic", c->cfg->cluster.tenants_topic, 0, errbuf,
                              errlen);
    if (!err)
        err = ensure_topic(c, "cursors_topic", c->cfg->cluster.cursors_topic, 1, errbuf,
                           errlen);
    return err;
}

sf_err sf_cluster_check(const struct sf_config *cfg, char *errbuf, size_t errlen)
{
    struct sf_cluster c = { .cfg = cfg };
    rd_kafka_conf_t *conf = sf_cluster_conf_new(&c, errbuf, errlen);
    if (!conf)
        return SF_ERR_CONFIG;
    rd_kafka_conf_destroy(conf);
    return SF_OK;
}
