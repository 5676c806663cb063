/* pipeline.c - builds the running pipeline from a loaded config (outputs
 * with their threads, tenants with their schedule, worker pool with per
 * worker API clients and formats) and runs the scheduler. Each tenant is
 * independent: its errors, throttling and backoff never touch another. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sf_cluster.h"
#include "sf_events.h"
#include "sf_log.h"
#include "sf_pipeline.h"
#include "sf_progress.h"
#include "sf_notify_policy.h"
#include "sf_rules.h"
#include "sf_state_kafka.h"

/* run --once: a tenant's pass gets this many failed attempts (backoff in
 * between); throttling does not count, but each Retry-After longer than
 * ONCE_MAX_WAIT_MS, or more than ONCE_MAX_THROTTLES of them, ends the pass. */
#define ONCE_MAX_ATTEMPTS 3
#define ONCE_MAX_THROTTLES 10
#define ONCE_MAX_WAIT_MS ((int64_t)120 * 1000)
/* ... and a healthy output whose queue was full goes on from its position
 * in further cycles, at most this many. */
#define ONCE_MAX_CATCHUPS 1000
#define ONCE_CATCHUP_DELAY_MS 100

/* TLS verification can only be turned off explicitly; say so at every start.
 * A tls: block says it itself (sf_tls_bind, at the output's init); Kafka's
 * librdkafka properties are not a tls: block. */
static void warn_unverified(const struct sf_output_conf *oc)
{
    const struct sf_node *props = sf_node_get(oc->node, "properties");
    const struct sf_node *kv = sf_node_get(props, "enable.ssl.certificate.verification");
    int off = 0;
    if (kv && kv->type == SF_NODE_SCALAR && sf_parse_bool(kv->str, &off) == 0 && !off)
        sf_warn(NULL, oc->name, "TLS certificate verification is OFF (%s:%d): anyone on "
                "the path can read and forge what this output sends", oc->node->file,
                kv->line);
}

static sf_err setup_outputs(struct sf_pipeline *p, char *errbuf, size_t errlen)
{
    const struct sf_config *cfg = p->cfg;
    struct sf_buf errs;
    sf_err err = SF_OK;

    sf_buf_init(&errs, 0);
    p->outs = calloc(cfg->n_outputs ? cfg->n_outputs : 1, sizeof(*p->outs));
    if (!p->outs)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < cfg->n_outputs && !err; i++) {
        const struct sf_output_conf *oc = &cfg->outputs[i];
        struct sf_outrun *r = &p->outs[i];
        r->out.type = sf_output_type_find(oc->type);
        if (!r->out.type) {
            sf_errf(errbuf, errlen, "%s:%d: %s.type: output type '%s' is not built in",
                    cfg->file, oc->line, oc->path, oc->type);
            err = SF_ERR_CONFIG;
            break;
        }
        r->out.name = strdup(oc->name);
        r->out.state_dir = cfg->state_dir;
        r->state_dir = cfg->state_dir;
        r->state = p->state;
        r->flush_timeout_ms = (int)cfg->shutdown_timeout_ms;
        r->max_bytes = (uint64_t)oc->queue_max_bytes;
        r->max_failing_ms = oc->queue_max_failing_ms;
        /* rules first: a notification output's policy reads them */
        err = sf_rules_compile(oc->rules, oc->path, &r->rules, &errs);
        if (!err)
            err = sf_notify_output_init(&r->out, oc->node, oc->path, r->rules,
                                        p->state, &errs);
        if (err) {
            sf_errf(errbuf, errlen, "%s", errs.data ? errs.data : sf_strerror(err));
            if (r->out.ctx)
                r->out.type->destroy(&r->out);
            free(r->out.name);
            r->out.name = NULL;
            break;
        }
        p->nouts++;
        warn_unverified(oc);
    }
    sf_buf_free(&errs);
    return err;
}

