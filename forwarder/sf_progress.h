/* sf_progress.h - a progress line on stderr when it is a terminal (run
 * --once, first backfill). Borrows the pipeline; owns its thread. */
#ifndef SF_PROGRESS_H
#define SF_PROGRESS_H

#include <pthread.h>
#include <stdint.h>

struct sf_pipeline;

struct sf_progress {
    struct sf_pipeline *p;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop;
    uint64_t last_fetched;
};

/* Starts only when stderr is a terminal. */
void sf_progress_start(struct sf_progress *pr, struct sf_pipeline *p);
void sf_progress_stop(struct sf_progress *pr);

#endif
