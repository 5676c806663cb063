/* sf_flood.h - flood control of notifications (`flood: {max: N, per: 10m}`):
 * per rule at most N messages in a window; past it the rest are held and
 * go out as ONE digest when the window ends. This is the counting only: the
 * caller stores held alerts (so none is lost) and sends the digest. Not
 * thread-safe (one output thread owns an instance). */
#ifndef SF_FLOOD_H
#define SF_FLOOD_H

#include <stddef.h>
#include <stdint.h>
#include "sf_buf.h"
#include "sf_err.h"
#include "sf_yaml.h"

struct sf_flood;

enum sf_flood_act {
    SF_FLOOD_SEND,  /* within the limit: send it now (counted) */
    SF_FLOOD_HOLD,  /* past the limit: hold it for the window's digest */
};

/* flood node (NULL or null: no limit) of the output at path, for nrules
 * rules. Errors appended to errs as "FILE:LINE: path.flood.max: ..." lines. */
sf_err sf_flood_new(const struct sf_node *flood, const char *path, size_t nrules,
                    struct sf_flood **out, struct sf_buf *errs);
void sf_flood_free(struct sf_flood *f);

/* One message of rule at now_ms. *window_ms gets the start of the window it
 * was counted in. While a finished window still has held messages (its
 * digest not sent yet) every new message joins them. */
enum sf_flood_act sf_flood_admit(struct sf_flood *f, size_t rule, int64_t now_ms,
                                 int64_t *window_ms);
/* A SEND whose delivery failed: give its slot back. */
void sf_flood_unsend(struct sf_flood *f, size_t rule);
/* Held messages found in the store at start-up (window_ms: their oldest). */
void sf_flood_restore(struct sf_flood *f, size_t rule, int64_t window_ms, size_t held);

size_t sf_flood_held(const struct sf_flood *f, size_t rule);
/* 1 if rule has held messages and its window has ended at now_ms. */
int sf_flood_due(const struct sf_flood *f, size_t rule, int64_t now_ms);
/* Start of rule's current window (0 if none). */
int64_t sf_flood_window(const struct sf_flood *f, size_t rule);
/* n held messages of rule went out in a digest. */
void sf_flood_digested(struct sf_flood *f, size_t rule, size_t n);
/* Earliest end of a window with held messages, 0 if none. */
int64_t sf_flood_next_due(const struct sf_flood *f);

/* "20 per 10m", or "unlimited". */
void sf_flood_describe(const struct sf_flood *f, char *buf, size_t len);
long long sf_flood_per_ms(const struct sf_flood *f);

#endif