/* The worker's own format instance for output i. */
static sf_err output_format(struct sf_pipeline *p, size_t i, struct sf_format **out,
                            char *errbuf, size_t errlen)
{
    const struct sf_output_conf *oc = &p->cfg->outputs[i];
    const struct sf_format_type *type = &sf_format_json;
    const char *map = NULL;

    *out = NULL;
    /* no format (email, webhook): they read the alert, so they get JSON */
    if (oc->fmt) {
        if (!(type = sf_format_type_find(oc->fmt->type_name)))
            return SF_ERR_CONFIG;
        map = oc->fmt->map;
    }
    sf_err err = sf_format_new(type, map, out, errbuf, errlen);
    if (err)
        return err;
    (*out)->opts.max_len = oc->fmt && oc->fmt->max_len ? (size_t)oc->fmt->max_len
                                                        : p->outs[i].out.max_record;
    return SF_OK;
}

static sf_err setup_tenants(struct sf_pipeline *p, char *errbuf, size_t errlen)
{
    const struct sf_config *cfg = p->cfg;
    p->tenants = calloc(cfg->n_tenants ? cfg->n_tenants : 1, sizeof(*p->tenants));
    if (!p->tenants)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < cfg->n_tenants; i++) {
        const struct sf_tenant_conf *tc = &cfg->tenants[i];
        if (!tc->enabled)
            continue;
        struct sf_tenant_rt *t = &p->tenants[p->ntenants++];
        t->tc = tc;
        t->ft = (struct sf_fetch_tenant){
            tc->name, tc->tenant_id, tc->source_name, tc->client_id,
            tc->client_secret, tc->has_cert ? tc->cert.cert_file : NULL,
            tc->has_cert ? tc->cert.key_file : NULL,
            tc->has_cert ? tc->cert.key_password : NULL, tc->authority, tc->api_base,
            tc->filter, (int)tc->page_size,
        };
        size_t n = tc->outputs.n ? tc->outputs.n : p->nouts;
        t->outs = calloc(n ? n : 1, sizeof(*t->outs));
        if (!t->outs)
            return SF_ERR_NOMEM;
        for (size_t k = 0; k < n; k++) {
            size_t oi = k;
            if (tc->outputs.n) {
                for (oi = 0; oi < p->nouts; oi++)
                    if (strcmp(p->outs[oi].out.name, tc->outputs.v[k]) == 0)
                        break;
                if (oi == p->nouts) {
                    sf_errf(errbuf, errlen, "tenant %s: unknown output %s", tc->name,
                            tc->outputs.v[k]);
                    return SF_ERR_CONFIG;
                }
            }
            t->outs[t->nouts++] = oi;
        }
    }
    return SF_OK;
}

static sf_err setup_workers(struct sf_pipeline *p, char *errbuf, size_t errlen)
{
    size_t n = (size_t)p->cfg->http_max_parallel;
    if (n > p->ntenants)
        n = p->ntenants ? p->ntenants : 1;
    p->workers = calloc(n, sizeof(*p->workers));
    if (!p->workers)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct sf_worker *w = &p->workers[i];
        w->p = p;
        p->nworkers++;
        sf_err err = sf_api_client_new(&p->fopts, p->tokens, &w->api);
        if (err) {
            sf_errf(errbuf, errlen, "cannot create an HTTP client: %s", sf_strerror(err));
            return err;
        }
        w->fmts = calloc(p->nouts ? p->nouts : 1, sizeof(*w->fmts));
        if (!w->fmts)
            return SF_ERR_NOMEM;
        for (size_t k = 0; k < p->nouts; k++) {
            err = output_format(p, k, &w->fmts[k], errbuf, errlen);
            if (err)
                return err;
        }
    }
    return SF_OK;
}

/* ---- cluster hooks (sf_cluster.h), on the cluster's thread ------------ */

static int hook_settled(void *opaque, size_t ti)
{
    struct sf_pipeline *p = opaque;
    struct sf_tenant_rt *t = &p->tenants[ti];
    pthread_mutex_lock(&p->mu);
    int busy = t->busy;
    pthread_mutex_unlock(&p->mu);
    if (busy)
        return 0;
    for (size_t k = 0; k < t->nouts; k++) {
        struct sf_outrun *r = &p->outs[t->outs[k]];
        struct sf_outpair_view v;
        if (!r->inited || !r->running)
            continue; /* stopped (shutdown): nothing more will settle */
        sf_outrun_pair(r, ti, &v);
        if (v.attached && (v.open || v.committed < v.position))
            return 0;
    }
    return 1;
}

