/* cluster_priv.h - what the cluster files (cluster.c: membership and the
 * loop; cluster_topics.c: the consumer and the topics; cluster_drift.c: the
 * tenant-list comparison) share. Not for other files: they use sf_cluster.h. */
#ifndef SF_CLUSTER_PRIV_H
#define SF_CLUSTER_PRIV_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include "sf_cluster.h"
#include "sf_state_kafka.h"

struct sf_cluster_drift;

struct sf_cluster {
    const struct sf_config *cfg;     /* borrowed */
    struct sf_cluster_hooks hooks;
    struct sf_state *kstate;         /* borrowed; NULL: SQLite cursors */
    rd_kafka_t *rk;                  /* the group consumer */
    rd_kafka_topic_partition_list_t *topics;  /* the subscription */
    int32_t P;
    size_t ntenants;
    int32_t *tpart;                  /* partition of each tenant */
    const char **names;              /* borrowed tenant names, for logs */
    _Atomic int64_t *owned_from;     /* per tenant: -1 not ours, else the
                                        sf_mono_ms from which it may run */
    unsigned char *mark, *pmark;     /* scratch (loop thread): tenants, partitions */
    int32_t *pbuf;                   /* scratch: partition numbers */
    unsigned char *ploaded;          /* loop thread: partitions whose cursors are loaded */
    int64_t retry_load_at;           /* sf_mono_ms: retry a failed load then (0: none) */
    int64_t heartbeat_ms, session_ms, alive_ms;
    int64_t settle_timeout_ms;       /* revoke: bound on settling in-flight records */
    long load_timeout_ms;            /* reading / writing the cursors topic */
    struct sf_cluster_guard guard;
    int frozen;                      /* loop thread: handling a frozen loop */
    pthread_t thread;
    int running, closed;
    _Atomic int stop;
    _Atomic uint64_t rebalances;
    _Atomic int64_t takeover_ms;
    _Atomic size_t nowned;
    _Atomic int drift;
    struct sf_cluster_drift *dr;     /* cluster_drift.c */
};

/* cluster_topics.c: the consumer handle with siemfwd's settings and
 * cluster.properties (errors name FILE:LINE: cluster.properties.KEY), and
 * c->heartbeat_ms / session_ms / alive_ms from it. */
sf_err sf_cluster_consumer(struct sf_cluster *c,
                           void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                rd_kafka_topic_partition_list_t *, void *),
                           char *errbuf, size_t errlen);
/* librdkafka's log lines into siemfwd's log ("cluster: kafka FAC: ..."). */
void sf_cluster_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);
/* A conf with bootstrap.servers, client.id and cluster.properties applied
 * (for the other handles: drift producer and reader). NULL + errbuf. */
rd_kafka_conf_t *sf_cluster_conf_new(const struct sf_cluster *c, char *errbuf, size_t errlen);
/* Brokers reachable (else SF_ERR_NETWORK naming them); both topics exist
 * with P partitions, created if absent (else SF_ERR_CONFIG). */
sf_err sf_cluster_topics(struct sf_cluster *c, char *errbuf, size_t errlen);

/* cluster_drift.c: publish this instance's tenant-list hash and compare it
 * with the other live instances'; tick runs on the loop thread. */
sf_err sf_cluster_drift_new(struct sf_cluster *c, char *errbuf, size_t errlen);
void sf_cluster_drift_tick(struct sf_cluster *c, int64_t now_mono);
void sf_cluster_drift_free(struct sf_cluster *c);

size_t sf_cluster_count_owned(struct sf_cluster *c);

#endif
