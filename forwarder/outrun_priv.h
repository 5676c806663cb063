/* outrun_priv.h - what outrun.c (the queue, its API and the thread) and
 * outround.c (one send + flush round and what its verdicts settle) share.
 * Not for other files: they use sf_outrun.h. */
#ifndef SF_OUTRUN_PRIV_H
#define SF_OUTRUN_PRIV_H

#include "sf_outrun.h"

enum rec_state {
    REC_QUEUED,    /* waiting for a round (new or to be retried) */
    REC_SENDING,   /* in the round in flight */
    REC_ANSWERED,  /* delivered or quarantined; its mark is not stored yet */
    REC_SETTLED,   /* mark stored, ledger told */
};

/* One page of one tenant for this output: the records and their state.
 * Freed once every record is settled. */
struct sf_outbatch {
    size_t ti;                    /* tenant index (pair) */
    struct sf_ledger_page *pg;    /* borrowed from the pair's ledger */
    char *data;                   /* owned: the rendered records */
    struct sf_msg *msgs;          /* owned, n; data points into data */
    unsigned char *st;            /* owned, n: enum rec_state */
    enum sf_verdict *v;           /* owned, n: the answer of the last round */
    size_t n, unsettled;
    uint64_t bytes;               /* what it counts against the budget */
    struct sf_outbatch *next;
};

struct round_ref {
    struct sf_outbatch *b;
    size_t i;
};

struct sf_outround {
    uint64_t base;                /* ids [base, base + n) -> refs */
    size_t n;
    struct round_ref *refs;
    struct sf_msg *msgs;
};

/* outround.c: take queued records (r->mu held on entry and exit), send,
 * flush, settle; returns 1 when every record of the round was answered
 * delivered or quarantined. */
int sf_outround_run(struct sf_outrun *r);

/* The plugin's verdict callback (out.verdict); runs on the runner's thread. */
void sf_outround_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason);

/* outevent.c: the event queue. sf_outevent_round: send every waiting event
 * (r->mu held on entry and exit); 1 when all were answered. */
int sf_outevent_round(struct sf_outrun *r);
int sf_outevent_verdict(struct sf_outrun *r, uint64_t id, enum sf_verdict v);
void sf_outevent_release(struct sf_outrun *r);

/* outrun.c */
void sf_outrun_set_reason(struct sf_outrun *r, const char *reason);
/* Free batches whose records are all settled. r->mu held. */
void sf_outrun_reap(struct sf_outrun *r);

#endif
