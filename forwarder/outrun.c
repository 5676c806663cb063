/* outrun.c - the runner behind each output (sf_outrun.h): the queue and its
 * budget, the fetch-side API, the thread that runs rounds (outround.c) with
 * capped, jittered backoff, and cursor advances from the ledgers. Owns the
 * queued records and the ledgers; borrows the state store and tenant names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "outrun_priv.h"
#include "sf_log.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define IDLE_POLL_MS 1000
/* What a queued record costs beyond its bytes: message, state, ledger entry. */
#define REC_OVERHEAD (sizeof(struct sf_msg) + sizeof(struct sf_ledger_rec) + 2 + 48)

void sf_outrun_set_reason(struct sf_outrun *r, const char *reason)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    pthread_mutex_unlock(&r->mu);
}

void sf_outrun_last_error(struct sf_outrun *r, char *buf, size_t n)
{
    pthread_mutex_lock(&r->mu);
    snprintf(buf, n, "%s", r->reason);
    pthread_mutex_unlock(&r->mu);
}

static void batch_free(struct sf_outbatch *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->msgs && i < b->n; i++)
        free((void *)b->msgs[i].notice);   /* notification outputs' notices */
    free(b->data);
    free(b->msgs);
    free(b->st);
    free(b->v);
    free(b);
}

static void set_queued_stats(struct sf_outrun *r, uint64_t bytes)
{
    r->stats.queued_bytes = bytes;
    r->stats.queued_records = r->queued;
}

void sf_outrun_reap(struct sf_outrun *r)
{
    struct sf_outbatch **pp = &r->head, *last = NULL;
    uint64_t bytes = r->stats.queued_bytes;
    while (*pp) {
        struct sf_outbatch *b = *pp;
        if (b->unsettled) {
            last = b;
            pp = &b->next;
            continue;
        }
        *pp = b->next;
        bytes -= b->bytes;
        batch_free(b);
    }
    r->tail = last;
    set_queued_stats(r, bytes);
}

/* ------------------------------------------------------------------ */
/* fetch side */

int64_t sf_outrun_position(struct sf_outrun *r, size_t ti, int64_t committed)
{
    pthread_mutex_lock(&r->mu);
    struct sf_outpair *pr = &r->pairs[ti];
    if (!pr->attached) {
        sf_ledger_init(&pr->l, committed);
        pr->attached = 1;
    }
    int64_t pos = pr->l.position;
    pthread_mutex_unlock(&r->mu);
    return pos;
}

