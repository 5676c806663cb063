/* gate.c - the counting gate of sf_gate.h. */
#include <stdatomic.h>
#include <time.h>

#include "sf_clock.h"
#include "sf_gate.h"

#define ABORT_CHECK_MS 100

void sf_gate_init(struct sf_gate *g, int n)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->free = n;
}

void sf_gate_destroy(struct sf_gate *g)
{
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
}

int sf_gate_enter(struct sf_gate *g, const _Atomic int *abort_flag)
{
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    while (g->free <= 0) {
        if (abort_flag && atomic_load(abort_flag)) {
            rc = -1;
            break;
        }
        struct timespec ts = sf_clock_after(ABORT_CHECK_MS);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    if (!rc)
        g->free--;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void sf_gate_leave(struct sf_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->free++;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}
