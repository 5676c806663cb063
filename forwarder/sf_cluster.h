/* sf_cluster.h - cluster membership (DESIGN section 8): one thread runs a
 * Kafka consumer in cluster.group subscribed to cluster.tenants_topic; the
 * partitions assigned to this instance decide which tenants it polls
 * (tenant -> partition: sf_cluster_hash.h). The pipeline asks
 * sf_cluster_may_run before each cycle; on revoke the cluster stops those
 * tenants and waits (bounded) for their records to settle through hooks the
 * pipeline gives; on a lost assignment, or when the consumer loop itself was
 * frozen longer than the session (SIGSTOP), their queued work is dropped and
 * no cursor written. Also: the zombie guard (below) and the counters /metrics
 * shows. */
#ifndef SF_CLUSTER_H
#define SF_CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include "sf_config.h"
#include "sf_err.h"

struct sf_cluster;
struct sf_state;

/* What the cluster needs from the pipeline; called on the cluster's thread.
 * ti = the pipeline's tenant index. */
struct sf_cluster_hooks {
    void *opaque;
    /* 1 when tenant ti has no cycle running and every record handed to an
     * output was answered and its cursor stored. */
    int (*settled)(void *opaque, size_t ti);
    /* Drop ti's queued records and move none of its cursors any more. */
    void (*fence)(void *opaque, size_t ti);
    /* ti is about to be polled again: forget in-memory positions so they are
     * read from the state store; 0 on success, -1 while it cannot yet
     * (records of a fenced round still in flight). */
    int (*adopt)(void *opaque, size_t ti);
};

/* Zombie guard, apart so it can be tested with an injected clock. Work is
 * allowed only while the consumer loop ticked within alive_ms; a gap longer
 * than session_ms between two ticks (the process was stopped) makes the
 * assignment suspect until the group assigns again. Times: sf_mono_ms. */
struct sf_cluster_guard {
    _Atomic int64_t last_ms;
    _Atomic int suspect;
    _Atomic int64_t frozen_gap; /* > 0: a tick found a freeze not yet acted on */
    int64_t alive_ms, session_ms;
};
void sf_cluster_guard_init(struct sf_cluster_guard *g, int64_t now, int64_t alive_ms,
                           int64_t session_ms);
/* One loop iteration at now; returns 1 when this tick found the gap since
 * the previous one longer than session_ms (the guard became suspect). The
 * freeze is also kept for sf_cluster_guard_take_frozen(), so a tick made
 * inside a rebalance callback is acted on by the loop afterwards. */
int sf_cluster_guard_tick(struct sf_cluster_guard *g, int64_t now);
/* The loop's own blocking work (reading or writing the cursors topic, each
 * bounded) ended at now: the time it took is not a freeze. */
void sf_cluster_guard_worked(struct sf_cluster_guard *g, int64_t now);
/* The gap of a freeze found by a tick and not yet acted on (and forget it),
 * or 0. */
int64_t sf_cluster_guard_take_frozen(struct sf_cluster_guard *g);
/* 1 when fetch and delivery may act at now. */
int sf_cluster_guard_alive(struct sf_cluster_guard *g, int64_t now);
/* The group assigned partitions again: no longer suspect. */
void sf_cluster_guard_confirm(struct sf_cluster_guard *g, int64_t now);

/* Counters for /metrics (read without a lock). */
struct sf_cluster_stats {
    size_t owned_tenants;
    uint64_t rebalances;
    double takeover_seconds;   /* the last assignment: callback to tenants polled */
    int drift;                 /* another live member's tenant list differs */
    int alive;                 /* the zombie guard's verdict now */
};

/* Connect (cfg->cluster), check or create the topics, subscribe. tenant_ids
 * and names [0..n) in pipeline order (borrowed: must outlive the cluster). kstate: the Kafka state backend (NULL: cursors
 * stay in this instance's SQLite). Unreachable brokers: SF_ERR_NETWORK
 * naming them; partition count of an existing topic not cfg's P:
 * SF_ERR_CONFIG. */
sf_err sf_cluster_new(const struct sf_config *cfg, const char *const *tenant_ids,
                      const char *const *names, size_t n, const struct sf_cluster_hooks *hooks, struct sf_state *kstate,
                      struct sf_cluster **out, char *errbuf, size_t errlen);
/* Offline check of cluster.properties against librdkafka (siemfwd check):
 * SF_ERR_CONFIG with "FILE:LINE: cluster.properties.KEY: why". */
sf_err sf_cluster_check(const struct sf_config *cfg, char *errbuf, size_t errlen);
/* Start the consumer thread. */
sf_err sf_cluster_start(struct sf_cluster *c);
/* 1 when tenant ti is assigned here, past its takeover wait, and the guard
 * says the loop is alive. Any thread. */
int sf_cluster_may_run(struct sf_cluster *c, size_t ti);
/* The same at now_mono (sf_mono_ms), for a scheduler asking for many. */
int sf_cluster_may_run_at(struct sf_cluster *c, size_t ti, int64_t now_mono);
/* Leave the group (revoke: settle, release) and stop the thread. The hooks
 * must still work: call before the pipeline frees its outputs. */
void sf_cluster_stop(struct sf_cluster *c);
void sf_cluster_free(struct sf_cluster *c);
void sf_cluster_stats(struct sf_cluster *c, struct sf_cluster_stats *s);

/* FNV-1a 64 over the sorted "tenant_id name" lines of the enabled tenants:
 * instances of one cluster must agree on it (config drift). */
uint64_t sf_cluster_tenants_hash(const struct sf_config *cfg);

#endif
