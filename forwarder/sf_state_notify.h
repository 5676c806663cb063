/* sf_state_notify.h - the notification policy's memory (state_notify.c):
 * the sent-once table and the alerts held for flood-control digests, in
 * state_dir/siemfwd.db through the SQLite state backend. One handle per
 * notification output, used by its runner thread. */
#ifndef SF_STATE_NOTIFY_H
#define SF_STATE_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include "sf_err.h"
#include "sf_notify_render.h"
#include "sf_state.h"

struct sf_nstore;

/* The tables of output in siemfwd.db (created if missing): through shared
 * (the pipeline's state store, borrowed) when it is the SQLite backend,
 * else through the instance's own state_dir/siemfwd.db, opened here. A
 * notify.db of an older siemfwd in state_dir is imported once. */
sf_err sf_nstore_open(struct sf_state *shared, const char *state_dir, const char *output,
                      struct sf_nstore **out, char *errbuf, size_t errlen);
void sf_nstore_close(struct sf_nstore *s);
/* Highest severity rank sent for (rule key, alert id), -1 if never sent. */
int sf_nstore_sent_rank(struct sf_nstore *s, const char *rule, const char *alert_id);
sf_err sf_nstore_mark_sent(struct sf_nstore *s, const char *rule, const char *alert_id,
                           int rank, int64_t now_ms);
/* Hold item for rule's digest and mark it sent at rank, in one transaction
 * (item->held_ms is not read: now_ms is stored). */
sf_err sf_nstore_hold(struct sf_nstore *s, const char *rule, int64_t window_ms,
                      const struct sf_notify_item *item, int rank, int64_t now_ms);
/* Up to max held items of rule, oldest first (*items owned by the caller:
 * sf_nstore_items_free); *last_seq is the newest one's sequence number. */
sf_err sf_nstore_held(struct sf_nstore *s, const char *rule, size_t max,
                      struct sf_notify_item **items, size_t *n, int64_t *from_ms,
                      int64_t *last_seq);
sf_err sf_nstore_drop_held(struct sf_nstore *s, const char *rule, int64_t last_seq);
void sf_nstore_items_free(struct sf_notify_item *items, size_t n);
/* Calls fn for each rule key with held items: oldest window, count. */
sf_err sf_nstore_held_rules(struct sf_nstore *s,
                            void (*fn)(void *opaque, const char *rule, int64_t window_ms,
                                       size_t n),
                            void *opaque);

#endif
