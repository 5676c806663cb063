/* state_kafka.c - the state store's Kafka backend (sf_state_kafka.h,
 * state_ops.h): an in-memory cache of the cursors of the assigned partitions,
 * each change written as the key's whole record through an idempotent
 * producer (acks=all). Every record written is true: marks are coalesced (a
 * key's marks are written at most once a second, and within about a second
 * while any key is busy; advance, start and note always write), never
 * invented. Owns the producer, the reader consumer and the
 * cache; one mutex guards the cache, another the reader. Calls on keys of
 * partitions not assigned here are refused (SF_ERR_STOPPED): a late runner
 * of a revoked tenant cannot overwrite its new owner's cursor. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_clock.h"
#include "sf_cluster_hash.h"
#include "sf_log.h"
#include "sf_state_kafka.h"
#include "state_kafka_priv.h"
#include "state_ops.h"

#define MARK_WRITE_MS 1000   /* a key's marks are written at most this often */
#define OPEN_TIMEOUT_MS 5000 /* metadata at open: brokers unreachable past it */
#define CLOSE_FLUSH_MS 5000
#define READONLY_LOAD_MS 30000

static const struct sf_state_ops kafka_ops;
static void kclose(struct sf_state *base);

/* ---- open / close ----------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct ktenant *)a)->name, ((const struct ktenant *)b)->name);
}

static sf_err copy_tenants(struct kstate *ks, const struct sf_config *cfg)
{
    size_t n = cfg->n_tenants;

    if (n == 0)
        return SF_OK;
    ks->tenants = calloc(n, sizeof(*ks->tenants));
    ks->strs = calloc(2 * n, sizeof(*ks->strs));
    if (!ks->tenants || !ks->strs)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct sf_tenant_conf *tc = &cfg->tenants[i];
        if (!(ks->strs[2 * i] = strdup(tc->name)) ||
            !(ks->strs[2 * i + 1] = strdup(tc->tenant_id ? tc->tenant_id : ""))) {
            free(ks->strs[2 * i]); /* kclose frees the 2 * ntenants before it */
            return SF_ERR_NOMEM;
        }
        ks->tenants[i] = (struct ktenant){ ks->strs[2 * i], ks->strs[2 * i + 1] };
        ks->ntenants++;
    }
    qsort(ks->tenants, ks->ntenants, sizeof(*ks->tenants), by_name);
    return SF_OK;
}

static sf_err connect_check(struct kstate *ks, rd_kafka_t *rk, char *errbuf, size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, OPEN_TIMEOUT_MS);

    if (e) {
        sf_errf(errbuf, errlen, "cluster: brokers %s unreachable: %s (no metadata within"
                " %d ms)", ks->brokers, rd_kafka_err2str(e), OPEN_TIMEOUT_MS);
        return SF_ERR_NETWORK;
    }
    /* The read-only view takes P from the topic itself. */
    for (int i = 0; ks->readonly && i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, ks->topic) == 0 && !md->topics[i].err)
            ks->nparts = md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    if (ks->readonly && ks->nparts <= 0) {
        sf_errf(errbuf, errlen, "cluster: cursors topic %s does not exist on %s (has the"
                " cluster run?)", ks->topic, ks->brokers);
        return SF_ERR_NOTFOUND;
    }
    return SF_OK;
}

