/* state_kafka_assign.c - the Kafka state backend's side of assignment
 * changes (sf_state_kafka.h, called by cluster.c): load the cursors of newly
 * assigned partitions (noting an unclean takeover), release revoked ones with
 * a final "released" record, forget lost ones writing nothing; the epoch and
 * owner lookups. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_clock.h"
#include "sf_log.h"
#include "sf_state_kafka.h"
#include "state_kafka_priv.h"

void sf_state_kafka_set_epoch(struct sf_state *base, int64_t epoch)
{
    struct kstate *ks = (struct kstate *)base;

    pthread_mutex_lock(&ks->lock);
    ks->epoch = epoch;
    pthread_mutex_unlock(&ks->lock);
}

static sf_err check_parts(const struct kstate *ks, const int32_t *parts, size_t n,
                          char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (parts[i] < 0 || parts[i] >= ks->nparts) {
            sf_errf(errbuf, errlen, "state: partition %" PRId32 " outside 0..%" PRId32,
                    parts[i], ks->nparts - 1);
            return SF_ERR_RANGE;
        }
    }
    return SF_OK;
}

/* Move what was read into the cache; *unclean when a key's last record is
 * another owner's and not released. */
static void adopt(struct kstate *ks, struct kmap *got, int *unclean)
{
    for (size_t b = 0; b < got->nb; b++) {
        for (struct kcur *k = got->b[b], *nx; k; k = nx) {
            nx = k->next;
            if (!k->released && strcmp(k->owner, ks->owner) != 0) {
                if (!*unclean)
                    sf_info(NULL, NULL, "state: cursor %s was last written by %s (epoch %"
                            PRId64 ") without a release: unclean takeover", k->key,
                            k->owner, k->epoch);
                *unclean = 1;
            }
            kmap_del(&ks->map, k->key);
            struct kcur *dst = kmap_put(&ks->map, k->key, k->part);
            if (dst) { /* take k's contents, keep dst's key and chain */
                char *key = dst->key;
                struct kcur *chain = dst->next;
                free(dst->seen);
                *dst = *k;
                dst->key = key;
                dst->next = chain;
                dst->dirty = 0;
                dst->written_mono = 0;
                k->seen = NULL;
                k->nseen = 0;
            }
        }
    }
}

sf_err sf_state_kafka_load(struct sf_state *base, const int32_t *parts, size_t n,
                           long timeout_ms, int *unclean, char *errbuf, size_t errlen)
{
    struct kstate *ks = (struct kstate *)base;
    struct kmap got = { 0 };
    size_t nrec = 0;
    int64_t t0 = sf_mono_ms();
    sf_err err;

    *unclean = 0;
    if (ks->readonly)
        return SF_ERR_INVALID;
    if ((err = check_parts(ks, parts, n, errbuf, errlen)) != SF_OK)
        return err;
    pthread_mutex_lock(&ks->load_lock);
    err = kload_read(ks->cons, ks->topic, parts, n, timeout_ms, &got, &nrec, errbuf, errlen);
    pthread_mutex_unlock(&ks->load_lock);
    if (!err) {
        pthread_mutex_lock(&ks->lock);
        size_t ncur = got.n;
        adopt(ks, &got, unclean);
        for (size_t i = 0; i < n; i++)
            ks->assigned[parts[i]] = 1;
        pthread_mutex_unlock(&ks->lock);
        sf_info(NULL, NULL, "state: loaded %zu cursor(s) from %zu record(s) of %zu"
                " partition(s) of %s in %" PRId64 " ms", ncur, nrec, n, ks->topic,
                sf_mono_ms() - t0);
    }
    kmap_free(&got);
    return err;
}

static int in_parts(int32_t part, const unsigned char *set)
{
    return set[part];
}

/* Collect the cached cursors of the partitions in set (under ks->lock). */
static struct kcur **of_parts(struct kstate *ks, const unsigned char *set, size_t *nk)
{
    struct kcur **v = calloc(ks->map.n ? ks->map.n : 1, sizeof(*v));

    *nk = 0;
    for (size_t b = 0; v && b < ks->map.nb; b++)
        for (struct kcur *k = ks->map.b[b]; k; k = k->next)
            if (in_parts(k->part, set))
                v[(*nk)++] = k;
    return v;
}

