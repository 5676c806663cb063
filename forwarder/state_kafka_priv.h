/* state_kafka_priv.h - private to the Kafka state backend (state_kafka.c,
 * state_kafka_conf.c, state_kafka_assign.c, state_kafka_record.c,
 * state_kafka_load.c): the backend's context, one cached cursor per key
 * "tenant/output", the record codec, and the reader of the cursors topic. */
#ifndef SF_STATE_KAFKA_PRIV_H
#define SF_STATE_KAFKA_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include <pthread.h>

#include "sf_buf.h"
#include "sf_config.h"
#include "state_ops.h"

struct kseen {
    char *alert_id;       /* owned */
    int64_t last_update_ms;
    int quarantined;
};

/* One cursor as cached and as written: the record's fields. */
struct kcur {
    char *key;            /* owned: "tenant/output" */
    size_t tenant_len;    /* key[0..tenant_len) is the tenant, output follows '/' */
    int32_t part;         /* partition of the cursors topic it lives in */
    struct sf_cursor c;
    int64_t start_ms;     /* -1: no stored start */
    struct kseen *seen;   /* owned */
    size_t nseen, capseen;
    char owner[128];      /* of the last record read or written */
    int64_t epoch;
    int released;
    int dirty;            /* changed since its last write */
    int64_t written_mono; /* sf_mono_ms() of its last write, 0 = never */
    struct kcur *next;    /* hash chain */
};

/* The cache: chained hash table of kcur by key. */
struct kmap {
    struct kcur **b;
    size_t nb, n;
};

struct kcur *kmap_get(struct kmap *m, const char *key);
/* Insert or return the existing entry; NULL on allocation failure. */
struct kcur *kmap_put(struct kmap *m, const char *key, int32_t part);
void kmap_del(struct kmap *m, const char *key);
void kmap_free(struct kmap *m);
void kcur_free(struct kcur *k);

struct ktenant {
    const char *name, *tenant_id; /* borrowed from the kstate's strings */
};

/* The backend's context (state_kafka.c owns it). */
struct kstate {
    struct sf_state base;         /* first: a struct sf_state * is a struct kstate * */
    pthread_mutex_t lock;         /* map, assigned, epoch, enc */
    pthread_mutex_t load_lock;    /* cons */
    rd_kafka_t *prod;             /* NULL when read-only */
    rd_kafka_t *cons;             /* plain consumer reading the topic */
    char *topic, *brokers, *owner;
    int32_t nparts;
    unsigned char *assigned;      /* [nparts]: 1 = loaded here and not revoked */
    int readonly;
    struct kmap map;
    int64_t epoch;
    int64_t swept_mono;           /* last sweep for marks left unwritten */
    struct ktenant *tenants;      /* sorted by name */
    size_t ntenants;
    char **strs;                  /* owned copies behind tenants[] */
    struct sf_buf enc;            /* record being encoded */
};

/* Create ks->prod (unless read-only) and ks->cons for cc (state_kafka_conf.c).
 * SF_ERR_CONFIG naming a bad cluster.properties key. */
sf_err kconf_handles(struct kstate *ks, const struct sf_cluster_conf *cc, char *errbuf,
                     size_t errlen);
/* Produce k's whole record (under ks->lock); marks it written. */
sf_err kwrite_rec(struct kstate *ks, struct kcur *k, int released);

/* Encode k as the record value (JSON) into out, with owner/epoch/released
 * as given. SF_ERR_NOMEM. */
sf_err kcur_encode(const struct kcur *k, const char *owner, int64_t epoch, int released,
                   struct sf_buf *out);
/* Decode a record value into k (its key and part already set). SF_ERR_PARSE
 * with a reason in errbuf when the value is not a cursor record. */
sf_err kcur_decode(struct kcur *k, const char *val, size_t len, char *errbuf, size_t errlen);

/* Read partitions parts[0..n) of topic with the plain consumer rk from the
 * beginning to their high watermark (bounded by timeout_ms), keeping the last
 * record per key in m (a tombstone or an unparseable record removes the key,
 * the latter logged with its key). *nrecords counts records read. */
sf_err kload_read(rd_kafka_t *rk, const char *topic, const int32_t *parts, size_t n,
                  long timeout_ms, struct kmap *m, size_t *nrecords, char *errbuf,
                  size_t errlen);

#endif
