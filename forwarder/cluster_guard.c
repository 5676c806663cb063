/* cluster_guard.c - the zombie guard of cluster mode (sf_cluster.h): fetch
 * and delivery act only while the consumer loop ran recently, and a loop
 * that was frozen longer than the session (SIGSTOP, a stalled VM) distrusts
 * its assignment until the group assigns again. librdkafka itself notices a
 * lost session only many seconds later (measured ~14 s on the mock). */
#include <stdatomic.h>

#include "sf_cluster.h"

void sf_cluster_guard_init(struct sf_cluster_guard *g, int64_t now, int64_t alive_ms,
                           int64_t session_ms)
{
    g->last_ms = now;
    g->suspect = 0;
    g->frozen_gap = 0;
    g->alive_ms = alive_ms;
    g->session_ms = session_ms;
}

int sf_cluster_guard_tick(struct sf_cluster_guard *g, int64_t now)
{
    int became = 0;
    /* suspect first, then the new tick: a worker that reads a fresh tick
     * also reads the suspicion */
    int64_t gap = now - g->last_ms;
    if (gap > g->session_ms && !g->suspect) {
        g->suspect = 1;
        g->frozen_gap = gap;
        became = 1;
    }
    g->last_ms = now;
    return became;
}

void sf_cluster_guard_worked(struct sf_cluster_guard *g, int64_t now)
{
    g->last_ms = now;
}

int64_t sf_cluster_guard_take_frozen(struct sf_cluster_guard *g)
{
    return atomic_exchange(&g->frozen_gap, 0);
}

int sf_cluster_guard_alive(struct sf_cluster_guard *g, int64_t now)
{
    return !g->suspect && now - g->last_ms <= g->alive_ms;
}

void sf_cluster_guard_confirm(struct sf_cluster_guard *g, int64_t now)
{
    g->last_ms = now;
    g->suspect = 0;
    g->frozen_gap = 0;
}
