/* outround.c - one delivery round of an output runner: every queued record
 * (up to a bound) in one send + flush, verdicts mapped back to their pages,
 * marks of answered records stored per tenant, then the ledgers told. A
 * verdict for an id outside the round, or a second verdict for a record, is
 * ignored: a peer that acks what it was never sent moves no cursor.
 * Runs on the runner's thread only; r->mu guards the queue and ledgers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outrun_priv.h"
#include "sf_log.h"
#include "sf_quarantine.h"

#define ROUND_MAX_MSGS 20000

/* Verdict callback: runs on the runner's thread, inside send/poll/flush. */
void sf_outround_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct sf_outrun *r = opaque;
    struct sf_outround *rd = r->round;
    if (sf_outevent_verdict(r, id, v)) {
        if (v != SF_V_DELIVERED && v != SF_V_REJECTED && reason)
            sf_outrun_set_reason(r, reason);
        return;
    }
    if (!rd || id < rd->base || id >= rd->base + rd->n)
        return; /* late or unknown: the record was (or will be) sent again */
    struct round_ref *ref = &rd->refs[id - rd->base];
    struct sf_outbatch *b = ref->b;
    if (b->st[ref->i] != REC_SENDING)
        return; /* answered already */
    const struct sf_msg *m = &b->msgs[ref->i];
    b->v[ref->i] = v;
    if (v == SF_V_REJECTED) {
        sf_warn(m->tenant, r->out.name, "record %s quarantined: %s", m->alert_id,
                reason ? reason : "rejected");
        if (sf_quarantine_write(r->state_dir, r->out.name, m->tenant, m->alert_id, reason,
                                m->data, m->len) != SF_OK) {
            /* neither delivered nor kept: it stays queued */
            sf_error(m->tenant, r->out.name, "cannot write the quarantine file in %s",
                     r->state_dir);
            b->v[ref->i] = SF_V_RETRY;
            sf_outrun_set_reason(r, "quarantine file not writable");
            return;
        }
    } else if (v != SF_V_DELIVERED) {
        if (v == SF_V_FATAL)
            r->fatal = 1;
        if (reason)
            sf_outrun_set_reason(r, reason);
        return;
    }
    b->st[ref->i] = REC_ANSWERED;
}

/* Queued records into a new round, oldest page first. r->mu held. */
static struct sf_outround *take(struct sf_outrun *r)
{
    struct sf_outround *rd = calloc(1, sizeof(*rd));
    size_t cap = r->queued < ROUND_MAX_MSGS ? r->queued : ROUND_MAX_MSGS;
    if (!rd || !(rd->refs = malloc(cap * sizeof(*rd->refs))) ||
        !(rd->msgs = malloc(cap * sizeof(*rd->msgs)))) {
        if (rd)
            free(rd->refs);
        free(rd);
        return NULL;
    }
    rd->base = r->next_id;
    for (struct sf_outbatch *b = r->head; b && rd->n < cap; b = b->next) {
        for (size_t i = 0; i < b->n && rd->n < cap; i++) {
            if (b->st[i] != REC_QUEUED)
                continue;
            b->st[i] = REC_SENDING;
            b->v[i] = SF_V_RETRY;
            rd->refs[rd->n] = (struct round_ref){ b, i };
            rd->msgs[rd->n] = b->msgs[i];
            rd->msgs[rd->n].id = r->next_id++;
            rd->n++;
        }
    }
    r->queued -= rd->n;
    return rd;
}

/* Marks of the answered records, one transaction per tenant. Runs without
 * r->mu: only this thread changes REC_ANSWERED records. */
static void store_marks(struct sf_outrun *r, struct sf_outround *rd)
{
    struct sf_seen *seen = malloc((rd->n ? rd->n : 1) * sizeof(*seen));
    unsigned char *done = calloc(rd->n ? rd->n : 1, 1);
    if (!seen || !done) {
        sf_error(NULL, r->out.name, "out of memory storing delivery marks");
        goto out;
    }
    for (size_t k = 0; k < rd->n; k++) {
        struct round_ref *ref = &rd->refs[k];
        if (done[k] || ref->b->st[ref->i] != REC_ANSWERED)
            continue;
        size_t ns = 0, ti = ref->b->ti;
        for (size_t j = k; j < rd->n; j++) {
            struct round_ref *o = &rd->refs[j];
            if (done[j] || o->b->ti != ti || o->b->st[o->i] != REC_ANSWERED)
                continue;
            done[j] = 1;
            seen[ns++] = (struct sf_seen){ o->b->msgs[o->i].alert_id,
                                           o->b->pg->recs[o->i].last_update_ms,
                                           o->b->v[o->i] == SF_V_REJECTED };
        }
        /* a lost mark costs a duplicate after a restart, never a record */
        if (sf_state_mark(r->state, r->pairs[ti].tenant, r->out.name, seen, ns) != SF_OK)
            sf_error(r->pairs[ti].tenant, r->out.name,
                     "cannot record delivery in the state store");
    }
out:
    free(seen);
    free(done);
}

/* Count, settle in the ledgers, requeue the rest. r->mu held. */
static int settle(struct sf_outrun *r, struct sf_outround *rd)
{
    int all_ok = 1;
    for (size_t k = 0; k < rd->n; k++) {
        struct sf_outbatch *b = rd->refs[k].b;
        size_t i = rd->refs[k].i;
        if (b->st[i] == REC_ANSWERED) {
            if (b->v[i] == SF_V_REJECTED)
                r->stats.quarantined++;
            else
                r->stats.delivered++;
            b->st[i] = REC_SETTLED;
            b->unsettled--;
            sf_ledger_settle(&r->pairs[b->ti].l, b->pg, i);
            r->pairs[b->ti].dirty = r->any_dirty = 1;
        } else {
            b->st[i] = REC_QUEUED;
            r->queued++;
            r->stats.retried++;
            all_ok = 0;
        }
    }
    return all_ok;
}

static void send_round(struct sf_outrun *r, struct sf_outround *rd, int flush_ms)
{
    char why[200];
    sf_err err = r->out.type->send(&r->out, rd->msgs, rd->n);
    if (err) {
        snprintf(why, sizeof(why), "send failed: %s", sf_strerror(err));
        sf_outrun_set_reason(r, why);
    }
    size_t left = r->out.type->flush(&r->out, flush_ms);
    if (left) {
        snprintf(why, sizeof(why), "%zu records without acknowledgement after %d ms", left,
                 flush_ms);
        sf_outrun_set_reason(r, why);
    }
}

int sf_outround_run(struct sf_outrun *r)
{
    struct sf_outround *rd = take(r);
    if (!rd) {
        snprintf(r->reason, sizeof(r->reason), "out of memory"); /* r->mu is held */
        return 0;
    }
    int flush_ms = r->flush_timeout_ms;
    if (r->stop) {
        int64_t left = r->stop_deadline_ms - sf_now_ms();
        flush_ms = left < 0 ? 0 : left < flush_ms ? (int)left : flush_ms;
    }
    pthread_mutex_unlock(&r->mu);
    r->round = rd;
    send_round(r, rd, flush_ms);
    r->round = NULL; /* later verdicts for this round are ignored */
    store_marks(r, rd);
    pthread_mutex_lock(&r->mu);
    int ok = settle(r, rd);
    r->stats.batches++;
    sf_outrun_reap(r); /* rd->refs may point at freed batches from here on */
    free(rd->refs);
    free(rd->msgs);
    free(rd);
    return ok;
}
