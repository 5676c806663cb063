/* sf_metrics.h - Prometheus text endpoint (/metrics) and /healthz on
 * metrics.listen, served by one thread. It reads the running pipeline under
 * its lock and the cursors from the state store; it survives config reloads
 * (sf_metrics_attach swaps the pipeline it reports on). */
#ifndef SF_METRICS_H
#define SF_METRICS_H

#include "sf_err.h"

struct sf_pipeline;
struct sf_metrics;

/* listen is "HOST:PORT" (IPv4 or [IPv6]). */
sf_err sf_metrics_start(const char *listen, struct sf_metrics **out, char *errbuf,
                        size_t errlen);
void sf_metrics_attach(struct sf_metrics *m, struct sf_pipeline *p); /* NULL detaches */
void sf_metrics_stop(struct sf_metrics *m);

#endif
