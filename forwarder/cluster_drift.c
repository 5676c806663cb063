/* cluster_drift.c - config drift between the instances of a cluster: each
 * publishes a hash of its tenant list every DRIFT_EVERY_MS as a record keyed
 * "_instance/<instance_id>" in partition 0 of the tenants topic (whose
 * messages the group otherwise ignores), and reads the others' records back
 * with a group-less consumer. A live instance (published within
 * DRIFT_LIVE_MS) with another hash is logged as an error naming both and
 * sets siemfwd_cluster_config_drift (different lists silently skip or
 * double-poll tenants). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"
#include "sf_clock.h"
#include "sf_log.h"

#define DRIFT_EVERY_MS 5000
#define DRIFT_LIVE_MS (3 * DRIFT_EVERY_MS)
#define DRIFT_PEERS_MAX 256
#define KEY_PREFIX "_instance/"

struct peer {
    char id[80];
    uint64_t hash;
    int64_t seen_ms;       /* wall time of its last record */
    int reported;          /* drift logged for this hash */
};

struct sf_cluster_drift {
    rd_kafka_t *prod, *reader;
    uint64_t hash;
    int64_t next_pub;      /* sf_mono_ms */
    struct peer peers[DRIFT_PEERS_MAX];
    size_t npeers;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

uint64_t sf_cluster_tenants_hash(const struct sf_config *cfg)
{
    uint64_t h = 1469598103934665603ULL;      /* FNV-1a 64 offset basis */
    char **lines = calloc(cfg->n_tenants ? cfg->n_tenants : 1, sizeof(*lines));
    size_t n = 0;

    if (!lines)
        return 0;
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        const struct sf_tenant_conf *t = &cfg->tenants[i];
        if (!t->enabled || !t->tenant_id || !t->name)
            continue;
        size_t len = strlen(t->tenant_id) + strlen(t->name) + 2;
        if (!(lines[n] = malloc(len)))
            break;
        snprintf(lines[n], len, "%s %s", t->tenant_id, t->name);
        for (char *p = lines[n]; *p && *p != ' '; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        n++;
    }
    qsort(lines, n, sizeof(*lines), cmp_str);
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)lines[i]; *p; p++) {
            h ^= *p;
            h *= 1099511628211ULL;            /* FNV 64 prime */
        }
        h ^= '\n';
        h *= 1099511628211ULL;
        free(lines[i]);
    }
    free(lines);
    return h;
}

