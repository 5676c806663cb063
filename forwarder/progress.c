/* progress.c - on a terminal, one self-redrawing status line on stderr while
 * `run --once` or a first backfill is under way: tenants done / total, alerts
 * fetched and their rate, records delivered. Off a terminal it does nothing,
 * so logs and scripts see no extra bytes. Reads the pipeline; owns its thread. */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "sf_clock.h"
#include "sf_pipeline.h"
#include "sf_progress.h"

#define REDRAW_MS 1000

/* Tenants whose pass (once) or first successful cycle (daemon) is behind them. */
static size_t tenants_done(struct sf_pipeline *p)
{
    size_t n = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->ntenants; i++)
        n += p->once ? p->tenants[i].done : p->tenants[i].runs > 0;
    pthread_mutex_unlock(&p->mu);
    return n;
}

static void draw(struct sf_progress *pr, double secs)
{
    struct sf_pipeline *p = pr->p;
    uint64_t fetched = 0, delivered = 0;
    for (size_t i = 0; i < p->ntenants; i++)
        fetched += p->tenants[i].fetched;
    for (size_t i = 0; i < p->nouts; i++)
        delivered += p->outs[i].stats.delivered;
    double rate = secs > 0 ? (double)(fetched - pr->last_fetched) / secs : 0;
    pr->last_fetched = fetched;
    fprintf(stderr, "\r\033[Ksiemfwd: %zu/%zu tenants, %llu alerts fetched (%.0f/s), "
            "%llu records delivered", tenants_done(p), p->ntenants,
            (unsigned long long)fetched, rate, (unsigned long long)delivered);
    fflush(stderr);
}

static void *progress_main(void *arg)
{
    struct sf_progress *pr = arg;
    int64_t last = sf_mono_ms();
    pthread_mutex_lock(&pr->mu);
    while (!pr->stop) {
        struct timespec ts = sf_clock_after(REDRAW_MS);
        if (pthread_cond_timedwait(&pr->cv, &pr->mu, &ts) != ETIMEDOUT)
            continue;
        int64_t now = sf_mono_ms();
        draw(pr, (double)(now - last) / 1000.0);
        last = now;
        /* a daemon shows it for the first backfill only */
        if (!pr->p->once && tenants_done(pr->p) == pr->p->ntenants)
            break;
    }
    pthread_mutex_unlock(&pr->mu);
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    return NULL;
}

void sf_progress_start(struct sf_progress *pr, struct sf_pipeline *p)
{
    pr->p = p;
    pr->running = 0;
    pr->stop = 0;
    pr->last_fetched = 0;
    if (!isatty(STDERR_FILENO))
        return;
    pthread_mutex_init(&pr->mu, NULL);
    pthread_cond_init(&pr->cv, NULL);
    if (pthread_create(&pr->thread, NULL, progress_main, pr) == 0)
        pr->running = 1;
}

void sf_progress_stop(struct sf_progress *pr)
{
    if (!pr->running)
        return;
    pthread_mutex_lock(&pr->mu);
    pr->stop = 1;
    pthread_cond_signal(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    pthread_join(pr->thread, NULL);
    pthread_mutex_destroy(&pr->mu);
    pthread_cond_destroy(&pr->cv);
    pr->running = 0;
}
