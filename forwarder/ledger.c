/* ledger.c - the delivery ledger of one (tenant, output) pair (sf_ledger.h):
 * a FIFO of pages and a hash of the records still in flight. A cursor may
 * pass a page only when that page and every page before it is settled, so a
 * slow record early in the FIFO holds the cursor however many later pages
 * were acknowledged (their marks keep a restart from sending them twice). */
#include <stdlib.h>
#include <string.h>

#include "sf_ledger.h"

static size_t rec_hash(const char *id, int64_t lu, size_t nbuckets)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ (uint64_t)lu) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29)) & (nbuckets - 1);
}

void sf_ledger_init(struct sf_ledger *l, int64_t committed)
{
    memset(l, 0, sizeof(*l));
    l->committed = committed;
    l->position = committed;
    l->target = committed;
}

static void page_free(struct sf_ledger_page *pg)
{
    for (size_t i = 0; i < pg->n; i++)
        free(pg->recs[i].alert_id);
    free(pg->recs);
    free(pg);
}

void sf_ledger_free(struct sf_ledger *l)
{
    struct sf_ledger_page *pg = l->head;
    while (pg) {
        struct sf_ledger_page *next = pg->next;
        page_free(pg);
        pg = next;
    }
    free(l->buckets);
    memset(l, 0, sizeof(*l));
}

static void hash_put(struct sf_ledger *l, struct sf_ledger_rec *r)
{
    size_t b = rec_hash(r->alert_id, r->last_update_ms, l->nbuckets);
    r->hnext = l->buckets[b];
    l->buckets[b] = r;
}

/* Keep at most two in-flight records per bucket on average. */
static sf_err hash_reserve(struct sf_ledger *l, size_t more)
{
    size_t want = l->nbuckets ? l->nbuckets : 64;
    while (want < (l->open + more) / 2)
        want *= 2;
    if (want == l->nbuckets)
        return SF_OK;
    struct sf_ledger_rec **nb = calloc(want, sizeof(*nb));
    if (!nb)
        return SF_ERR_NOMEM;
    struct sf_ledger_rec **old = l->buckets;
    size_t nold = l->nbuckets;
    l->buckets = nb;
    l->nbuckets = want;
    for (size_t b = 0; b < nold; b++) {
        struct sf_ledger_rec *r = old[b];
        while (r) {
            struct sf_ledger_rec *next = r->hnext;
            hash_put(l, r);
            r = next;
        }
    }
    free(old);
    return SF_OK;
}

sf_err sf_ledger_add(struct sf_ledger *l, int64_t until, const struct sf_ledger_item *items,
                     size_t n, struct sf_ledger_page **page)
{
    struct sf_ledger_page *pg = calloc(1, sizeof(*pg));
    sf_err err = SF_ERR_NOMEM;

    if (!pg)
        return err;
    pg->until = until;
    if (n && !(pg->recs = calloc(n, sizeof(*pg->recs))))
        goto out;
    for (; pg->n < n; pg->n++) {
        struct sf_ledger_rec *r = &pg->recs[pg->n];
        r->alert_id = strdup(items[pg->n].alert_id);
        r->last_update_ms = items[pg->n].last_update_ms;
        if (!r->alert_id)
            goto out;
    }
    if (hash_reserve(l, n) != SF_OK)
        goto out;
    for (size_t i = 0; i < n; i++)
        hash_put(l, &pg->recs[i]);
    pg->open = n;
    l->open += n;
    if (l->tail)
        l->tail->next = pg;
    else
        l->head = pg;
    l->tail = pg;
    l->pages++;
    if (until > l->position)
        l->position = until;
    *page = pg;
    pg = NULL; /* owned by the ledger */
    err = SF_OK;
out:
    if (pg)
        page_free(pg);
    return err;
}

int sf_ledger_in_flight(const struct sf_ledger *l, const char *alert_id,
                        int64_t last_update_ms)
{
    if (!l->open)
        return 0;
    for (const struct sf_ledger_rec *r = l->buckets[rec_hash(alert_id, last_update_ms,
                                                               l->nbuckets)];
         r; r = r->hnext)
        if (r->last_update_ms == last_update_ms && strcmp(r->alert_id, alert_id) == 0)
            return 1;
    return 0;
}

int sf_ledger_settle(struct sf_ledger *l, struct sf_ledger_page *page, size_t i)
{
    struct sf_ledger_rec *r = &page->recs[i];
    if (r->settled)
        return 0;
    struct sf_ledger_rec **pp = &l->buckets[rec_hash(r->alert_id, r->last_update_ms,
                                                     l->nbuckets)];
    while (*pp && *pp != r)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = r->hnext;
    r->hnext = NULL;
    r->settled = 1;
    page->open--;
    l->open--;
    return 1;
}

int sf_ledger_advance(struct sf_ledger *l, int64_t *watermark)
{
    while (l->head && l->head->open == 0) {
        struct sf_ledger_page *pg = l->head;
        if (pg->until > l->target)
            l->target = pg->until;
        l->head = pg->next;
        if (!l->head)
            l->tail = NULL;
        l->pages--;
        page_free(pg);
    }
    /* a target a failed store left behind is offered again */
    if (l->target <= l->committed)
        return 0;
    *watermark = l->target;
    return 1;
}

void sf_ledger_committed(struct sf_ledger *l, int64_t watermark)
{
    if (watermark > l->committed)
        l->committed = watermark;
    if (l->committed > l->position)
        l->position = l->committed;
}