sf_err sf_cluster_drift_new(struct sf_cluster *c, char *errbuf, size_t errlen)
{
    struct sf_cluster_drift *d = calloc(1, sizeof(*d));
    rd_kafka_conf_t *pc = NULL, *rc = NULL;
    char why[512];

    if (!d)
        return SF_ERR_NOMEM;
    c->dr = d;
    d->hash = sf_cluster_tenants_hash(c->cfg);
    if (!(pc = sf_cluster_conf_new(c, errbuf, errlen)) ||
        !(rc = sf_cluster_conf_new(c, errbuf, errlen))) {
        if (pc)
            rd_kafka_conf_destroy(pc);
        return SF_ERR_CONFIG;
    }
    rd_kafka_conf_set(pc, "linger.ms", "0", why, sizeof(why));
    rd_kafka_conf_set(pc, "message.timeout.ms", "10000", why, sizeof(why));
    /* assign() only, never joins: the group id is only a name librdkafka wants */
    char gid[300];
    snprintf(gid, sizeof(gid), "%s.drift.%s", c->cfg->cluster.group, c->cfg->cluster.instance_id);
    rd_kafka_conf_set(rc, "group.id", gid, why, sizeof(why));
    rd_kafka_conf_set(rc, "enable.partition.eof", "false", why, sizeof(why));
    rd_kafka_conf_set(rc, "enable.auto.commit", "false", why, sizeof(why));
    if (!(d->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, why, sizeof(why)))) {
        rd_kafka_conf_destroy(pc);
        rd_kafka_conf_destroy(rc);
        snprintf(errbuf, errlen, "cluster: cannot create the drift producer: %s", why);
        return SF_ERR_CONFIG;
    }
    if (!(d->reader = rd_kafka_new(RD_KAFKA_CONSUMER, rc, why, sizeof(why)))) {
        rd_kafka_conf_destroy(rc);
        snprintf(errbuf, errlen, "cluster: cannot create the drift reader: %s", why);
        return SF_ERR_CONFIG;
    }
    /* read partition 0 from what was published within the liveness window */
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, c->cfg->cluster.tenants_topic, 0)->offset =
        sf_now_ms() - DRIFT_LIVE_MS;
    if (rd_kafka_offsets_for_times(d->reader, tp, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        tp->elems[0].err || tp->elems[0].offset < 0)
        tp->elems[0].offset = RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t err = rd_kafka_assign(d->reader, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    if (err) {
        snprintf(errbuf, errlen, "cluster: cannot read %s[0]: %s",
                 c->cfg->cluster.tenants_topic, rd_kafka_err2str(err));
        return SF_ERR_NETWORK;
    }
    sf_info(NULL, NULL, "cluster: tenant list hash %016llx (%zu tenants)",
            (unsigned long long)d->hash, c->cfg->n_tenants);
    return SF_OK;
}

static void publish(struct sf_cluster *c, struct sf_cluster_drift *d)
{
    char key[128], val[64];
    snprintf(key, sizeof(key), KEY_PREFIX "%s", c->cfg->cluster.instance_id);
    snprintf(val, sizeof(val), "%016llx %lld", (unsigned long long)d->hash,
             (long long)sf_now_ms());
    rd_kafka_resp_err_t err = rd_kafka_producev(
        d->prod, RD_KAFKA_V_TOPIC(c->cfg->cluster.tenants_topic), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(val, strlen(val)),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err)
        sf_debug(NULL, NULL, "cluster: publishing the tenant list hash: %s",
                 rd_kafka_err2str(err));
}

static void take(struct sf_cluster *c, struct sf_cluster_drift *d,
                 const rd_kafka_message_t *m)
{
    const char *me = c->cfg->cluster.instance_id;
    size_t pl = strlen(KEY_PREFIX);
    char id[80], val[64];
    unsigned long long hash;
    long long at;

    if (m->err || !m->key || m->key_len <= pl || m->key_len - pl >= sizeof(id) ||
        memcmp(m->key, KEY_PREFIX, pl) != 0 || !m->payload || m->len >= sizeof(val))
        return;
    memcpy(id, (const char *)m->key + pl, m->key_len - pl);
    id[m->key_len - pl] = '\0';
    memcpy(val, m->payload, m->len);
    val[m->len] = '\0';
    if (strcmp(id, me) == 0 || sscanf(val, "%llx %lld", &hash, &at) != 2)
        return;
    struct peer *p = NULL;
    for (size_t i = 0; i < d->npeers && !p; i++)
        if (strcmp(d->peers[i].id, id) == 0)
            p = &d->peers[i];
    if (!p && d->npeers < DRIFT_PEERS_MAX) {
        p = &d->peers[d->npeers++];
        snprintf(p->id, sizeof(p->id), "%s", id);
    }
    if (!p || at < p->seen_ms)
        return;
    if (p->hash != hash)
        p->reported = 0;
    p->hash = hash;
    p->seen_ms = at;
}

void sf_cluster_drift_tick(struct sf_cluster *c, int64_t now_mono)
{
    struct sf_cluster_drift *d = c->dr;
    rd_kafka_message_t *m;
    int drift = 0;

    if (!d)
        return;
    if (now_mono >= d->next_pub) {
        publish(c, d);
        d->next_pub = now_mono + DRIFT_EVERY_MS;
    }
    rd_kafka_poll(d->prod, 0);
    for (int i = 0; i < 1000 && (m = rd_kafka_consumer_poll(d->reader, 0)) != NULL; i++) {
        take(c, d, m);
        rd_kafka_message_destroy(m);
    }
    int64_t now = sf_now_ms();
    for (size_t i = 0; i < d->npeers; i++) {
        struct peer *p = &d->peers[i];
        if (now - p->seen_ms > DRIFT_LIVE_MS || p->hash == d->hash)
            continue;
        drift = 1;
        if (!p->reported) {
            sf_error(NULL, NULL, "cluster: config drift: instance %s has tenant list hash "
                     "%016llx, instance %s has %016llx; every instance of group %s needs the "
                     "same tenants, or some are polled twice or not at all",
                     c->cfg->cluster.instance_id, (unsigned long long)d->hash, p->id,
                     (unsigned long long)p->hash, c->cfg->cluster.group);
            p->reported = 1;
        }
    }
    if (drift != atomic_load(&c->drift)) {
        if (!drift)
            sf_info(NULL, NULL, "cluster: no config drift any more");
        atomic_store(&c->drift, drift);
    }
}

void sf_cluster_drift_free(struct sf_cluster *c)
{
    struct sf_cluster_drift *d = c->dr;
    if (!d)
        return;
    if (d->reader) {
        rd_kafka_consumer_close(d->reader);
        rd_kafka_destroy(d->reader);
    }
    if (d->prod) {
        rd_kafka_flush(d->prod, 1000);
        rd_kafka_destroy(d->prod);
    }
    free(d);
    c->dr = NULL;
}
