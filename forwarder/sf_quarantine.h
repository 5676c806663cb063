/* sf_quarantine.h - dead-letter files: a record an output rejects for good
 * (too large, refused by HEC, unrenderable) is appended, with the reason, to
 * state_dir/quarantine/<output>.jsonl, counted, and no longer blocks the
 * cursor. Thread-safe (one process-wide lock). */
#ifndef SF_QUARANTINE_H
#define SF_QUARANTINE_H

#include <stddef.h>
#include "sf_err.h"

sf_err sf_quarantine_write(const char *state_dir, const char *output, const char *tenant,
                           const char *alert_id, const char *reason,
                           const char *record, size_t len);

#endif
