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
    int busy, runs, fails, auth_failed, done;
    int more;                /* the last cycle read a slice of a longer backlog */
    int no_output;           /* the last cycle had no output accepting records */
    /* metrics */
    _Atomic uint64_t fetched, rendered, throttled; /* read by the metrics thread */
    int64_t last_success_ms, lag_ms;
};

struct sf_worker;

struct sf_pipeline {
    const struct sf_config *cfg;
    int once;
    struct sf_state *state;
    struct sf_token_cache *tokens;
    struct sf_fetch_opts fopts;
    struct sf_outrun *outs;       /* one per configured output */
    size_t nouts;
    struct sf_tenant_rt *tenants;
    size_t ntenants;
    struct sf_worker *workers;
    size_t nworkers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int stop;             /* set by sf_pipeline_stop from the main thread */
    int64_t failed_cycles;
    int nouts_stopped;            /* outputs already flushed and destroyed */
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
/* Runs until sf_pipeline_stop (or, with once, every tenant ran). Returns
 * SF_OK, or SF_ERR_INTERNAL when --once saw tenants fail. */
sf_err sf_pipeline_run(struct sf_pipeline *p);
void sf_pipeline_stop(struct sf_pipeline *p);
void sf_pipeline_free(struct sf_pipeline *p);

/* One cycle for one tenant (cycle.c). Returns the fetch outcome. */
sf_err sf_cycle_run(struct sf_worker *w, struct sf_tenant_rt *t, struct sf_fetch_status *st);

#endif
