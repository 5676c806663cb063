/* sf_outrun.h - the runner behind each configured output: one thread that
 * owns a bounded in-memory queue of rendered records (a byte budget), sends
 * them through the output plugin in rounds (every queued record of every
 * tenant in one send + flush), retries RETRY verdicts from memory with
 * capped, jittered backoff, and turns acknowledgements into seen marks and
 * cursor advances through one ledger per tenant (sf_ledger.h). Fetch hands
 * it a page and moves on: it never waits for an output. The retry policy
 * lives here; plugins only report verdicts. */
#ifndef SF_OUTRUN_H
#define SF_OUTRUN_H

#include <pthread.h>
#include <stdint.h>
#include "sf_clock.h"
#include "sf_ledger.h"
#include "sf_output.h"
#include "sf_state.h"

struct sf_outrun_stats {         /* atomics: read by the metrics thread */
    _Atomic uint64_t delivered, retried, quarantined, batches;
    _Atomic int connected;      /* 1 after a successful round and no failure since */
    _Atomic int64_t last_success_ms;
    _Atomic uint64_t queued_bytes, queued_records; /* waiting for a verdict */
};

struct sf_outbatch;              /* outrun.c: one page of one tenant in the queue */
struct sf_outround;              /* outrun.c: the round in flight */
struct sf_outevent;              /* outevent.c: one operational event */

/* One (tenant, output) pair as the runner sees it. */
struct sf_outpair {
    struct sf_ledger l;
    const char *tenant;          /* borrowed from the config; set before use */
    int64_t overlap_ms;          /* the tenant's overlap: marks older than the
                                    cursor minus this are pruned */
    int attached;                /* l initialised from the stored cursor */
    int dirty;                   /* settled pages may let the cursor advance */
    int fenced;                  /* cluster: no longer this instance's tenant; its
                                    cursor stays put, new pages are dropped */
};

struct sf_outrun {
    struct sf_output out;       /* the instance; out.ctx owned by its type */
    const char *state_dir;      /* borrowed: quarantine files */
    struct sf_state *state;     /* borrowed: marks and cursors */
    struct sf_rules *rules;     /* owned: which alerts go to this output; NULL = all */
    int flush_timeout_ms;       /* bound on one round's flush */
    uint64_t max_bytes;         /* queue budget */
    int64_t max_failing_ms;     /* stop taking records after failing this long */
    struct sf_outpair *pairs;   /* owned, one per pipeline tenant */
    size_t npairs;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    struct sf_outbatch *head, *tail;   /* owned, fetch order */
    size_t queued;              /* records waiting to be (re)sent */
    int any_dirty, stop, running, started, inited;
    int64_t stop_deadline_ms;
    _Atomic int fatal;
    _Atomic int64_t down_until_ms;     /* backoff: no round before it */
    int64_t failing_since_ms;   /* first failed round since the last success, 0 = none */
    int backoff_ms;
    uint64_t next_id;
    struct sf_outround *round;  /* owned by the thread while a round runs */
    struct sf_outevent *ev_head, *ev_tail;  /* owned: events waiting */
    size_t nevents;
    int ev_busy;                /* an event round is in flight */
    struct sf_outevent **ev_round;          /* the event round: ids [ev_base, +ev_n) */
    uint64_t ev_base;
    size_t ev_n;
    char reason[256];           /* last failure, for logs and state */
    char noted[256];            /* the reason last written to the state store */
    int64_t noted_ms;
    struct sf_outrun_stats stats;
};

/* Start the thread; npairs = the pipeline's tenant count. The caller fills
 * pairs[i].tenant and .overlap_ms before handing records. */
sf_err sf_outrun_start(struct sf_outrun *r, size_t npairs);

/* Fetch side (any worker thread). ti = the tenant's pipeline index. */
/* Where the next read for this pair resumes: the in-memory position, or on
 * first use the stored cursor (committed). */
int64_t sf_outrun_position(struct sf_outrun *r, size_t ti, int64_t committed);
/* 1 when fetch should hand this output records: not stopped for good, queue
 * under its budget, not failing longer than max_failing. *why gets the
 * reason when not (may be NULL). */
int sf_outrun_accepting(struct sf_outrun *r, int64_t now_ms, char *why, size_t n);
/* 1 when the output is delivering: not stopped, last round not failed. */
int sf_outrun_healthy(struct sf_outrun *r);
/* 1 when (alert_id, last_update_ms) is queued for this pair and unsettled. */
int sf_outrun_in_flight(struct sf_outrun *r, size_t ti, const char *alert_id,
                        int64_t last_update_ms);
/* Hand one page: n records rendered into buf (NUL-separated; msgs[i].len is
 * the record's offset in buf, msgs[i].data unused), with their dedup keys.
 * Takes buf's memory (buf is left empty); copies msgs and ids. n may be 0.
 * On SF_OK the queue owns msgs[i].notice (freed with the page); on error
 * they stay the caller's. until = the cursor target once this page is acknowledged (sf_ledger). */
sf_err sf_outrun_submit(struct sf_outrun *r, size_t ti, int64_t until, struct sf_buf *buf,
                        const struct sf_msg *msgs, const struct sf_ledger_item *items,
                        size_t n);

/* Queue an operational event (JSON, copied) for a notification output;
 * tenant may be NULL. Sent and retried by the runner; no cursor moves. */
sf_err sf_outrun_event(struct sf_outrun *r, const char *tenant, const char *json);
/* When the output started failing without a success since; 0 = it is not. */
int64_t sf_outrun_failing_since(struct sf_outrun *r);

/* A pair's progress, for --once and status. */
struct sf_outpair_view {
    int attached;
    int64_t committed, position;
    size_t open;                /* records handed and not settled */
};
void sf_outrun_pair(struct sf_outrun *r, size_t ti, struct sf_outpair_view *v);

/* Ask the thread to deliver what it holds until deadline_ms, then exit. */
void sf_outrun_drain(struct sf_outrun *r, int64_t deadline_ms);
/* Drain (if not asked already) within timeout_ms, join, flush, destroy. */
void sf_outrun_stop(struct sf_outrun *r, int timeout_ms);
/* Stop (timeout 0) and free the queue and ledgers. */
void sf_outrun_release(struct sf_outrun *r);
void sf_outrun_last_error(struct sf_outrun *r, char *buf, size_t n);

/* Cluster mode. Fence pair ti: drop its records waiting in the queue (those
 * in the round in flight finish, but no cursor of ti moves any more) and
 * drop pages handed later. */
void sf_outrun_fence(struct sf_outrun *r, size_t ti);
/* Make pair ti usable again from the stored cursor (forget the in-memory
 * position and ledger). 0 done; -1 while records of ti are still queued in
 * a round (try again shortly). */
int sf_outrun_adopt(struct sf_outrun *r, size_t ti);


#endif
