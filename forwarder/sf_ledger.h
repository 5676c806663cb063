/* sf_ledger.h - the delivery ledger of one (tenant, output) pair: the pages
 * of records handed to the output, in fetch order (oldest last-update time
 * first), and which of their records are settled. In: pages and "this
 * record's mark is durable" (delivered or quarantined). Out: whether a
 * record is still in flight (fetch dedup), where the next fetch resumes
 * (position), and how far the durable cursor may move (advance).
 * Pure: no threads, no I/O, no clock; the caller serialises. Owns copies of
 * the alert ids it holds. */
#ifndef SF_LEDGER_H
#define SF_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "sf_err.h"

struct sf_ledger_rec {
    char *alert_id;               /* owned copy */
    int64_t last_update_ms;
    int settled;                  /* its mark (delivered / quarantined) is durable */
    struct sf_ledger_rec *hnext;  /* in-flight hash chain */
};

struct sf_ledger_page {
    int64_t until;                /* cursor target once this page and every earlier one
                                     is settled: every alert updated before it was in
                                     this page or an earlier one */
    size_t n, open;               /* records, records not settled */
    struct sf_ledger_rec *recs;   /* owned, n entries */
    struct sf_ledger_page *next;
};

struct sf_ledger {
    int64_t committed;            /* the durable cursor (-1: none yet) */
    int64_t position;             /* where the next read resumes: >= committed */
    int64_t target;               /* latest until of retired pages (not yet stored
                                     when > committed) */
    struct sf_ledger_page *head, *tail;  /* owned, fetch order */
    size_t pages, open;           /* pages held, records not settled */
    struct sf_ledger_rec **buckets;      /* in-flight records by (id, time) */
    size_t nbuckets;
};

struct sf_ledger_item {           /* one record of a page being added (borrowed) */
    const char *alert_id;
    int64_t last_update_ms;
};

void sf_ledger_init(struct sf_ledger *l, int64_t committed);
void sf_ledger_free(struct sf_ledger *l);

/* Hand a page of n records (ids copied) whose cursor target is until; n may
 * be 0 (a page the output has nothing of, or the end of a window). Moves
 * position to until when later. *page gets the page (owned by the ledger
 * until sf_ledger_advance retires it). SF_ERR_NOMEM leaves l unchanged. */
sf_err sf_ledger_add(struct sf_ledger *l, int64_t until, const struct sf_ledger_item *items,
                     size_t n, struct sf_ledger_page **page);

/* 1 when (alert_id, last_update_ms) is in a page and not settled yet. */
int sf_ledger_in_flight(const struct sf_ledger *l, const char *alert_id,
                        int64_t last_update_ms);

/* Record i of page is settled: its mark is durable. Returns 1, or 0 when it
 * was settled already (a repeated verdict changes nothing). */
int sf_ledger_settle(struct sf_ledger *l, struct sf_ledger_page *page, size_t i);

/* The cursor the settled pages at the head allow. Retires them and returns 1
 * with *watermark when it is later than committed; 0 when nothing moved.
 * The caller stores *watermark, then calls sf_ledger_committed. */
int sf_ledger_advance(struct sf_ledger *l, int64_t *watermark);
/* The caller stored watermark durably. */
void sf_ledger_committed(struct sf_ledger *l, int64_t watermark);

#endif
