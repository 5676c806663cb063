/* outrun.c - the thread behind each output: batches queued jobs into one
 * send/flush round, maps verdicts back to jobs, quarantines rejected
 * records, and keeps the output's backoff. Owns nothing of the jobs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_log.h"
#include "sf_outrun.h"
#include "sf_quarantine.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define ROUND_MAX_MSGS 20000
#define IDLE_POLL_S 1

int64_t sf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last failure, for logs and state; read by workers under r->mu. */
static void set_reason(struct sf_outrun *r, const char *reason)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
    pthread_mutex_unlock(&r->mu);
}

/* Verdict callback: runs on the output's own thread (inside send/poll/flush). */
static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct sf_outrun *r = opaque;
    if (id < r->round_base || id >= r->round_base + r->round_n)
        return; /* late answer for a finished round: the record was resent */
    size_t i = (size_t)(id - r->round_base);
    *r->round_slot[i] = v;
    const struct sf_msg *m = r->round_msg[i];
    if (v == SF_V_REJECTED) {
        sf_warn(m->tenant, r->out.name, "record %s quarantined: %s", m->alert_id,
                reason ? reason : "rejected");
        if (sf_quarantine_write(r->state_dir, r->out.name, m->tenant, m->alert_id, reason,
                                m->data, m->len) != SF_OK) {
            /* neither delivered nor kept: it must be read and tried again */
            sf_error(m->tenant, r->out.name, "cannot write the quarantine file in %s",
                     r->state_dir);
            *r->round_slot[i] = SF_V_RETRY;
            set_reason(r, "quarantine file not writable");
        }
    } else if (v != SF_V_DELIVERED && reason) {
        set_reason(r, reason);
    }
}

static void finish(struct sf_outrun *r, struct sf_outjob *jobs, enum sf_verdict v,
                   int only_unset)
{
    pthread_mutex_lock(&r->mu);
    for (struct sf_outjob *j = jobs; j; j = j->next) {
        for (size_t i = 0; i < j->n; i++)
            if (!only_unset || (int)j->verdicts[i] < 0)
                j->verdicts[i] = v;
        j->done = 1;
    }
    pthread_cond_broadcast(&r->done_cv);
    pthread_mutex_unlock(&r->mu);
}

static int ensure_started(struct sf_outrun *r)
{
    char errbuf[256];
    if (r->started)
        return 1;
    if (r->out.type->start(&r->out, errbuf, sizeof(errbuf)) != SF_OK) {
        set_reason(r, errbuf);
        sf_warn(NULL, r->out.name, "cannot start: %s", errbuf);
        return 0;
    }
    r->started = 1;
    sf_info(NULL, r->out.name, "started (%s)", r->out.type->name);
    return 1;
}

/* Capped exponential backoff with jitter; the output answers RETRY at once
 * until it passes, so tenant workers never wait on a dead SIEM. */
static void backoff(struct sf_outrun *r, const char *what)
{
    char why[sizeof(r->reason)];
    pthread_mutex_lock(&r->mu);
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
    int jitter = r->backoff_ms / 5 ? rand() % (r->backoff_ms / 5) : 0;
    r->down_until_ms = sf_now_ms() + r->backoff_ms + jitter;
    memcpy(why, r->reason, sizeof(why));
    pthread_mutex_unlock(&r->mu);
    r->stats.connected = 0;
    sf_warn(NULL, r->out.name, "%s (%s); retrying in %d ms", what, why,
            r->backoff_ms + jitter);
}

static void account(struct sf_outrun *r, struct sf_outjob *jobs)
{
    int failed = 0;
    for (struct sf_outjob *j = jobs; j; j = j->next) {
        for (size_t i = 0; i < j->n; i++) {
            switch (j->verdicts[i]) {
            case SF_V_DELIVERED: r->stats.delivered++; break;
            case SF_V_REJECTED: r->stats.quarantined++; break;
            case SF_V_FATAL: r->fatal = 1; failed = 1; break;
            default: r->stats.retried++; failed = 1; break;
            }
        }
    }
    r->stats.batches++;
    if (r->fatal) {
        sf_error(NULL, r->out.name, "output stopped: %s (fix the configuration and reload)",
                 r->reason);
    } else if (failed) {
        backoff(r, "delivery failed");
    } else {
        if (r->backoff_ms)
            sf_info(NULL, r->out.name, "delivering again");
        r->backoff_ms = 0;
        r->stats.connected = 1;
        r->stats.last_success_ms = sf_now_ms();
    }
}