static sf_err kopen(const struct sf_config *cfg, int readonly, struct kstate **out,
                    char *errbuf, size_t errlen)
{
    const struct sf_cluster_conf *cc = &cfg->cluster;
    struct kstate *ks = calloc(1, sizeof(*ks));
    sf_err err = SF_OK;

    if (!ks)
        return SF_ERR_NOMEM;
    ks->base.ops = &kafka_ops;
    pthread_mutex_init(&ks->lock, NULL);
    pthread_mutex_init(&ks->load_lock, NULL);
    sf_buf_init(&ks->enc, 0);
    ks->readonly = readonly;
    ks->nparts = readonly ? 0 : cc->partitions;
    if (!cc->brokers || !*cc->brokers || !cc->cursors_topic || (!readonly && cc->partitions <= 0)) {
        sf_errf(errbuf, errlen, "cluster: brokers, cursors_topic and partitions are required");
        err = SF_ERR_CONFIG;
        goto out;
    }
    if (!(ks->topic = strdup(cc->cursors_topic)) || !(ks->brokers = strdup(cc->brokers)) ||
        !(ks->owner = strdup(cc->instance_id ? cc->instance_id : "")) ||
        (err = copy_tenants(ks, cfg)) != SF_OK) {
        err = SF_ERR_NOMEM;
        goto out;
    }
    if ((err = kconf_handles(ks, cc, errbuf, errlen)) != SF_OK ||
        (err = connect_check(ks, ks->prod ? ks->prod : ks->cons, errbuf, errlen)) != SF_OK)
        goto out;
    if (!(ks->assigned = calloc((size_t)ks->nparts, 1)))
        err = SF_ERR_NOMEM;
out:
    if (err) {
        kclose(&ks->base);
        return err;
    }
    *out = ks;
    return SF_OK;
}

sf_err sf_state_open_kafka(const struct sf_config *cfg, struct sf_state **out, char *errbuf,
                           size_t errlen)
{
    struct kstate *ks = NULL;
    sf_err err = kopen(cfg, 0, &ks, errbuf, errlen);

    if (!err)
        *out = &ks->base;
    return err;
}

sf_err sf_state_open_kafka_readonly(const struct sf_config *cfg, struct sf_state **out,
                                    char *errbuf, size_t errlen)
{
    struct kstate *ks = NULL;
    int32_t *parts = NULL;
    size_t nrec = 0;
    sf_err err = kopen(cfg, 1, &ks, errbuf, errlen);

    if (err)
        return err;
    if (!(parts = calloc((size_t)ks->nparts, sizeof(*parts)))) {
        err = SF_ERR_NOMEM;
        goto out;
    }
    for (int32_t i = 0; i < ks->nparts; i++)
        parts[i] = i;
    pthread_mutex_lock(&ks->load_lock);
    err = kload_read(ks->cons, ks->topic, parts, (size_t)ks->nparts, READONLY_LOAD_MS,
                     &ks->map, &nrec, errbuf, errlen);
    pthread_mutex_unlock(&ks->load_lock);
out:
    free(parts);
    if (err) {
        kclose(&ks->base);
        return err;
    }
    *out = &ks->base;
    return SF_OK;
}

/* ---- writing ---------------------------------------------------------- */

/* Produce k's record (under ks->lock). A full local queue is waited out
 * briefly: a cursor write is small and the queue holds 100,000. */
