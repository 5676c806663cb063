/* sf_events.h - operational events (outputs[].events) for the MSSP: the
 * watcher that raises consent, stale-tenant, failing-output and quarantine
 * events to the email and webhook outputs that subscribed (events.c). */
#ifndef SF_EVENTS_H
#define SF_EVENTS_H

#include <stdint.h>
#include "sf_err.h"

struct sf_pipeline;
struct sf_events;

/* State for every subscribed output of p (none: a watcher that never runs). */
sf_err sf_events_new(struct sf_pipeline *p, struct sf_events **out);
/* Start the watcher thread (once a second), if any output subscribed. */
void sf_events_start(struct sf_events *evs);
/* One look at the pipeline at now (the thread's step; tests call it). */
void sf_events_tick(struct sf_events *evs, int64_t now);
/* Stop the thread after a last look, and free. */
void sf_events_free(struct sf_events *evs);

#endif