/* One round: every queued job in one send + flush. */
static void run_round(struct sf_outrun *r, struct sf_outjob *jobs)
{
    size_t total = 0, k = 0;
    for (struct sf_outjob *j = jobs; j; j = j->next) {
        total += j->n;
        for (size_t i = 0; i < j->n; i++)
            j->verdicts[i] = (enum sf_verdict)-1;
    }
    if (r->fatal || sf_now_ms() < r->down_until_ms) {
        finish(r, jobs, r->fatal ? SF_V_FATAL : SF_V_RETRY, 0);
        return;
    }
    if (!ensure_started(r)) {
        backoff(r, "cannot start");
        finish(r, jobs, SF_V_RETRY, 0);
        return;
    }
    struct sf_msg *msgs = malloc((total ? total : 1) * sizeof(*msgs));
    r->round_slot = malloc((total ? total : 1) * sizeof(*r->round_slot));
    r->round_msg = malloc((total ? total : 1) * sizeof(*r->round_msg));
    if (!msgs || !r->round_slot || !r->round_msg) {
        set_reason(r, "out of memory");
        finish(r, jobs, SF_V_RETRY, 0);
        goto out;
    }
    r->round_base = r->next_id;
    r->round_n = total;
    for (struct sf_outjob *j = jobs; j; j = j->next) {
        for (size_t i = 0; i < j->n; i++, k++) {
            msgs[k] = j->msgs[i];
            msgs[k].id = r->next_id++;
            r->round_slot[k] = &j->verdicts[i];
            r->round_msg[k] = &j->msgs[i];
        }
    }
    set_reason(r, "");
    if (total) {
        r->out.type->send(&r->out, msgs, total);
        r->out.type->flush(&r->out, r->flush_timeout_ms);
    }
    pthread_mutex_lock(&r->mu);
    if (!r->reason[0])
        snprintf(r->reason, sizeof(r->reason), "no acknowledgement within %d ms",
                 r->flush_timeout_ms);
    pthread_mutex_unlock(&r->mu);
    r->round_n = 0; /* later verdicts for this round are ignored */
    for (struct sf_outjob *j = jobs; j; j = j->next)
        for (size_t i = 0; i < j->n; i++)
            if ((int)j->verdicts[i] < 0)
                j->verdicts[i] = SF_V_RETRY;
    account(r, jobs); /* before finish: once done, a job belongs to its worker again */
    finish(r, jobs, SF_V_RETRY, 1);
out:
    free(msgs);
    free(r->round_slot);
    free(r->round_msg);
    r->round_slot = NULL;
    r->round_msg = NULL;
}

static void *outrun_main(void *arg)
{
    struct sf_outrun *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!r->head && !r->stop) {
            /* idle: let the output do timed work (digests, ack polls) */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += IDLE_POLL_S;
            if (pthread_cond_timedwait(&r->work_cv, &r->mu, &ts) == ETIMEDOUT &&
                r->started && !r->fatal && !r->head && !r->stop) {
                pthread_mutex_unlock(&r->mu);
                r->out.type->poll(&r->out, 0);
                pthread_mutex_lock(&r->mu);
            }
        }
        if (!r->head && r->stop)
            break;
        /* take queued jobs up to the round limit */
        struct sf_outjob *jobs = r->head, *last = r->head;
        size_t n = last->n;
        while (last->next && n + last->next->n <= ROUND_MAX_MSGS) {
            last = last->next;
            n += last->n;
        }
        r->head = last->next;
        if (!r->head)
            r->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&r->mu);
        run_round(r, jobs);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

sf_err sf_outrun_start(struct sf_outrun *r)
{
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work_cv, NULL);
    pthread_cond_init(&r->done_cv, NULL);
    r->inited = 1;
    r->out.verdict = on_verdict;
    r->out.verdict_opaque = r;
    r->next_id = 1;
    if (pthread_create(&r->thread, NULL, outrun_main, r) != 0)
        return SF_ERR_INTERNAL;
    r->running = 1;
    return SF_OK;
}

void sf_outrun_enqueue(struct sf_outrun *r, struct sf_outjob *job)
{
    job->done = 0;
    job->next = NULL;
    pthread_mutex_lock(&r->mu);
    if (r->tail)
        r->tail->next = job;
    else
        r->head = job;
    r->tail = job;
    pthread_cond_signal(&r->work_cv);
    pthread_mutex_unlock(&r->mu);
}

int sf_outrun_wait(struct sf_outrun *r, struct sf_outjob *job, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&r->mu);
    while (!job->done) {
        if (timeout_ms < 0)
            pthread_cond_wait(&r->done_cv, &r->mu);
        else if (pthread_cond_timedwait(&r->done_cv, &r->mu, &ts) == ETIMEDOUT)
            break;
    }
    int done = job->done;
    pthread_mutex_unlock(&r->mu);
    return done;
}

int sf_outrun_is_down(struct sf_outrun *r, int64_t now_ms)
{
    pthread_mutex_lock(&r->mu);
    int down = r->fatal || now_ms < r->down_until_ms;
    pthread_mutex_unlock(&r->mu);
    return down;
}

void sf_outrun_last_error(struct sf_outrun *r, char *buf, size_t n)
{
    pthread_mutex_lock(&r->mu);
    snprintf(buf, n, "%s", r->reason);
    pthread_mutex_unlock(&r->mu);
}

void sf_outrun_stop(struct sf_outrun *r, int timeout_ms)
{
    if (r->running) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_broadcast(&r->work_cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        r->running = 0;
    }
    if (r->out.type && r->out.ctx) {
        if (r->started)
            r->out.type->flush(&r->out, timeout_ms);
        r->out.type->destroy(&r->out);
    }
    if (r->inited) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->work_cv);
        pthread_cond_destroy(&r->done_cv);
        r->inited = 0;
    }
}
