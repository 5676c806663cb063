/* sf_outrun.h - one thread per configured output. Tenant workers submit
 * jobs (the records of one page for this output) and wait for their
 * verdicts; the thread batches every queued job into one send + flush, so
 * hundreds of tenants share one HEC POST or one Kafka flush. Retry policy
 * lives here: an output that failed is "down" with capped exponential
 * backoff and answers RETRY at once, so it never stalls the others. */
#ifndef SF_OUTRUN_H
#define SF_OUTRUN_H

#include <pthread.h>
#include <stdint.h>
#include "sf_output.h"

struct sf_outjob {
    const struct sf_msg *msgs;  /* borrowed from the submitter until done */
    size_t n;
    enum sf_verdict *verdicts;  /* owned by the submitter, n entries */
    int done;
    struct sf_outjob *next;
};

struct sf_outrun_stats {         /* atomics: read by the metrics thread */
    _Atomic uint64_t delivered, retried, quarantined, batches;
    _Atomic int connected;      /* 1 after a successful start and no failure since */
    _Atomic int64_t last_success_ms;
};

struct sf_outrun {
    struct sf_output out;       /* the instance; out.ctx owned by its type */
    const char *state_dir;      /* borrowed: quarantine files */
    struct sf_rules *rules;     /* owned: which alerts go to this output; NULL = all */
    int flush_timeout_ms;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    struct sf_outjob *head, *tail;
    int stop, running, started, inited;
    _Atomic int fatal;          /* atomics: written by the output thread, */
    _Atomic int64_t down_until_ms; /* read by workers deciding to submit */
    int backoff_ms;
    /* the round in flight: ids [base, base + n) -> verdict slots */
    uint64_t next_id, round_base;
    size_t round_n;
    enum sf_verdict **round_slot;
    const struct sf_msg **round_msg;
    char reason[256];           /* last failure, for logs and state */
    struct sf_outrun_stats stats;
};

sf_err sf_outrun_start(struct sf_outrun *r);
/* Queue job (returns at once); then wait until it has every verdict:
 * returns 1 when it has, 0 when timeout_ms passed first (< 0: no limit). */
void sf_outrun_enqueue(struct sf_outrun *r, struct sf_outjob *job);
int sf_outrun_wait(struct sf_outrun *r, struct sf_outjob *job, int timeout_ms);
/* 1 if the output is in backoff or stopped (submitting would only RETRY). */
int sf_outrun_is_down(struct sf_outrun *r, int64_t now_ms);
/* Stop the thread after it drained its queue, flush, destroy the output. */
void sf_outrun_stop(struct sf_outrun *r, int timeout_ms);
void sf_outrun_last_error(struct sf_outrun *r, char *buf, size_t n);

int64_t sf_now_ms(void);

#endif
