/* sf_state_kafka.h - the state store's Kafka backend for cluster mode
 * (DESIGN section 8): cursors in the compacted cluster.cursors_topic, key
 * "tenant/output" (tenant = configured name), written to the partition
 * sf_cluster_partition(tenant_id, P). Value (JSON): {"v":1, "watermark_ms",
 * "start_ms", "last_success_ms", "last_attempt_ms", "delivered",
 * "quarantined", "last_error", "seen": [[id, last_update_ms, quarantined]...],
 * "owner", "epoch", "released"}. Idempotent producer, acks=all. Opened with
 * sf_state_open_kafka it is an ordinary struct sf_state: every sf_state_*
 * call of sf_state.h works on it (cursor, seen, mark, advance, start, note,
 * each, close). The calls below are what cluster membership (cluster.c)
 * adds on assignment changes. Internally locked: any thread may call.
 * Only the cursors of partitions loaded here (and not since released or
 * lost) are served: cursor and the writes answer SF_ERR_STOPPED for a
 * tenant of another partition (a late runner cannot overwrite its new
 * owner's cursor), SF_ERR_NOTFOUND for a tenant not in the config. Marks are
 * coalesced (written at most once a second per key, and by advance, note,
 * release and close); every record written is true. */
#ifndef SF_STATE_KAFKA_H
#define SF_STATE_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include "sf_config.h"
#include "sf_state.h"

/* Open the backend for cfg->cluster (brokers, cursors_topic, partitions,
 * properties) with owner = cfg->cluster.instance_id; tenants of cfg give
 * name -> tenant_id for the partition of each key. Creates no topic (the
 * cluster layer does). Brokers unreachable: SF_ERR_NETWORK naming them. */
sf_err sf_state_open_kafka(const struct sf_config *cfg, struct sf_state **out, char *errbuf,
                           size_t errlen);
/* Read-only view for `siemfwd state` in cluster mode: reads every partition
 * to its high watermark, keeps the last record per key; sf_state_each then
 * lists them (owner/released via sf_state_kafka_owner). */
sf_err sf_state_open_kafka_readonly(const struct sf_config *cfg, struct sf_state **out,
                                    char *errbuf, size_t errlen);

/* The assignment's generation (rebalance count or group generation id),
 * written as "epoch" in every record from now on. */
void sf_state_kafka_set_epoch(struct sf_state *st, int64_t epoch);

/* Assigned: read partitions parts[0..n) to their high watermark (bounded by
 * timeout_ms) and take the last record per key as the cursor (a record that
 * does not parse is logged with its key and skipped: that cursor restarts
 * from start_from, never from zero). *unclean = 1 when some key's last
 * record was written by another owner without "released" (the caller then
 * waits 2 x heartbeat before polling). */
sf_err sf_state_kafka_load(struct sf_state *st, const int32_t *parts, size_t n,
                           long timeout_ms, int *unclean, char *errbuf, size_t errlen);
/* Revoked cleanly (the tenant's in-flight pages already drained): write
 * every cursor of parts with "released": true and flush (bounded), then
 * forget them. */
sf_err sf_state_kafka_release(struct sf_state *st, const int32_t *parts, size_t n,
                              long timeout_ms);
/* Assignment lost: purge the producer's queue, write nothing, forget the
 * cursors of parts. */
void sf_state_kafka_lost(struct sf_state *st, const int32_t *parts, size_t n);

/* For `siemfwd state`: owner and released flag of a key's last record
 * (owner into buf; "" if unknown). 0 if found; -1 also for a store of
 * another backend. */
int sf_state_kafka_owner(struct sf_state *st, const char *tenant, const char *output,
                         char *owner, size_t n, int *released, int64_t *epoch);

#endif
