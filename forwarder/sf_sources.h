/* sf_sources.h - the source family seen from the rest of the forwarder:
 * one normalised view of an alert, whatever API it came from
 * (formats/sf_alert_view.h), filled by its source's view(). The pipeline
 * computes it once per alert (dedup key, rules, notifications, metrics). */
#ifndef SF_SOURCES_H
#define SF_SOURCES_H

#include <json-c/json.h>
#include "sf_alert_view.h"
#include "sf_fetch.h"

/* Fill v from alert as the source named source ("graph", "mde", "siem",
 * any case) writes it. t gives tenant and tenant_id (NULL: taken from the
 * alert where the API has them). Strings are borrowed from alert and t.
 * Fields the alert lacks, or has with the wrong type, an empty value, a NUL
 * inside or (times) an unparseable value, are NULL; last_update is NULL
 * exactly when last_update_ms is unusable (then -1). 0, or -1 when source
 * is unknown or alert is not an object (v is then empty, never garbage). */
int sf_source_view(const char *source, json_object *alert, const struct sf_fetch_tenant *t,
                   struct sf_alert_view *v);

#endif