sf_err kwrite_rec(struct kstate *ks, struct kcur *k, int released)
{
    rd_kafka_resp_err_t e;
    sf_err err = kcur_encode(k, ks->owner, ks->epoch, released, &ks->enc);

    if (err)
        return err;
    for (int tries = 0;; tries++) {
        e = rd_kafka_producev(ks->prod, RD_KAFKA_V_TOPIC(ks->topic),
                              RD_KAFKA_V_PARTITION(k->part),
                              RD_KAFKA_V_KEY(k->key, strlen(k->key)),
                              RD_KAFKA_V_VALUE(ks->enc.data, ks->enc.len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || tries == 20)
            break;
        rd_kafka_poll(ks->prod, 50);
    }
    rd_kafka_poll(ks->prod, 0); /* serve delivery reports */
    if (e) {
        sf_error(NULL, NULL, "state: cursor record %s not written: %s", k->key,
                 rd_kafka_err2str(e));
        return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ? SF_ERR_LIMIT : SF_ERR_NETWORK;
    }
    k->dirty = 0;
    k->written_mono = sf_mono_ms();
    snprintf(k->owner, sizeof(k->owner), "%s", ks->owner);
    k->epoch = ks->epoch;
    k->released = released;
    return SF_OK;
}

static const struct ktenant *tenant_of(const struct kstate *ks, const char *name)
{
    struct ktenant want = { name, NULL };
    return bsearch(&want, ks->tenants, ks->ntenants, sizeof(*ks->tenants), by_name);
}

/* The cached cursor of (tenant, output) for a change (under ks->lock),
 * created if absent. SF_ERR_STOPPED when its partition is not assigned here,
 * SF_ERR_NOTFOUND for a tenant not in the configuration. */
static sf_err writable(struct kstate *ks, const char *tenant, const char *output,
                       struct kcur **out)
{
    char key[512];
    const struct ktenant *t;

    if (ks->readonly)
        return SF_ERR_INVALID;
    snprintf(key, sizeof(key), "%s/%s", tenant, output);
    struct kcur *k = kmap_get(&ks->map, key);
    if (!k) {
        if (!(t = tenant_of(ks, tenant)))
            return SF_ERR_NOTFOUND;
        int32_t part = sf_cluster_partition(t->tenant_id, ks->nparts);
        if (!ks->assigned[part])
            return SF_ERR_STOPPED;
        if (!(k = kmap_put(&ks->map, key, part)))
            return SF_ERR_NOMEM;
    } else if (!ks->assigned[k->part]) {
        return SF_ERR_STOPPED;
    }
    *out = k;
    return SF_OK;
}

/* The cached cursor to read (under ks->lock), NULL if none. *err is
 * SF_ERR_STOPPED for a key of a partition not assigned here. */
static struct kcur *readable(struct kstate *ks, const char *tenant, const char *output,
                             sf_err *err)
{
    char key[512];
    const struct ktenant *t;

    *err = SF_OK;
    snprintf(key, sizeof(key), "%s/%s", tenant, output);
    struct kcur *k = kmap_get(&ks->map, key);
    if (ks->readonly)
        return k;
    if (k)
        *err = ks->assigned[k->part] ? SF_OK : SF_ERR_STOPPED;
    else if ((t = tenant_of(ks, tenant)) &&
             !ks->assigned[sf_cluster_partition(t->tenant_id, ks->nparts)])
        *err = SF_ERR_STOPPED;
    return *err ? NULL : k;
}

/* ---- the sf_state operations ------------------------------------------ */

static sf_err kcursor(struct sf_state *base, const char *tenant, const char *output,
                      struct sf_cursor *c)
{
    struct kstate *ks = (struct kstate *)base;
    sf_err err;

    memset(c, 0, sizeof(*c));
    c->watermark_ms = -1;
    pthread_mutex_lock(&ks->lock);
    struct kcur *k = readable(ks, tenant, output, &err);
    if (k)
        *c = k->c;
    pthread_mutex_unlock(&ks->lock);
    return err;
}

static int kseen_fn(struct sf_state *base, const char *tenant, const char *output,
                    const char *alert_id, int64_t last_update_ms)
{
    struct kstate *ks = (struct kstate *)base;
    sf_err err;
    int found = 0;

    pthread_mutex_lock(&ks->lock);
    struct kcur *k = readable(ks, tenant, output, &err);
    for (size_t i = 0; k && i < k->nseen && !found; i++)
        found = k->seen[i].last_update_ms == last_update_ms &&
                strcmp(k->seen[i].alert_id, alert_id) == 0;
    pthread_mutex_unlock(&ks->lock);
    return found;
}

static int has_seen(const struct kcur *k, const struct sf_seen *s)
{
    for (size_t i = 0; i < k->nseen; i++)
        if (k->seen[i].last_update_ms == s->last_update_ms &&
            strcmp(k->seen[i].alert_id, s->alert_id) == 0)
            return 1;
    return 0;
}

static sf_err add_seen(struct kcur *k, const struct sf_seen *s)
{
    if (has_seen(k, s))
        return SF_OK;
    if (k->nseen == k->capseen) {
        size_t cap = k->capseen ? k->capseen * 2 : 16;
        struct kseen *p = realloc(k->seen, cap * sizeof(*p));
        if (!p)
            return SF_ERR_NOMEM;
        k->seen = p;
        k->capseen = cap;
    }
    if (!(k->seen[k->nseen].alert_id = strdup(s->alert_id)))
        return SF_ERR_NOMEM;
    k->seen[k->nseen].last_update_ms = s->last_update_ms;
    k->seen[k->nseen].quarantined = s->quarantined != 0;
    k->nseen++;
    return SF_OK;
}

/* Marks coalesced on a key that then went quiet are written within about a
 * second while any key is busy (under ks->lock). */
static void sweep(struct kstate *ks)
{
    int64_t now = sf_mono_ms();

    if (now - ks->swept_mono < MARK_WRITE_MS)
        return;
    ks->swept_mono = now;
    for (size_t b = 0; b < ks->map.nb; b++)
        for (struct kcur *k = ks->map.b[b]; k; k = k->next)
            if (k->dirty && ks->assigned[k->part] && now - k->written_mono >= MARK_WRITE_MS)
                kwrite_rec(ks, k, 0);
}

static sf_err kmark(struct sf_state *base, const char *tenant, const char *output,
                    const struct sf_seen *items, size_t n)
{
    struct kstate *ks = (struct kstate *)base;
    struct kcur *k = NULL;
    uint64_t nq = 0;

    pthread_mutex_lock(&ks->lock);
    sf_err err = writable(ks, tenant, output, &k);
    for (size_t i = 0; i < n && !err; i++) {
        err = add_seen(k, &items[i]);
        nq += items[i].quarantined != 0;
    }
    if (!err) {
        k->c.delivered += n - nq;
        k->c.quarantined += nq;
        k->dirty = 1;
        if (sf_mono_ms() - k->written_mono >= MARK_WRITE_MS)
            err = kwrite_rec(ks, k, 0);
    }
    sweep(ks);
    pthread_mutex_unlock(&ks->lock);
    return err;
}

static void prune(struct kcur *k, int64_t before_ms)
{
    size_t j = 0;

    for (size_t i = 0; i < k->nseen; i++) {
        if (k->seen[i].last_update_ms < before_ms)
            free(k->seen[i].alert_id);
        else
            k->seen[j++] = k->seen[i];
    }
    k->nseen = j;
}

static sf_err kadvance(struct sf_state *base, const char *tenant, const char *output,
                       int64_t watermark_ms, int64_t prune_before_ms, int64_t now_ms)
{
    struct kstate *ks = (struct kstate *)base;
    struct kcur *k = NULL;

    pthread_mutex_lock(&ks->lock);
    sf_err err = writable(ks, tenant, output, &k);
    if (!err) {
        if (watermark_ms > k->c.watermark_ms)
            k->c.watermark_ms = watermark_ms;
        k->c.last_success_ms = k->c.last_attempt_ms = now_ms;
        k->c.last_error[0] = '\0';
        prune(k, prune_before_ms);
        err = kwrite_rec(ks, k, 0);
    }
    sweep(ks);
    pthread_mutex_unlock(&ks->lock);
    return err;
}

static sf_err kstart(struct sf_state *base, const char *tenant, const char *output,
                     int64_t watermark_ms)
{
    struct kstate *ks = (struct kstate *)base;
    struct kcur *k = NULL;

    pthread_mutex_lock(&ks->lock);
    sf_err err = writable(ks, tenant, output, &k);
    if (!err && k->c.watermark_ms < 0) {
        k->c.watermark_ms = k->start_ms = watermark_ms;
        err = kwrite_rec(ks, k, 0);
    }
    sweep(ks);
    pthread_mutex_unlock(&ks->lock);
    return err;
}

static sf_err knote(struct sf_state *base, const char *tenant, const char *output,
                    const char *error, int64_t now_ms)
{
    struct kstate *ks = (struct kstate *)base;
    struct kcur *k = NULL;

    pthread_mutex_lock(&ks->lock);
    sf_err err = writable(ks, tenant, output, &k);
    if (!err) {
        snprintf(k->c.last_error, sizeof(k->c.last_error), "%s", error);
        k->c.last_attempt_ms = now_ms;
        err = kwrite_rec(ks, k, 0);
    }
    sweep(ks);
    pthread_mutex_unlock(&ks->lock);
    return err;
}

struct row {
    char *key;            /* owned; '/' after the tenant replaced by NUL */
    size_t tenant_len;
    struct sf_cursor c;
};

static int by_key(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int d = strcmp(x->key, y->key); /* tenant first: its '/' is a NUL here */
    return d ? d : strcmp(x->key + x->tenant_len + 1, y->key + y->tenant_len + 1);
}

/* A snapshot taken under the lock, sorted by tenant and output, then
 * handed to fn without the lock (fn may call back into the state). */
static sf_err keach(struct sf_state *base, sf_state_row_fn fn, void *opaque)
{
    struct kstate *ks = (struct kstate *)base;
    struct row *rows;
    size_t n = 0;
    sf_err err = SF_OK;

    pthread_mutex_lock(&ks->lock);
    rows = calloc(ks->map.n ? ks->map.n : 1, sizeof(*rows));
    for (size_t b = 0; rows && b < ks->map.nb; b++) {
        for (struct kcur *k = ks->map.b[b]; k; k = k->next) {
            if (!ks->readonly && !ks->assigned[k->part])
                continue;
            if (!(rows[n].key = strdup(k->key))) {
                err = SF_ERR_NOMEM;
                continue;
            }
            rows[n].key[k->tenant_len] = '\0';
            rows[n].tenant_len = k->tenant_len;
            rows[n++].c = k->c;
        }
    }
    pthread_mutex_unlock(&ks->lock);
    if (!rows)
        return SF_ERR_NOMEM;
    qsort(rows, n, sizeof(*rows), by_key);
    for (size_t i = 0; i < n; i++) {
        fn(opaque, rows[i].key, rows[i].key + rows[i].tenant_len + 1, &rows[i].c);
        free(rows[i].key);
    }
    free(rows);
    return err;
}

/* Writes what marks left unwritten (still assigned), flushes (bounded). */
static void kclose(struct sf_state *base)
{
    struct kstate *ks = (struct kstate *)base;

    if (!ks)
        return;
    if (ks->prod) {
        pthread_mutex_lock(&ks->lock);
        for (size_t b = 0; b < ks->map.nb; b++)
            for (struct kcur *k = ks->map.b[b]; k; k = k->next)
                if (k->dirty && ks->assigned && ks->assigned[k->part])
                    kwrite_rec(ks, k, 0);
        pthread_mutex_unlock(&ks->lock);
        if (rd_kafka_flush(ks->prod, CLOSE_FLUSH_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
            sf_warn(NULL, NULL, "state: %d cursor record(s) unwritten at close (brokers %s)",
                    rd_kafka_outq_len(ks->prod), ks->brokers);
        rd_kafka_destroy(ks->prod);
    }
    if (ks->cons)
        rd_kafka_destroy_flags(ks->cons, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    kmap_free(&ks->map);
    for (size_t i = 0; ks->strs && i < 2 * ks->ntenants; i++)
        free(ks->strs[i]);
    free(ks->strs);
    free(ks->tenants);
    free(ks->assigned);
    free(ks->topic);
    free(ks->brokers);
    free(ks->owner);
    sf_buf_free(&ks->enc);
    pthread_mutex_destroy(&ks->lock);
    pthread_mutex_destroy(&ks->load_lock);
    free(ks);
}

static const struct sf_state_ops kafka_ops = {
    .name = "kafka",
    .cursor = kcursor,
    .seen = kseen_fn,
    .mark = kmark,
    .advance = kadvance,
    .start = kstart,
    .note = knote,
    .each = keach,
    .close = kclose,
};
