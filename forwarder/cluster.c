/* cluster.c - cluster membership (sf_cluster.h): the consumer in
 * cluster.group on cluster.tenants_topic, its thread and rebalance callback
 * (assign: load cursors, wait out an unclean takeover, own the tenants;
 * revoke: stop, settle within shutdown_timeout, release; lost or frozen:
 * fence, write nothing), and which tenant may run now. Topic checks and
 * creation are cluster_topics.c; the drift check cluster_drift.c. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_priv.h"
#include "sf_clock.h"
#include "sf_cluster_hash.h"
#include "sf_log.h"

#define LOOP_POLL_MS 100
#define SETTLE_STEP_MS 50
#define LOG_NAMES_MAX 20

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---- which tenants ---------------------------------------------------- */

/* "p1,p2,..." of the tenants topic's partitions in parts, and the tenants
 * they hold (at most LOG_NAMES_MAX named) into a log line. */
static void describe(struct sf_cluster *c, const rd_kafka_topic_partition_list_t *parts,
                     char *buf, size_t n, size_t *ntenants)
{
    size_t len = 0, named = 0;
    *ntenants = 0;
    buf[0] = '\0';
    len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "partitions [");
    for (int i = 0; i < parts->cnt; i++)
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%d", i ? "," : "",
                                parts->elems[i].partition);
    len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "], tenants [");
    for (size_t ti = 0; ti < c->ntenants; ti++) {
        if (!c->mark[ti])
            continue;
        (*ntenants)++;
        if (named++ < LOG_NAMES_MAX)
            len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s",
                                    named > 1 ? " " : "", c->names[ti]);
    }
    snprintf(buf + len, len < n ? n - len : 0, "%s]",
             named > LOG_NAMES_MAX ? " ..." : "");
}

/* c->mark[ti] = 1 for the tenants whose partition is in parts (the tenants
 * topic's); the partitions into c->pbuf. Returns how many partitions. */
static size_t mark_tenants(struct sf_cluster *c, const rd_kafka_topic_partition_list_t *parts)
{
    size_t np = 0;
    memset(c->mark, 0, c->ntenants ? c->ntenants : 1);
    memset(c->pmark, 0, (size_t)c->P);
    for (int i = 0; parts && i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (strcmp(parts->elems[i].topic, c->cfg->cluster.tenants_topic) != 0 || p < 0 ||
            p >= c->P || c->pmark[p])
            continue;
        c->pmark[p] = 1;
        c->pbuf[np++] = p;
    }
    for (size_t ti = 0; ti < c->ntenants; ti++)
        c->mark[ti] = c->pmark[c->tpart[ti]];
    return np;
}

size_t sf_cluster_count_owned(struct sf_cluster *c)
{
    size_t n = 0;
    for (size_t ti = 0; ti < c->ntenants; ti++)
        n += atomic_load(&c->owned_from[ti]) >= 0;
    return n;
}

/* ---- rebalance -------------------------------------------------------- */

#define LOAD_RETRY_MS 5000

/* Read the cursors of parts and own their tenants. */
static void take_over(struct sf_cluster *c, const rd_kafka_topic_partition_list_t *parts,
                      int64_t t0)
{
    int64_t wait = 0;
    char line[2048], errbuf[512];
    size_t nt, np = mark_tenants(c, parts);
    int unclean = 0;

    describe(c, parts, line, sizeof(line), &nt);
    if (c->kstate && np) {
        sf_state_kafka_set_epoch(c->kstate, sf_now_ms());
        sf_cluster_guard_tick(&c->guard, sf_mono_ms());
        sf_err lerr = sf_state_kafka_load(c->kstate, c->pbuf, np, c->load_timeout_ms,
                                          &unclean, errbuf, sizeof(errbuf));
        sf_cluster_guard_worked(&c->guard, sf_mono_ms()); /* a slow load is no freeze */
        if (lerr != SF_OK) {
            /* not owned: polling without the cursors would start over */
            sf_error(NULL, NULL, "cluster: cannot read the cursors of %s: %s; not polling "
                     "them yet (trying again in %d s)", line, errbuf, LOAD_RETRY_MS / 1000);
            c->retry_load_at = sf_mono_ms() + LOAD_RETRY_MS;
            return;
        }
    }
    for (size_t i = 0; i < np; i++)
        c->ploaded[c->pbuf[i]] = 1;
    if (unclean) {
        wait = 2 * c->heartbeat_ms;
        sf_warn(NULL, NULL, "cluster: unclean takeover (the previous owner did not release "
                "its cursors): waiting %lld ms before polling", (long long)wait);
    }
    /* pairs may still hold a round of a fenced past: adopt within a bound */
    int64_t deadline = sf_mono_ms() + c->settle_timeout_ms;
    for (size_t ti = 0; ti < c->ntenants; ti++) {
        if (!c->mark[ti])
            continue;
        while (c->hooks.adopt(c->hooks.opaque, ti) != 0 && sf_mono_ms() < deadline) {
            sf_cluster_guard_tick(&c->guard, sf_mono_ms());
            sleep_ms(SETTLE_STEP_MS);
        }
        atomic_store(&c->owned_from[ti], sf_mono_ms() + wait);
    }
    int64_t took = sf_mono_ms() - t0 + wait;
    atomic_store(&c->takeover_ms, took);
    atomic_store(&c->nowned, sf_cluster_count_owned(c));
    sf_cluster_guard_tick(&c->guard, sf_mono_ms());
    sf_info(NULL, NULL, "cluster: assigned %s: %zu tenants (owned now: %zu; takeover %lld ms)",
            line, nt, (size_t)atomic_load(&c->nowned), (long long)took);
}