int sf_outrun_accepting(struct sf_outrun *r, int64_t now_ms, char *why, size_t n)
{
    int ok = 1;
    pthread_mutex_lock(&r->mu);
    if (r->fatal) {
        ok = 0;
        if (why)
            snprintf(why, n, "output stopped: %s", r->reason);
    } else if (r->stats.queued_bytes >= r->max_bytes) {
        ok = 0;
        if (why)
            snprintf(why, n, "queue full (%llu bytes waiting; last error: %s)",
                     (unsigned long long)r->stats.queued_bytes, r->reason);
    } else if (r->failing_since_ms && now_ms - r->failing_since_ms > r->max_failing_ms) {
        ok = 0;
        if (why)
            snprintf(why, n, "failing for %lld s: %s",
                     (long long)(now_ms - r->failing_since_ms) / 1000, r->reason);
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

int64_t sf_outrun_failing_since(struct sf_outrun *r)
{
    pthread_mutex_lock(&r->mu);
    int64_t since = r->fatal && !r->failing_since_ms ? 1 : r->failing_since_ms;
    pthread_mutex_unlock(&r->mu);
    return since;
}

int sf_outrun_healthy(struct sf_outrun *r)
{
    pthread_mutex_lock(&r->mu);
    int ok = !r->fatal && !r->failing_since_ms;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

int sf_outrun_in_flight(struct sf_outrun *r, size_t ti, const char *alert_id,
                        int64_t last_update_ms)
{
    pthread_mutex_lock(&r->mu);
    int found = r->pairs[ti].attached &&
                sf_ledger_in_flight(&r->pairs[ti].l, alert_id, last_update_ms);
    pthread_mutex_unlock(&r->mu);
    return found;
}

static struct sf_outbatch *batch_new(size_t ti, struct sf_buf *buf, const struct sf_msg *msgs,
                                     size_t n)
{
    struct sf_outbatch *b = calloc(1, sizeof(*b));
    if (!b || !(b->msgs = malloc(n * sizeof(*b->msgs))) || !(b->st = calloc(n, 1)) ||
        !(b->v = calloc(n, sizeof(*b->v)))) {
        batch_free(b);
        return NULL;
    }
    size_t len = 0;
    b->data = sf_buf_steal(buf, &len);
    char *shrunk = b->data ? realloc(b->data, len + 1) : NULL;
    if (shrunk)
        b->data = shrunk;
    for (size_t i = 0; i < n; i++) {
        b->msgs[i] = msgs[i];
        b->msgs[i].data = b->data + msgs[i].len; /* offset -> pointer */
        b->msgs[i].len = strlen(b->msgs[i].data);
    }
    b->ti = ti;
    b->n = b->unsettled = n;
    b->bytes = len + n * REC_OVERHEAD;
    return b;
}

sf_err sf_outrun_submit(struct sf_outrun *r, size_t ti, int64_t until, struct sf_buf *buf,
                        const struct sf_msg *msgs, const struct sf_ledger_item *items,
                        size_t n)
{
    struct sf_outbatch *b = NULL;
    struct sf_ledger_page *pg;

    pthread_mutex_lock(&r->mu);
    int fenced = r->pairs[ti].fenced;
    pthread_mutex_unlock(&r->mu);
    if (fenced) { /* cluster: not ours any more; another instance reads it */
        sf_buf_reset(buf);
        return SF_OK;
    }
    if (n && !(b = batch_new(ti, buf, msgs, n)))
        return SF_ERR_NOMEM;
    pthread_mutex_lock(&r->mu);
    struct sf_outpair *pr = &r->pairs[ti];
    sf_err err = pr->attached ? sf_ledger_add(&pr->l, until, items, n, &pg) : SF_ERR_INTERNAL;
    if (err) {
        pthread_mutex_unlock(&r->mu);
        if (b)
            b->n = 0;   /* the notices stay the caller's on error */
        batch_free(b);
        return err;
    }
    if (b) {
        b->pg = pg;
        for (size_t i = 0; i < n; i++)
            b->msgs[i].alert_id = pg->recs[i].alert_id; /* outlives the fetched page */
        if (r->tail)
            r->tail->next = b;
        else
            r->head = b;
        r->tail = b;
        r->queued += n;
        set_queued_stats(r, r->stats.queued_bytes + b->bytes);
    } else {
        pr->dirty = r->any_dirty = 1; /* nothing to send; the cursor may move */
    }
    pthread_cond_signal(&r->work_cv);
    pthread_mutex_unlock(&r->mu);
    return SF_OK;
}

void sf_outrun_pair(struct sf_outrun *r, size_t ti, struct sf_outpair_view *v)
{
    pthread_mutex_lock(&r->mu);
    const struct sf_outpair *pr = &r->pairs[ti];
    *v = (struct sf_outpair_view){ pr->attached, pr->l.committed, pr->l.position,
                                   pr->l.open };
    pthread_mutex_unlock(&r->mu);
}

/* Drop pair ti's batches that are not in a round (every record queued or
 * settled); returns how many of its batches remain. r->mu held. */
static size_t drop_pair(struct sf_outrun *r, size_t ti)
{
    struct sf_outbatch **pp = &r->head, *last = NULL;
    uint64_t bytes = r->stats.queued_bytes;
    size_t left = 0;
    while (*pp) {
        struct sf_outbatch *b = *pp;
        int busy = 0;
        for (size_t i = 0; b->ti == ti && i < b->n; i++)
            busy |= b->st[i] == REC_SENDING || b->st[i] == REC_ANSWERED;
        if (b->ti != ti || busy) {
            left += b->ti == ti;
            last = b;
            pp = &b->next;
            continue;
        }
        for (size_t i = 0; i < b->n; i++)
            r->queued -= b->st[i] == REC_QUEUED;
        *pp = b->next;
        bytes -= b->bytes;
        batch_free(b);
    }
    r->tail = last;
    set_queued_stats(r, bytes);
    return left;
}

void sf_outrun_fence(struct sf_outrun *r, size_t ti)
{
    if (!r->inited || ti >= r->npairs)
        return;
    pthread_mutex_lock(&r->mu);
    r->pairs[ti].fenced = 1;
    r->pairs[ti].dirty = 0;
    size_t left = drop_pair(r, ti);
    pthread_mutex_unlock(&r->mu);
    if (left)
        sf_debug(r->pairs[ti].tenant, r->out.name, "fenced; %zu pages still in a round", left);
}

int sf_outrun_adopt(struct sf_outrun *r, size_t ti)
{
    if (!r->inited || ti >= r->npairs)
        return 0;
    pthread_mutex_lock(&r->mu);
    struct sf_outpair *pr = &r->pairs[ti];
    int rc = 0;
    if (drop_pair(r, ti)) {
        rc = -1;
    } else {
        if (pr->attached)
            sf_ledger_free(&pr->l);
        pr->attached = pr->dirty = pr->fenced = 0;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* ------------------------------------------------------------------ */
/* the thread */

struct advance {
    size_t ti;
    int64_t wm;
};

/* Store the cursors the ledgers allow. r->mu held; released while storing. */
static void advance_all(struct sf_outrun *r)
{
    if (!r->any_dirty)
        return;
    r->any_dirty = 0;
    struct advance *adv = malloc(r->npairs * sizeof(*adv));
    size_t n = 0;
    for (size_t ti = 0; ti < r->npairs; ti++) {
        struct sf_outpair *pr = &r->pairs[ti];
        if (pr->fenced)
            pr->dirty = 0; /* cluster: its cursor is another instance's now */
        if (!pr->dirty)
            continue;
        pr->dirty = 0;
        int64_t wm;
        if (adv && sf_ledger_advance(&pr->l, &wm))
            adv[n++] = (struct advance){ ti, wm };
    }
    if (!adv) {
        r->any_dirty = 1; /* try again later */
        return;
    }
    pthread_mutex_unlock(&r->mu);
    int64_t now = sf_now_ms();
    for (size_t k = 0; k < n; k++) {
        struct sf_outpair *pr = &r->pairs[adv[k].ti];
        if (sf_state_advance(r->state, pr->tenant, r->out.name, adv[k].wm,
                             adv[k].wm - pr->overlap_ms, now) != SF_OK) {
            sf_error(pr->tenant, r->out.name, "cannot move the cursor in the state store");
            adv[k].wm = INT64_MIN;
        }
    }
    pthread_mutex_lock(&r->mu);
    for (size_t k = 0; k < n; k++) {
        struct sf_outpair *pr = &r->pairs[adv[k].ti];
        if (adv[k].wm != INT64_MIN)
            sf_ledger_committed(&pr->l, adv[k].wm);
        else
            pr->dirty = r->any_dirty = 1; /* offered again at the next wake */
    }
    free(adv);
}

#define NOTE_EVERY_MS 10000

/* Say why on every tenant with records waiting (siemfwd state, status):
 * when the reason changes, else at most every NOTE_EVERY_MS. r->mu held;
 * released while writing. */
static void note_waiting(struct sf_outrun *r)
{
    int64_t now = sf_now_ms();
    if (strcmp(r->noted, r->reason) == 0 && now - r->noted_ms < NOTE_EVERY_MS)
        return;
    snprintf(r->noted, sizeof(r->noted), "%s", r->reason);
    r->noted_ms = now;
    unsigned char *waiting = calloc(r->npairs ? r->npairs : 1, 1);
    if (!waiting)
        return;
    for (struct sf_outbatch *b = r->head; b; b = b->next)
        waiting[b->ti] = 1;
    char why[sizeof(r->reason)];
    memcpy(why, r->reason, sizeof(why));
    pthread_mutex_unlock(&r->mu);
    for (size_t ti = 0; ti < r->npairs; ti++)
        if (waiting[ti])
            sf_state_note(r->state, r->pairs[ti].tenant, r->out.name, why, now);
    pthread_mutex_lock(&r->mu);
    free(waiting);
}

/* Capped exponential backoff with jitter. r->mu held. */
static void backoff(struct sf_outrun *r, const char *what)
{
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
    int jitter = r->backoff_ms / 5 ? rand() % (r->backoff_ms / 5) : 0;
    int64_t now = sf_now_ms();
    r->down_until_ms = now + r->backoff_ms + jitter;
    if (!r->failing_since_ms)
        r->failing_since_ms = now;
    r->stats.connected = 0;
    sf_warn(NULL, r->out.name, "%s (%s); %zu records kept, retrying in %d ms", what,
            r->reason, r->queued, r->backoff_ms + jitter);
    note_waiting(r);
}

static void account(struct sf_outrun *r, int ok)
{
    if (r->fatal) {
        sf_error(NULL, r->out.name, "output stopped: %s (fix the configuration and reload)",
                 r->reason);
        note_waiting(r);
    } else if (!ok) {
        backoff(r, "delivery failed");
    } else {
        if (r->backoff_ms)
            sf_info(NULL, r->out.name, "delivering again");
        r->backoff_ms = 0;
        r->failing_since_ms = 0;
        r->stats.connected = 1;
        r->stats.last_success_ms = sf_now_ms();
    }
}

/* r->mu held; released while the output connects. */
static int ensure_started(struct sf_outrun *r)
{
    char errbuf[256];
    if (r->started)
        return 1;
    pthread_mutex_unlock(&r->mu);
    sf_err err = r->out.type->start(&r->out, errbuf, sizeof(errbuf));
    pthread_mutex_lock(&r->mu);
    if (err != SF_OK) {
        snprintf(r->reason, sizeof(r->reason), "%s", errbuf);
        return 0;
    }
    r->started = 1;
    sf_info(NULL, r->out.name, "started (%s)", r->out.type->name);
    return 1;
}

static int finished(struct sf_outrun *r, int64_t now)
{
    return r->stop && !r->any_dirty &&
           ((!r->queued && !r->nevents) || r->fatal || now >= r->stop_deadline_ms ||
            r->down_until_ms >= r->stop_deadline_ms);
}

static void wait_work(struct sf_outrun *r, int64_t now)
{
    int64_t wake = now + IDLE_POLL_MS;
    if ((r->queued || r->nevents) && !r->fatal && r->down_until_ms < wake)
        wake = r->down_until_ms;
    if (r->stop && r->stop_deadline_ms < wake)
        wake = r->stop_deadline_ms;
    struct timespec ts = sf_clock_at(wake);
    if (pthread_cond_timedwait(&r->work_cv, &r->mu, &ts) == ETIMEDOUT && r->started &&
        !r->fatal && !r->queued && !r->nevents && !r->stop) {
        /* idle: let the output do timed work (digests, ack polls) */
        pthread_mutex_unlock(&r->mu);
        r->out.type->poll(&r->out, 0);
        pthread_mutex_lock(&r->mu);
    }
}

static void *outrun_main(void *arg)
{
    struct sf_outrun *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        advance_all(r);
        int64_t now = sf_now_ms();
        if (finished(r, now))
            break;
        if ((!r->queued && !r->nevents) || r->fatal || now < r->down_until_ms) {
            wait_work(r, now);
            continue;
        }
        if (!ensure_started(r)) {
            backoff(r, "cannot start");
            continue;
        }
        /* events first: they are few, and say what is wrong right now */
        account(r, r->nevents ? sf_outevent_round(r) : sf_outround_run(r));
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

sf_err sf_outrun_start(struct sf_outrun *r, size_t npairs)
{
    r->pairs = calloc(npairs ? npairs : 1, sizeof(*r->pairs));
    if (!r->pairs)
        return SF_ERR_NOMEM;
    r->npairs = npairs;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work_cv, NULL);
    r->inited = 1;
    r->out.verdict = sf_outround_verdict;
    r->out.verdict_opaque = r;
    r->next_id = 1;
    if (pthread_create(&r->thread, NULL, outrun_main, r) != 0)
        return SF_ERR_INTERNAL;
    r->running = 1;
    return SF_OK;
}

void sf_outrun_drain(struct sf_outrun *r, int64_t deadline_ms)
{
    if (!r->inited)
        return;
    pthread_mutex_lock(&r->mu);
    if (!r->stop) {
        r->stop = 1;
        r->stop_deadline_ms = deadline_ms;
    }
    pthread_cond_signal(&r->work_cv);
    pthread_mutex_unlock(&r->mu);
}

void sf_outrun_stop(struct sf_outrun *r, int timeout_ms)
{
    if (r->running) {
        sf_outrun_drain(r, sf_now_ms() + timeout_ms);
        pthread_join(r->thread, NULL);
        r->running = 0;
        if (r->queued)
            sf_warn(NULL, r->out.name, "stopping with %zu records undelivered (%s); they "
                    "are read again from the API at the next start", r->queued, r->reason);
    }
    if (r->out.type && r->out.ctx) {
        if (r->started)
            r->out.type->flush(&r->out, 0);
        r->out.type->destroy(&r->out);
        r->out.ctx = NULL;
    }
}

void sf_outrun_release(struct sf_outrun *r)
{
    sf_outrun_stop(r, 0);
    while (r->head) {
        struct sf_outbatch *b = r->head;
        r->head = b->next;
        batch_free(b);
    }
    r->tail = NULL;
    sf_outevent_release(r);
    for (size_t i = 0; r->pairs && i < r->npairs; i++)
        if (r->pairs[i].attached)
            sf_ledger_free(&r->pairs[i].l);
    free(r->pairs);
    r->pairs = NULL;
    if (r->inited) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->work_cv);
        r->inited = 0;
    }
}