static void hook_fence(void *opaque, size_t ti)
{
    struct sf_pipeline *p = opaque;
    struct sf_tenant_rt *t = &p->tenants[ti];
    for (size_t k = 0; k < t->nouts; k++)
        sf_outrun_fence(&p->outs[t->outs[k]], ti);
}

static int hook_adopt(void *opaque, size_t ti)
{
    struct sf_pipeline *p = opaque;
    struct sf_tenant_rt *t = &p->tenants[ti];
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    int busy = t->busy;
    pthread_mutex_unlock(&p->mu);
    if (busy)
        return -1; /* a cycle of a fenced past is still running */
    for (size_t k = 0; k < t->nouts; k++)
        rc |= sf_outrun_adopt(&p->outs[t->outs[k]], ti);
    return rc ? -1 : 0;
}

int sf_pipeline_tenant_live(struct sf_pipeline *p, size_t ti)
{
    return !p->cluster || sf_cluster_may_run(p->cluster, ti);
}

static sf_err setup_cluster(struct sf_pipeline *p, char *errbuf, size_t errlen)
{
    const struct sf_cluster_hooks hooks = { p, hook_settled, hook_fence, hook_adopt };
    if (!p->cfg->cluster.enabled)
        return SF_OK;
    if (p->once) {
        sf_errf(errbuf, errlen, "run --once is not available in cluster mode (%s has a "
                "cluster: section): which tenants are this instance's changes with every "
                "rebalance, so a pass over them has no clear end; run without --once",
                p->cfg->file);
        return SF_ERR_CONFIG;
    }
    p->tids = calloc(p->ntenants ? p->ntenants : 1, sizeof(*p->tids));
    p->tnames = calloc(p->ntenants ? p->ntenants : 1, sizeof(*p->tnames));
    if (!p->tids || !p->tnames)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < p->ntenants; i++) {
        p->tids[i] = p->tenants[i].tc->tenant_id;
        p->tnames[i] = p->tenants[i].tc->name;
    }
    return sf_cluster_new(p->cfg, p->tids, p->tnames, p->ntenants, &hooks, p->state,
                          &p->cluster, errbuf, errlen);
}

sf_err sf_pipeline_new(const struct sf_config *cfg, int once, struct sf_pipeline **out,
                       char *errbuf, size_t errlen)
{
    struct sf_pipeline *p = calloc(1, sizeof(*p));
    sf_err err;

    if (!p)
        return SF_ERR_NOMEM;
    p->cfg = cfg;
    p->once = once;
    p->fetch_window = sf_fetch_window;
    /* parsing and rendering use a core each; more pages at once only cost
     * memory (a parsed page of 500 alerts is tens of MB) */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    sf_gate_init(&p->page_gate, cores > 2 ? (int)cores : 2);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->fopts = (struct sf_fetch_opts){ .organization = cfg->organization,
                                       .tls = &cfg->http_tls,
                                       .timeout_ms = (long)cfg->http_timeout_ms,
                                       .max_response = (size_t)cfg->http_max_response,
                                       .abort_flag = &p->stop, /* stop aborts calls */
                                       .max_retry_after_ms = cfg->http_max_retry_after_ms,
                                       .page_gate = &p->page_gate };
    /* cluster: the cursors live in the cursors topic, shared by the group */
    if (cfg->cluster.enabled && !once)
        err = sf_state_open_kafka(cfg, &p->state, errbuf, errlen);
    else
        err = sf_state_open(cfg->state_dir,
                            cfg->state_sync && strcmp(cfg->state_sync, "full") == 0,
                            &p->state, errbuf, errlen);
    if (!err)
        err = sf_token_cache_new(&p->tokens);
    if (!err)
        err = setup_outputs(p, errbuf, errlen);
    if (!err)
        err = setup_tenants(p, errbuf, errlen);
    if (!err)
        err = setup_workers(p, errbuf, errlen);
    if (!err)
        err = setup_cluster(p, errbuf, errlen);
    if (err) {
        if (!errbuf[0])
            sf_errf(errbuf, errlen, "%s", sf_strerror(err));
        sf_pipeline_free(p);
        return err;
    }
    *out = p;
    return SF_OK;
}

