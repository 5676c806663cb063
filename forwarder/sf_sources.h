/* sf_sources.h - the source family seen from the rest of the forwarder:
 * the registry of alert APIs by name (forwarder/sources.c; each type's
 * defaults, paging and filter rules live in its source_NAME.c), the check
 * of a loaded config's tenants against it, and one normalised view of an
 * alert whatever API it came from (formats/sf_alert_view.h), filled by its
 * source's view(). The pipeline computes the view once per alert (dedup
 * key, rules, notifications, metrics). */
#ifndef SF_SOURCES_H
#define SF_SOURCES_H

#include <json-c/json.h>
#include "sf_alert_view.h"
#include "sf_buf.h"
#include "sf_config.h"
#include "sf_fetch.h"

/* NULL-terminated list of the source type names (for messages). */
const char *const *sf_source_names(void);
/* What the app registration needs for source name, in words; NULL if
 * there is no such source. */
const char *sf_source_permission(const char *name);

/* After sf_config_load: check every tenant's source (a registered name),
 * the keys that depend on it (page_size only where the API pages, filter
 * only where it filters, api_base where the source has no default) and
 * fill in the source's defaults (api_base, page_size). Problems appended
 * to errs as "FILE:LINE: tenants[i].key: message" lines; SF_ERR_CONFIG
 * (or SF_ERR_NOMEM). Every command loading a config calls it. */
sf_err sf_sources_apply(struct sf_config *cfg, struct sf_buf *errs);

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