static void on_assign(struct sf_cluster *c, const rd_kafka_topic_partition_list_t *parts)
{
    int64_t t0 = sf_mono_ms();
    atomic_fetch_add(&c->rebalances, 1);
    c->frozen = 0; /* the group answered: whatever it assigns now is ours */
    sf_cluster_guard_confirm(&c->guard, t0);
    take_over(c, parts, t0);
}

/* A load that failed: the partitions of the assignment not loaded yet. */
static void retry_load(struct sf_cluster *c)
{
    rd_kafka_topic_partition_list_t *cur = NULL, *todo;

    c->retry_load_at = 0;
    if (rd_kafka_assignment(c->rk, &cur) != RD_KAFKA_RESP_ERR_NO_ERROR || !cur)
        return;
    todo = rd_kafka_topic_partition_list_new(cur->cnt ? cur->cnt : 1);
    for (int i = 0; i < cur->cnt; i++) {
        int32_t p = cur->elems[i].partition;
        if (p >= 0 && p < c->P && !c->ploaded[p])
            rd_kafka_topic_partition_list_add(todo, cur->elems[i].topic, p);
    }
    if (todo->cnt)
        take_over(c, todo, sf_mono_ms());
    rd_kafka_topic_partition_list_destroy(todo);
    rd_kafka_topic_partition_list_destroy(cur);
}

static void disown(struct sf_cluster *c)
{
    for (size_t ti = 0; ti < c->ntenants; ti++)
        if (c->mark[ti])
            atomic_store(&c->owned_from[ti], -1);
}

static void on_revoke(struct sf_cluster *c, const rd_kafka_topic_partition_list_t *parts)
{
    char line[2048];
    size_t nt, np = mark_tenants(c, parts), left = 0;

    describe(c, parts, line, sizeof(line), &nt);
    disown(c);
    int64_t deadline = sf_mono_ms() + c->settle_timeout_ms;
    for (;;) {
        left = 0;
        for (size_t ti = 0; ti < c->ntenants; ti++)
            left += c->mark[ti] && !c->hooks.settled(c->hooks.opaque, ti);
        if (!left || sf_mono_ms() >= deadline)
            break;
        sf_cluster_guard_tick(&c->guard, sf_mono_ms()); /* draining is the loop's work */
        sleep_ms(SETTLE_STEP_MS);
    }
    for (size_t ti = 0; ti < c->ntenants; ti++)
        if (c->mark[ti])
            c->hooks.fence(c->hooks.opaque, ti);
    if (left)
        sf_warn(NULL, NULL, "cluster: %zu revoked tenants still had records in flight after "
                "%lld ms; their cursors stay where they are (the next owner reads those "
                "records again)", left, (long long)c->settle_timeout_ms);
    for (size_t i = 0; i < np; i++)
        c->ploaded[c->pbuf[i]] = 0;
    if (c->kstate && np) {
        sf_cluster_guard_tick(&c->guard, sf_mono_ms());
        sf_err rerr = sf_state_kafka_release(c->kstate, c->pbuf, np, c->load_timeout_ms);
        sf_cluster_guard_worked(&c->guard, sf_mono_ms());
        if (rerr != SF_OK)
            sf_warn(NULL, NULL, "cluster: could not write the released cursors of %s", line);
    }
    atomic_fetch_add(&c->rebalances, 1);
    atomic_store(&c->nowned, sf_cluster_count_owned(c));
    sf_cluster_guard_tick(&c->guard, sf_mono_ms());
    sf_info(NULL, NULL, "cluster: revoked %s: %zu tenants released", line, nt);
}

/* Lost (session expired) or suspect (the loop was frozen): the tenants are
 * someone else's already; drop their queued work and write nothing. */