static int64_t backoff_ms(int fails)
{
    int64_t ms = 5000;
    for (int i = 1; i < fails && ms < 300000; i++)
        ms *= 2;
    if (ms > 300000)
        ms = 300000;
    return ms + rand() % (ms / 5 + 1);
}

static void remember(struct sf_tenant_rt *t, sf_err err, const struct sf_fetch_status *st)
{
    snprintf(t->last_error, sizeof(t->last_error), "%s", st->msg[0] ? st->msg :
             sf_strerror(err));
}

/* After a cycle: when does this tenant run next. Called with p->mu held. */
static void reschedule(struct sf_pipeline *p, struct sf_tenant_rt *t, sf_err err,
                       const struct sf_fetch_status *st)
{
    const char *name = t->tc->name;
    int64_t now = sf_now_ms(), poll = p->cfg->poll_interval_ms;

    if (p->stop && err)
        return; /* cut short by shutdown: not a failure */
    if (err == SF_ERR_STOPPED && !sf_pipeline_tenant_live(p, (size_t)(t - p->tenants)))
        return; /* cluster: no longer ours (revoked, lost) mid-cycle: not a failure */
    t->runs++;
    if (!err && st->msg[0]) /* a warning the fetch stage could work around */
        sf_warn(name, NULL, "%s", st->msg);
    if (!err) {
        if (t->no_output)
            /* read fine, but some or all outputs took nothing: each catches
             * up from its own cursor once it takes records again */
            sf_warn(name, NULL, "no output accepted this tenant's records; cursors held");
        else if (t->auth_failed)
            sf_info(name, NULL, "access restored");
        t->fails = t->auth_failed = t->throttles = 0;
        t->last_success_ms = now;
        t->last_error[0] = '\0';
        t->next_due_ms = now + poll;
        t->pass_ok = 1;
        t->done = p->once;
        if (p->once && t->behind && t->catchups++ < ONCE_MAX_CATCHUPS) {
            t->next_due_ms = now + ONCE_CATCHUP_DELAY_MS;
            t->done = 0;
        }
        return;
    }
    p->failed_cycles++;
    t->pass_ok = 0;
    remember(t, err, st);
    if (err == SF_ERR_THROTTLED) {
        t->throttled++;
        t->throttles++;
        int64_t wait = st->retry_after_ms > 0 ? st->retry_after_ms : poll;
        sf_warn(name, NULL, "throttled by the API (HTTP 429); next try in %lld ms",
                (long long)wait);
        t->next_due_ms = now + wait;
        if (p->once && (wait > ONCE_MAX_WAIT_MS || t->throttles > ONCE_MAX_THROTTLES)) {
            snprintf(t->last_error, sizeof(t->last_error), "throttled by the API %d times, "
                     "last Retry-After %lld s", t->throttles, (long long)wait / 1000);
            t->done = 1;
        }
        return;
    }
    if (err == SF_ERR_AUTH) {
        int64_t wait = poll * 10 < 3600000 ? poll * 10 : 3600000;
        sf_error(name, NULL, "access refused (consent revoked or credentials wrong): %s; "
                 "retrying in %lld s", st->msg, (long long)wait / 1000);
        t->auth_failed = 1;
        t->next_due_ms = now + wait;
        t->done = p->once;
        return;
    }
    t->fails++;
    int64_t wait = backoff_ms(t->fails);
    if (p->once && t->fails >= ONCE_MAX_ATTEMPTS) {
        sf_error(name, NULL, "cycle failed: %s (%s); giving up after %d attempts", st->msg,
                 sf_strerror(err), t->fails);
        t->done = 1;
        return;
    }
    sf_warn(name, NULL, "cycle failed: %s (%s); retrying in %lld ms", st->msg,
            sf_strerror(err), (long long)wait);
    t->next_due_ms = now + wait;
}

/* The due tenant with the earliest deadline, or NULL; *wake gets the next
 * deadline. Called with p->mu held. */
