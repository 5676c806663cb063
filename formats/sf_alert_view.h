/* sf_alert_view.h - one alert as every stage after fetch reads it, whatever
 * API it came from: filled once per alert by its source's view() (the
 * source registry, forwarder/sf_sources.h) and read by rules, notifications
 * (formats' notification renderer), dedup and metrics, so that no stage
 * guesses API field names again. Strings are borrowed from the parsed alert
 * (or the view's own buffers); absent fields are NULL, never "". */
#ifndef SF_ALERT_VIEW_H
#define SF_ALERT_VIEW_H

#include <stddef.h>
#include <stdint.h>

#define SF_VIEW_MAX_DEVICES 16
#define SF_VIEW_LINK_MAX 2048

/* Severity ranks, ordered: rules compare them ("min_severity: medium"). */
enum sf_sev_rank {
    SF_SEV_UNKNOWN = 0,       /* absent or not one of the words below */
    SF_SEV_INFORMATIONAL = 1,
    SF_SEV_LOW = 2,
    SF_SEV_MEDIUM = 3,
    SF_SEV_HIGH = 4,
};

struct sf_alert_view {
    const char *source;          /* registry name: "graph", "mde", "siem" */
    const char *tenant;          /* configured tenant name */
    const char *tenant_id;       /* Entra tenant GUID */
    const char *id;              /* the API's alert id (dedup key, with last_update_ms) */
    int64_t last_update_ms;      /* -1 when missing or malformed */
    const char *last_update;     /* as the API wrote it */
    const char *created;         /* creation time as the API wrote it */
    const char *severity;        /* as the API wrote it ("high", "High", ...) */
    int sev_rank;                /* enum sf_sev_rank */
    const char *status;
    const char *category;
    const char *title;
    const char *description;
    const char *service_source;  /* Graph serviceSource / MDE detectionSource family */
    const char *detection_source;
    const char *devices[SF_VIEW_MAX_DEVICES];   /* host names, unique, in order */
    size_t ndevices;
    char link[SF_VIEW_LINK_MAX]; /* portal link carrying tid=, "" if none */
};

/* "informational"/"Informational"/"INFO"... -> rank; NULL or unknown: 0. */
int sf_sev_rank_of(const char *severity);

#endif
