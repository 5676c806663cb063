/* sf_state.h - crash-safe cursors per (tenant, output) in SQLite (WAL) under
 * state_dir: the last-update watermark plus the (alert id, lastUpdate) pairs
 * already delivered inside the overlap window. Internally locked: any thread
 * may call. Strings passed in are copied by SQLite; nothing is retained. */
#ifndef SF_STATE_H
#define SF_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "sf_err.h"

struct sf_state;

struct sf_cursor {
    int64_t watermark_ms;     /* every alert updated before it is delivered; -1: none yet */
    int64_t last_success_ms;  /* when a window last completed, 0 = never */
    int64_t last_attempt_ms;
    uint64_t delivered;       /* records acknowledged, all time */
    uint64_t quarantined;     /* records rejected permanently, all time */
    char last_error[256];     /* "" when the last attempt succeeded */
};

struct sf_seen {
    const char *alert_id;
    int64_t last_update_ms;
    int quarantined;          /* 1: rejected permanently (counted apart) */
};

/* Open (create) state_dir/siemfwd.db; state_dir is created 0700. An
 * existing state_dir owned by another user (root aside) or writable by group
 * or others is refused (SF_ERR_CONFIG). sync_full selects synchronous=FULL
 * (survives power loss) over NORMAL (survives process crash, faster). */
sf_err sf_state_open(const char *state_dir, int sync_full, struct sf_state **out,
                     char *errbuf, size_t errlen);
/* Open an existing state_dir/siemfwd.db for reading only (`siemfwd state`):
 * creates nothing; SF_ERR_NOTFOUND when it does not exist. */
sf_err sf_state_open_readonly(const char *state_dir, struct sf_state **out, char *errbuf,
                              size_t errlen);
void sf_state_close(struct sf_state *st);

sf_err sf_state_cursor(struct sf_state *st, const char *tenant, const char *output,
                       struct sf_cursor *c);
/* 1 if (alert_id, last_update_ms) was delivered to that output, else 0. */
int sf_state_seen(struct sf_state *st, const char *tenant, const char *output,
                  const char *alert_id, int64_t last_update_ms);
/* Record delivered / quarantined records in one transaction. */
sf_err sf_state_mark(struct sf_state *st, const char *tenant, const char *output,
                     const struct sf_seen *items, size_t n);
/* A window completed: move the watermark (never backwards) and forget seen
 * pairs older than prune_before_ms. */
sf_err sf_state_advance(struct sf_state *st, const char *tenant, const char *output,
                        int64_t watermark_ms, int64_t prune_before_ms, int64_t now_ms);
/* A new cursor's starting point (now - start_from), stored once so that a
 * first backfill cut short resumes from the same place instead of sliding
 * forward with the clock. No effect on a cursor that has a watermark. */
sf_err sf_state_start(struct sf_state *st, const char *tenant, const char *output,
                      int64_t watermark_ms);
/* Remember the last error ("" or NULL clears it; known secrets are
 * redacted first, sf_redact.h) and the attempt time. */
sf_err sf_state_note(struct sf_state *st, const char *tenant, const char *output,
                     const char *error, int64_t now_ms);

typedef void (*sf_state_row_fn)(void *opaque, const char *tenant, const char *output,
                                const struct sf_cursor *c);
sf_err sf_state_each(struct sf_state *st, sf_state_row_fn fn, void *opaque);

#endif