static struct sf_tenant_rt *pick(struct sf_pipeline *p, int64_t now, int64_t *wake,
                                 int *all_done)
{
    struct sf_tenant_rt *best = NULL;
    int64_t mono = p->cluster ? sf_mono_ms() : 0;
    *wake = now + 1000;
    *all_done = 1;
    for (size_t i = 0; i < p->ntenants; i++) {
        struct sf_tenant_rt *t = &p->tenants[i];
        if (t->done)
            continue;
        *all_done = 0;
        if (t->busy || (p->cluster && !sf_cluster_may_run_at(p->cluster, i, mono)))
            continue;
        if (t->next_due_ms <= now) {
            if (!best || t->next_due_ms < best->next_due_ms)
                best = t;
        } else if (t->next_due_ms < *wake) {
            *wake = t->next_due_ms;
        }
    }
    return best;
}

static void *worker_main(void *arg)
{
    struct sf_worker *w = arg;
    struct sf_pipeline *p = w->p;

    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t now = sf_now_ms(), wake;
        int all_done;
        struct sf_tenant_rt *t = pick(p, now, &wake, &all_done);
        if (all_done && p->once)
            break;
        if (!t) {
            if (wake > now + 200)
                wake = now + 200; /* notice stop requests from signal handlers */
            struct timespec ts = sf_clock_at(wake);
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            continue;
        }
        t->busy = 1;
        pthread_mutex_unlock(&p->mu);
        struct sf_fetch_status st;
        sf_err err = sf_cycle_run(w, t, &st);
        pthread_mutex_lock(&p->mu);
        t->busy = 0;
        reschedule(p, t, err, &st);
        pthread_cond_broadcast(&p->cv);
    }
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static sf_err start_outputs(struct sf_pipeline *p)
{
    for (size_t i = 0; i < p->nouts; i++) {
        struct sf_outrun *r = &p->outs[i];
        if (sf_outrun_start(r, p->ntenants) != SF_OK)
            return SF_ERR_INTERNAL;
        for (size_t ti = 0; ti < p->ntenants; ti++) {
            r->pairs[ti].tenant = p->tenants[ti].tc->name;
            r->pairs[ti].overlap_ms = p->tenants[ti].tc->overlap_ms;
        }
    }
    return SF_OK;
}

/* Every output delivers what it holds, all at once, within shutdown_timeout. */
static void drain_outputs(struct sf_pipeline *p)
{
    int64_t deadline = sf_now_ms() + p->cfg->shutdown_timeout_ms;
    for (size_t i = 0; i < p->nouts; i++)
        sf_outrun_drain(&p->outs[i], deadline);
    for (size_t i = 0; i < p->nouts; i++)
        sf_outrun_stop(&p->outs[i], (int)p->cfg->shutdown_timeout_ms);
}

/* --once: is (tenant, output) complete, i.e. its cursor at the end of the
 * tenant's window? If not, say why in the log. Returns 1 when complete. */
static int pair_complete(struct sf_pipeline *p, size_t ti, size_t oi)
{
    struct sf_tenant_rt *t = &p->tenants[ti];
    struct sf_outrun *r = &p->outs[oi];
    struct sf_outpair_view v;
    char why[256];

    sf_outrun_pair(r, ti, &v);
    if (v.attached && v.committed >= t->pass_until)
        return 1;
    sf_outrun_last_error(r, why, sizeof(why));
    if (v.attached && v.open)
        sf_error(t->tc->name, r->out.name, "left behind: %zu records not acknowledged "
                 "(%s); cursor held, they are read again next run", v.open,
                 why[0] ? why : "no answer");
    else if (!sf_outrun_accepting(r, sf_now_ms(), why, sizeof(why)))
        sf_error(t->tc->name, r->out.name, "left behind: not fed (%s); cursor held", why);
    else
        sf_error(t->tc->name, r->out.name, "left behind: cursor not at the end of the "
                 "window; read again next run");
    return 0;
}