static void on_lost(struct sf_cluster *c, const rd_kafka_topic_partition_list_t *parts,
                    const char *why)
{
    char line[2048];
    size_t nt, np = mark_tenants(c, parts);

    describe(c, parts, line, sizeof(line), &nt);
    disown(c);
    for (size_t ti = 0; ti < c->ntenants; ti++)
        if (c->mark[ti])
            c->hooks.fence(c->hooks.opaque, ti);
    for (size_t i = 0; i < np; i++)
        c->ploaded[c->pbuf[i]] = 0;
    if (c->kstate && np)
        sf_state_kafka_lost(c->kstate, c->pbuf, np);
    atomic_fetch_add(&c->rebalances, 1);
    atomic_store(&c->nowned, sf_cluster_count_owned(c));
    sf_warn(NULL, NULL, "cluster: lost %s (%s): %zu tenants dropped without writing cursors",
            line, why, nt);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct sf_cluster *c = opaque;
    int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *kerr = NULL;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(c, parts);
        if (coop)
            kerr = rd_kafka_incremental_assign(rk, parts);
        else
            rd_kafka_assign(rk, parts);
    } else {
        /* a revoke that arrives first thing after a freeze (SIGCONT inside
         * consumer_poll) must see it: tick before choosing */
        sf_cluster_guard_tick(&c->guard, sf_mono_ms());
        if (rd_kafka_assignment_lost(rk))
            on_lost(c, parts, "assignment lost: the group moved on without this instance");
        else if (c->frozen || atomic_load(&c->guard.suspect))
            on_lost(c, parts, "this instance was frozen longer than its session");
        else
            on_revoke(c, parts);
        if (coop)
            kerr = rd_kafka_incremental_unassign(rk, parts);
        else
            rd_kafka_assign(rk, NULL);
    }
    if (kerr) {
        sf_error(NULL, NULL, "cluster: %s", rd_kafka_error_string(kerr));
        rd_kafka_error_destroy(kerr);
    }
}

/* ---- the loop --------------------------------------------------------- */

/* The loop was frozen longer than the session: everything assigned here is
 * suspect. Fence it now, and leave and rejoin the group so that the group
 * confirms (or moves) the assignment without waiting for librdkafka to
 * notice the expired session (~14 s measured). */
static void frozen(struct sf_cluster *c, int64_t gap)
{
    rd_kafka_topic_partition_list_t *cur = NULL;

    sf_error(NULL, NULL, "cluster: the consumer loop was stopped for %lld ms (longer than "
             "session.timeout.ms %lld): this instance's assignment is suspect; polling and "
             "delivery of its tenants stop until the group assigns again",
             (long long)gap, (long long)c->session_ms);
    c->frozen = 1;
    if (rd_kafka_assignment(c->rk, &cur) == RD_KAFKA_RESP_ERR_NO_ERROR && cur) {
        if (cur->cnt)
            on_lost(c, cur, "frozen");
        rd_kafka_topic_partition_list_destroy(cur);
    }
    /* tenants owned but not in the assignment yet are dropped too */
    memset(c->mark, 1, c->ntenants ? c->ntenants : 1);
    memset(c->ploaded, 0, (size_t)c->P);
    c->retry_load_at = 0;
    disown(c);
    for (size_t ti = 0; ti < c->ntenants; ti++)
        c->hooks.fence(c->hooks.opaque, ti);
    atomic_store(&c->nowned, 0);
    /* the revoke this causes arrives later and, c->frozen still set, is
     * treated as lost: nothing written until on_assign clears it */
    rd_kafka_unsubscribe(c->rk);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, c->topics);
    if (err)
        sf_error(NULL, NULL, "cluster: cannot rejoin the group: %s", rd_kafka_err2str(err));
}

