/* sf_gate.h - a counting gate: at most n holders at once. The fetch stage
 * holds one per parsed API page, from parsing until the page is released,
 * so pages in memory are bounded by the gate (a few per core), not by the
 * number of tenants fetched at once. Internally locked; waits give up when
 * *abort_flag becomes nonzero. */
#ifndef SF_GATE_H
#define SF_GATE_H

#include <pthread.h>

struct sf_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int free;
};

void sf_gate_init(struct sf_gate *g, int n);
void sf_gate_destroy(struct sf_gate *g);
/* 0 once held; -1 when *abort_flag was set first (abort_flag may be NULL). */
int sf_gate_enter(struct sf_gate *g, const _Atomic int *abort_flag);
void sf_gate_leave(struct sf_gate *g);

#endif