/* --once: tenants not read whole or not delivered whole (named in the log). */
static size_t incomplete_tenants(struct sf_pipeline *p)
{
    size_t bad = 0;
    for (size_t ti = 0; ti < p->ntenants; ti++) {
        struct sf_tenant_rt *t = &p->tenants[ti];
        int ok = t->pass_ok;
        if (!ok)
            sf_error(t->tc->name, NULL, "left behind: not read whole: %s",
                     t->last_error[0] ? t->last_error : p->stop ? "stopped" : "not run");
        for (size_t k = 0; k < t->nouts && t->pass_ok; k++)
            ok &= pair_complete(p, ti, t->outs[k]);
        bad += !ok;
    }
    return bad;
}

sf_err sf_pipeline_run(struct sf_pipeline *p)
{
    size_t started = 0;
    struct sf_events *events = NULL;
    p->started_ms = sf_now_ms();
    if (start_outputs(p) != SF_OK || sf_events_new(p, &events) != SF_OK)
        return SF_ERR_INTERNAL;
    if (p->cluster && sf_cluster_start(p->cluster) != SF_OK) {
        sf_events_free(events);
        return SF_ERR_INTERNAL;
    }
    sf_events_start(events);
    sf_info(NULL, NULL, "running: %zu tenants, %zu outputs, %zu workers%s", p->ntenants,
            p->nouts, p->nworkers, p->once ? " (one pass)" : "");
    for (size_t i = 0; i < p->nworkers; i++) {
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
            break;
        started++;
    }
    struct sf_progress progress;
    sf_progress_start(&progress, p);
    for (size_t i = 0; i < started; i++)
        pthread_join(p->workers[i].thread, NULL);
    sf_events_free(events); /* its last look's events are drained too */
    drain_outputs(p);
    sf_cluster_stop(p->cluster); /* leave the group: release what settled */
    sf_progress_stop(&progress);
    uint64_t fetched = 0, delivered = 0, quarantined = 0;
    size_t failed = 0;
    for (size_t i = 0; i < p->ntenants; i++) {
        fetched += p->tenants[i].fetched;
        failed += p->tenants[i].last_success_ms == 0;
    }
    for (size_t i = 0; i < p->nouts; i++) {
        delivered += p->outs[i].stats.delivered;
        quarantined += p->outs[i].stats.quarantined;
    }
    if (p->once) {
        size_t bad = incomplete_tenants(p);
        sf_info(NULL, NULL, "stopped: %llu alerts fetched, %llu records delivered, %llu "
                "quarantined, %zu of %zu tenants incomplete", (unsigned long long)fetched,
                (unsigned long long)delivered, (unsigned long long)quarantined, bad,
                p->ntenants);
        return bad ? SF_ERR_INTERNAL : SF_OK;
    }
    sf_info(NULL, NULL, "stopped: %llu alerts fetched, %llu records delivered, %llu "
            "quarantined, %zu of %zu tenants without a successful cycle",
            (unsigned long long)fetched, (unsigned long long)delivered,
            (unsigned long long)quarantined, failed, p->ntenants);
    return SF_OK;
}

void sf_pipeline_stop(struct sf_pipeline *p)
{
    p->stop = 1;
}

void sf_pipeline_free(struct sf_pipeline *p)
{
    if (!p)
        return;
    sf_cluster_free(p->cluster); /* its hooks use the outputs: first */
    free(p->tids);
    free(p->tnames);
    for (size_t i = 0; i < p->nworkers; i++) {
        struct sf_worker *w = &p->workers[i];
        sf_api_client_free(w->api);
        for (size_t k = 0; w->fmts && k < p->nouts; k++)
            sf_format_free(w->fmts[k]);
        free(w->fmts);
    }
    free(p->workers);
    for (size_t i = 0; i < p->nouts; i++) {
        sf_outrun_release(&p->outs[i]);
        free(p->outs[i].out.name);
        sf_rules_free(p->outs[i].rules);
    }
    free(p->outs);
    for (size_t i = 0; i < p->ntenants; i++)
        free(p->tenants[i].outs);
    free(p->tenants);
    sf_token_cache_free(p->tokens);
    sf_state_close(p->state);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    sf_gate_destroy(&p->page_gate);
    free(p);
}