static void *loop_main(void *arg)
{
    struct sf_cluster *c = arg;

    while (!atomic_load(&c->stop)) {
        /* a freeze found here or by a tick inside the last callback (which
         * could not leave the group from there) */
        sf_cluster_guard_tick(&c->guard, sf_mono_ms());
        int64_t gap = sf_cluster_guard_take_frozen(&c->guard);
        if (gap > 0)
            frozen(c, gap);
        int64_t now = sf_mono_ms();
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, LOOP_POLL_MS);
        if (m) {
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                sf_debug(NULL, NULL, "cluster: consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
        if (c->retry_load_at && sf_mono_ms() >= c->retry_load_at && !c->frozen)
            retry_load(c);
        sf_cluster_drift_tick(c, now);
    }
    return NULL;
}

/* ---- public ----------------------------------------------------------- */

int sf_cluster_may_run_at(struct sf_cluster *c, size_t ti, int64_t now_mono)
{
    if (!c)
        return 1;
    if (ti >= c->ntenants)
        return 0;
    int64_t from = atomic_load(&c->owned_from[ti]);
    return from >= 0 && now_mono >= from && sf_cluster_guard_alive(&c->guard, now_mono);
}

int sf_cluster_may_run(struct sf_cluster *c, size_t ti)
{
    return !c || sf_cluster_may_run_at(c, ti, sf_mono_ms());
}

sf_err sf_cluster_start(struct sf_cluster *c)
{
    sf_cluster_guard_init(&c->guard, sf_mono_ms(), c->alive_ms, c->session_ms);
    if (pthread_create(&c->thread, NULL, loop_main, c) != 0)
        return SF_ERR_INTERNAL;
    c->running = 1;
    return SF_OK;
}

void sf_cluster_stop(struct sf_cluster *c)
{
    if (!c)
        return;
    if (c->running) {
        atomic_store(&c->stop, 1);
        pthread_join(c->thread, NULL);
        c->running = 0;
    }
    if (c->rk && !c->closed) {
        /* leaves the group: the revoke callback settles and releases */
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(c->rk);
        if (err)
            sf_warn(NULL, NULL, "cluster: leaving the group: %s", rd_kafka_err2str(err));
        c->closed = 1;
        sf_info(NULL, NULL, "cluster: left group %s", c->cfg->cluster.group);
    }
}

void sf_cluster_stats(struct sf_cluster *c, struct sf_cluster_stats *s)
{
    memset(s, 0, sizeof(*s));
    if (!c)
        return;
    s->owned_tenants = atomic_load(&c->nowned);
    s->rebalances = atomic_load(&c->rebalances);
    s->takeover_seconds = (double)atomic_load(&c->takeover_ms) / 1000.0;
    s->drift = atomic_load(&c->drift);
    s->alive = sf_cluster_guard_alive(&c->guard, sf_mono_ms());
}

void sf_cluster_free(struct sf_cluster *c)
{
    if (!c)
        return;
    sf_cluster_stop(c);
    sf_cluster_drift_free(c);
    if (c->rk)
        rd_kafka_destroy(c->rk);
    if (c->topics)
        rd_kafka_topic_partition_list_destroy(c->topics);
    free(c->tpart);
    free(c->owned_from);
    free(c->mark);
    free(c->pmark);
    free(c->pbuf);
    free(c->ploaded);
    free(c->names);
    free(c);
}

sf_err sf_cluster_new(const struct sf_config *cfg, const char *const *tenant_ids,
                      const char *const *names, size_t n,
                      const struct sf_cluster_hooks *hooks, struct sf_state *kstate,
                      struct sf_cluster **out, char *errbuf, size_t errlen)
{
    struct sf_cluster *c = calloc(1, sizeof(*c));
    sf_err err = SF_ERR_NOMEM;

    if (!c)
        return SF_ERR_NOMEM;
    c->cfg = cfg;
    c->hooks = *hooks;
    c->kstate = kstate;
    c->ntenants = n;
    c->P = cfg->cluster.partitions;
    c->settle_timeout_ms = cfg->shutdown_timeout_ms;
    c->tpart = calloc(n ? n : 1, sizeof(*c->tpart));
    c->owned_from = calloc(n ? n : 1, sizeof(*c->owned_from));
    c->mark = calloc(n ? n : 1, 1);
    c->pmark = calloc((size_t)c->P, 1);
    c->pbuf = calloc((size_t)c->P, sizeof(*c->pbuf));
    c->ploaded = calloc((size_t)c->P, 1);
    c->names = calloc(n ? n : 1, sizeof(*c->names));
    if (!c->tpart || !c->owned_from || !c->mark || !c->pmark || !c->pbuf || !c->ploaded ||
        !c->names)
        goto fail;
    for (size_t ti = 0; ti < n; ti++) {
        c->tpart[ti] = sf_cluster_partition(tenant_ids[ti], c->P);
        c->names[ti] = names[ti];
        atomic_store(&c->owned_from[ti], -1);
    }
    if ((err = sf_cluster_consumer(c, rebalance_cb, errbuf, errlen)) != SF_OK)
        goto fail;
    if ((err = sf_cluster_topics(c, errbuf, errlen)) != SF_OK)
        goto fail;
    if ((err = sf_cluster_drift_new(c, errbuf, errlen)) != SF_OK)
        goto fail;
    c->topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(c->topics, cfg->cluster.tenants_topic,
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t kerr = rd_kafka_subscribe(c->rk, c->topics);
    if (kerr) {
        snprintf(errbuf, errlen, "cluster: cannot subscribe to %s: %s",
                 cfg->cluster.tenants_topic, rd_kafka_err2str(kerr));
        err = SF_ERR_NETWORK;
        goto fail;
    }
    sf_info(NULL, NULL, "cluster: instance %s joining group %s on %s (%d partitions, %zu "
            "tenants, brokers %s)", cfg->cluster.instance_id, cfg->cluster.group,
            cfg->cluster.tenants_topic, c->P, n, cfg->cluster.brokers);
    *out = c;
    return SF_OK;
fail:
    c->closed = 1; /* never joined: nothing to leave */
    sf_cluster_free(c);
    return err;
}
