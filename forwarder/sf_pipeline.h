/* sf_pipeline.h - fetch -> map -> outputs for every tenant: a pool of
 * worker threads (http.max_parallel) takes due tenants, runs one cycle each
 * (sf_cycle), and reschedules them (poll interval, Retry-After, backoff, slow
 * retry after revoked consent). Borrows the config; owns everything else. */
#ifndef SF_PIPELINE_H
#define SF_PIPELINE_H

#include <pthread.h>
#include <stdint.h>
#include "sf_config.h"
#include "sf_fetch.h"
#include "sf_format.h"
#include "sf_outrun.h"
#include "sf_state.h"

struct sf_tenant_rt {
    const struct sf_tenant_conf *tc;
    struct sf_fetch_tenant ft;
    size_t *outs;            /* indices into pipeline outputs */
    size_t nouts;
    int64_t next_due_ms;
    int busy, runs, fails, throttles, auth_failed, done;
    int no_output;           /* the last cycle had no output accepting records */
    int pass_ok;             /* --once: the last cycle read its whole window */
    int behind;              /* a healthy output was not fed to the end (queue full) */
    int catchups;            /* --once: extra cycles run for that */
    int64_t pass_until;      /* end of the last cycle's window */
    char last_error[256];    /* the last failed cycle's sentence, "" after success */
    /* metrics */
    _Atomic uint64_t fetched, rendered, throttled; /* read by the metrics thread */
    int64_t last_success_ms, lag_ms;
};

struct sf_worker;
struct sf_cluster;

struct sf_pipeline {
    const struct sf_config *cfg;
    int once;
    struct sf_state *state;
    struct sf_token_cache *tokens;
    struct sf_fetch_opts fopts;
    struct sf_gate page_gate;     /* parsed API pages in memory at once */
    struct sf_outrun *outs;       /* one per configured output */
    size_t nouts;
    struct sf_tenant_rt *tenants;
    size_t ntenants;
    struct sf_worker *workers;
    size_t nworkers;
    /* The fetch stage; sf_fetch_window unless a test puts a fake here. */
    sf_err (*fetch_window)(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                           int64_t from_ms, int64_t until_ms, sf_page_fn on_page,
                           void *opaque, struct sf_fetch_status *st);
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int stop;             /* set by sf_pipeline_stop from the main thread */
    int64_t failed_cycles;
    int64_t started_ms;           /* when run began (stale-tenant events) */
    struct sf_cluster *cluster;   /* cluster mode: which tenants are ours; NULL alone */
    const char **tids, **tnames;  /* cluster: tenant ids and names, pipeline order */
};

/* Per-worker scratch: its own API client and format instances. */
struct sf_worker {
    struct sf_pipeline *p;
    pthread_t thread;
    struct sf_api_client *api;
    struct sf_format **fmts;      /* per output (NULL where the output has none) */
};

sf_err sf_pipeline_new(const struct sf_config *cfg, int once, struct sf_pipeline **out,
                       char *errbuf, size_t errlen);
/* Runs until sf_pipeline_stop (or, with once, every tenant ran and the
 * outputs drained within shutdown_timeout). Returns SF_OK, or with once
 * SF_ERR_INTERNAL when a tenant was not read whole or an output did not
 * acknowledge everything read (each named in the log). */
sf_err sf_pipeline_run(struct sf_pipeline *p);
void sf_pipeline_stop(struct sf_pipeline *p);
/* 1 when tenant ti may be fetched and delivered now: always without a
 * cluster; in cluster mode while it is assigned here and the consumer loop
 * is alive (sf_cluster_may_run). A cycle stops between pages when not. */
int sf_pipeline_tenant_live(struct sf_pipeline *p, size_t ti);
void sf_pipeline_free(struct sf_pipeline *p);

/* One cycle for one tenant (cycle.c). Returns the fetch outcome. */
sf_err sf_cycle_run(struct sf_worker *w, struct sf_tenant_rt *t, struct sf_fetch_status *st);

#endif