static unsigned char *part_set(const struct kstate *ks, const int32_t *parts, size_t n)
{
    unsigned char *set = calloc((size_t)ks->nparts, 1);

    for (size_t i = 0; set && i < n; i++)
        if (parts[i] >= 0 && parts[i] < ks->nparts)
            set[parts[i]] = 1;
    return set;
}

sf_err sf_state_kafka_release(struct sf_state *base, const int32_t *parts, size_t n,
                              long timeout_ms)
{
    struct kstate *ks = (struct kstate *)base;
    unsigned char *set = part_set(ks, parts, n);
    struct kcur **v = NULL;
    size_t nk = 0;
    sf_err err = SF_OK;

    if (!set || ks->readonly) {
        free(set);
        return ks->readonly ? SF_ERR_INVALID : SF_ERR_NOMEM;
    }
    pthread_mutex_lock(&ks->lock);
    if ((v = of_parts(ks, set, &nk))) {
        for (size_t i = 0; i < nk; i++) {
            sf_err e = kwrite_rec(ks, v[i], 1);
            err = err ? err : e;
            kmap_del(&ks->map, v[i]->key);
        }
    } else {
        err = SF_ERR_NOMEM;
    }
    for (int32_t p = 0; p < ks->nparts; p++)
        if (set[p])
            ks->assigned[p] = 0;
    pthread_mutex_unlock(&ks->lock);
    /* Outside the lock: other tenants' runners go on meanwhile. */
    if (rd_kafka_flush(ks->prod, (int)timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        sf_warn(NULL, NULL, "state: %d cursor record(s) still unwritten after %ld ms at"
                " release", rd_kafka_outq_len(ks->prod), timeout_ms);
        err = err ? err : SF_ERR_TIMEOUT;
    }
    sf_info(NULL, NULL, "state: released %zu cursor(s) of %zu partition(s)", nk, n);
    free(v);
    free(set);
    return err;
}

void sf_state_kafka_lost(struct sf_state *base, const int32_t *parts, size_t n)
{
    struct kstate *ks = (struct kstate *)base;
    unsigned char *set = part_set(ks, parts, n);
    struct kcur **v = NULL;
    size_t nk = 0;

    if (ks->readonly)
        goto out;
    pthread_mutex_lock(&ks->lock);
    for (size_t i = 0; i < n; i++)
        if (parts[i] >= 0 && parts[i] < ks->nparts)
            ks->assigned[parts[i]] = 0;
    /* The queue is the producer's, not the partitions': records of tenants
     * still owned go too, so they are marked for rewriting below. */
    rd_kafka_purge(ks->prod, RD_KAFKA_PURGE_F_QUEUE);
    if (set && (v = of_parts(ks, set, &nk)))
        for (size_t i = 0; i < nk; i++)
            kmap_del(&ks->map, v[i]->key);
    for (size_t b = 0; b < ks->map.nb; b++)
        for (struct kcur *k = ks->map.b[b]; k; k = k->next) {
            k->dirty = 1;
            k->written_mono = 0;
        }
    pthread_mutex_unlock(&ks->lock);
    rd_kafka_poll(ks->prod, 0); /* the purged records' reports */
    sf_warn(NULL, NULL, "state: assignment lost: forgot %zu cursor(s) of %zu partition(s),"
            " wrote none", nk, n);
out:
    free(v);
    free(set);
}

int sf_state_kafka_owner(struct sf_state *base, const char *tenant, const char *output,
                         char *owner, size_t n, int *released, int64_t *epoch)
{
    struct kstate *ks = (struct kstate *)base;
    char key[512];
    int rc = -1;

    if (n)
        owner[0] = '\0';
    if (!base || strcmp(base->ops->name, "kafka") != 0)
        return -1; /* another backend's store: no owners there */
    snprintf(key, sizeof(key), "%s/%s", tenant, output);
    pthread_mutex_lock(&ks->lock);
    struct kcur *k = kmap_get(&ks->map, key);
    if (k) {
        if (n)
            snprintf(owner, n, "%s", k->owner);
        if (released)
            *released = k->released;
        if (epoch)
            *epoch = k->epoch;
        rc = 0;
    }
    pthread_mutex_unlock(&ks->lock);
    return rc;
}

