/* outevent.c - operational events through an output runner: a small FIFO of
 * JSON event records (sf_events.h) beside the alert queue. They are sent in
 * rounds of their own, retried from memory with the output's backoff, and
 * touch no ledger or cursor (they are not API alerts); a restart forgets the
 * ones not yet sent, and the watcher raises what still holds again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outrun_priv.h"
#include "sf_log.h"

#define EVENTS_MAX 1000      /* beyond it the oldest unsent event is dropped */

struct sf_outevent {
    char *json;              /* owned */
    size_t len;
    char *tenant;            /* owned, or NULL for an output-wide event */
    int answered;            /* delivered or rejected in the round in flight */
    struct sf_outevent *next;
};

static void event_free(struct sf_outevent *e)
{
    if (!e)
        return;
    free(e->json);
    free(e->tenant);
    free(e);
}

sf_err sf_outrun_event(struct sf_outrun *r, const char *tenant, const char *json)
{
    struct sf_outevent *e = calloc(1, sizeof(*e));
    if (!e || !(e->json = strdup(json)) || (tenant && !(e->tenant = strdup(tenant)))) {
        event_free(e);
        return SF_ERR_NOMEM;
    }
    e->len = strlen(json);
    pthread_mutex_lock(&r->mu);
    if (r->nevents >= EVENTS_MAX && !r->ev_busy) {
        struct sf_outevent *old = r->ev_head;
        r->ev_head = old->next;
        r->nevents--;
        sf_warn(NULL, r->out.name, "more than %d events waiting; the oldest dropped",
                EVENTS_MAX);
        event_free(old);
    }
    if (!r->ev_head)
        r->ev_head = e;
    else
        r->ev_tail->next = e;
    r->ev_tail = e;
    r->nevents++;
    pthread_cond_signal(&r->work_cv);
    pthread_mutex_unlock(&r->mu);
    return SF_OK;
}

/* Verdicts of an event round; on the runner's thread. 1 if id was one. */
int sf_outevent_verdict(struct sf_outrun *r, uint64_t id, enum sf_verdict v)
{
    if (!r->ev_round || id < r->ev_base || id >= r->ev_base + r->ev_n)
        return 0;
    if (v == SF_V_DELIVERED || v == SF_V_REJECTED)
        r->ev_round[id - r->ev_base]->answered = 1;
    else if (v == SF_V_FATAL)
        r->fatal = 1;
    return 1;
}

int sf_outevent_round(struct sf_outrun *r)
{
    size_t n = 0, k = 0;
    for (struct sf_outevent *e = r->ev_head; e; e = e->next)
        n++;
    struct sf_outevent **evs = malloc(n * sizeof(*evs));
    struct sf_msg *msgs = calloc(n, sizeof(*msgs));
    if (!evs || !msgs) {
        free(evs);
        free(msgs);
        snprintf(r->reason, sizeof(r->reason), "out of memory"); /* r->mu is held */
        return 0;
    }
    r->ev_base = r->next_id;
    r->ev_busy = 1; /* the events in evs stay put until the round is over */
    for (struct sf_outevent *e = r->ev_head; e; e = e->next, k++) {
        evs[k] = e;
        e->answered = 0;
        msgs[k] = (struct sf_msg){ e->json, e->len, e->tenant, NULL, "event", 0,
                                   r->next_id++, SF_MSG_EVENT, NULL };
    }
    pthread_mutex_unlock(&r->mu);
    r->ev_round = evs;
    r->ev_n = n;
    r->out.type->send(&r->out, msgs, n);
    r->out.type->flush(&r->out, r->flush_timeout_ms);
    r->ev_round = NULL;
    pthread_mutex_lock(&r->mu);
    /* the round's events are still the first n (new ones were appended
     * behind, and none is evicted while ev_busy): drop the answered ones */
    int ok = 1;
    struct sf_outevent **pp = &r->ev_head;
    r->ev_busy = 0;
    for (k = 0; k < n; k++) {
        if (evs[k]->answered) {
            *pp = evs[k]->next;
            r->nevents--;
            event_free(evs[k]);
        } else {
            ok = 0;
            pp = &evs[k]->next;
        }
    }
    r->ev_tail = NULL;
    for (struct sf_outevent *e = r->ev_head; e; e = e->next)
        r->ev_tail = e;
    free(evs);
    free(msgs);
    return ok;
}

void sf_outevent_release(struct sf_outrun *r)
{
    while (r->ev_head) {
        struct sf_outevent *e = r->ev_head;
        r->ev_head = e->next;
        event_free(e);
    }
    r->ev_tail = NULL;
    r->nevents = 0;
}
