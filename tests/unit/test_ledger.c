/* test_ledger.c - the delivery ledger (forwarder/ledger.c) on its own:
 * positions, in-flight dedup, repeated verdicts, empty pages, a failed
 * cursor store, and an exhaustive check: every order of acknowledgements of
 * three pages, with a crash between any two steps (deliver, store the mark,
 * settle, store the cursor), then a restart that re-reads from the stored
 * cursor. Nothing may be lost, and only records acknowledged by the SIEM
 * but not yet marked may arrive twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sf_ledger.h"

static void test_positions_and_advance(void **state)
{
    (void)state;
    struct sf_ledger l;
    struct sf_ledger_page *p1, *p2, *end;
    struct sf_ledger_item a[] = { { "a", 10 }, { "b", 20 } };
    struct sf_ledger_item b[] = { { "c", 25 } };
    int64_t wm = 0;

    sf_ledger_init(&l, 5);
    assert_int_equal(l.position, 5);
    assert_int_equal(sf_ledger_add(&l, 20, a, 2, &p1), SF_OK);
    assert_int_equal(sf_ledger_add(&l, 25, b, 1, &p2), SF_OK);
    assert_int_equal(sf_ledger_add(&l, 40, NULL, 0, &end), SF_OK);
    assert_int_equal(l.position, 40);      /* fetch resumes after what was handed */
    assert_int_equal(l.committed, 5);
    assert_true(sf_ledger_in_flight(&l, "b", 20));
    assert_false(sf_ledger_in_flight(&l, "b", 21)); /* another version of b */
    assert_false(sf_ledger_advance(&l, &wm));

    /* the later page acknowledged first: the cursor must not move */
    assert_int_equal(sf_ledger_settle(&l, p2, 0), 1);
    assert_false(sf_ledger_in_flight(&l, "c", 25));
    assert_false(sf_ledger_advance(&l, &wm));
    assert_int_equal(sf_ledger_settle(&l, p1, 1), 1);
    assert_int_equal(sf_ledger_settle(&l, p1, 1), 0); /* a repeated verdict */
    assert_false(sf_ledger_advance(&l, &wm));
    assert_int_equal(sf_ledger_settle(&l, p1, 0), 1);
    assert_true(sf_ledger_advance(&l, &wm));
    assert_int_equal(wm, 40);              /* every page settled, the end page too */
    assert_int_equal(l.pages, 0);
    assert_int_equal(l.open, 0);
    sf_ledger_committed(&l, wm);
    assert_int_equal(l.committed, 40);
    assert_false(sf_ledger_advance(&l, &wm));
    sf_ledger_free(&l);
}

static void test_failed_store_is_offered_again(void **state)
{
    (void)state;
    struct sf_ledger l;
    struct sf_ledger_page *pg;
    struct sf_ledger_item a[] = { { "a", 10 } };
    int64_t wm = 0;

    sf_ledger_init(&l, 0);
    assert_int_equal(sf_ledger_add(&l, 10, a, 1, &pg), SF_OK);
    sf_ledger_settle(&l, pg, 0);
    assert_true(sf_ledger_advance(&l, &wm));
    assert_int_equal(wm, 10);
    /* the store failed: committed not called; the same target comes back */
    wm = 0;
    assert_true(sf_ledger_advance(&l, &wm));
    assert_int_equal(wm, 10);
    sf_ledger_committed(&l, 10);
    assert_false(sf_ledger_advance(&l, &wm));
    sf_ledger_free(&l);
}

static void test_many_in_flight(void **state)
{
    (void)state;
    enum { N = 20000 };
    struct sf_ledger l;
    struct sf_ledger_item *items = calloc(N, sizeof(*items));
    char (*ids)[16] = calloc(N, 16);
    struct sf_ledger_page *pg;

    assert_non_null(items);
    assert_non_null(ids);
    sf_ledger_init(&l, 0);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], 16, "id-%d", i);
        items[i] = (struct sf_ledger_item){ ids[i], 1000 + i / 7 };
    }
    assert_int_equal(sf_ledger_add(&l, 1000 + N / 7, items, N, &pg), SF_OK);
    assert_true(l.nbuckets >= N / 2);
    for (int i = 0; i < N; i += 2)
        assert_int_equal(sf_ledger_settle(&l, pg, (size_t)i), 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(sf_ledger_in_flight(&l, ids[i], 1000 + i / 7), i % 2);
    assert_int_equal(l.open, N / 2);
    sf_ledger_free(&l);
    free(items);
    free(ids);
}

/* ------------------------------------------------------------------ */
/* exhaustive: every acknowledgement order, a crash at every step */

#define NREC 6
#define END_UNTIL 50
static const char *const rec_id[NREC] = { "a", "b", "c", "d", "e", "f" };
static const int64_t rec_lu[NREC] = { 10, 20, 20, 30, 40, 40 };
/* pages: [a b] until 20, [c d] until 30, [e f] until 40, end page until 50 */
static const int rec_page[NREC] = { 0, 0, 1, 1, 2, 2 };

struct world {                   /* what survives a crash, and the SIEM */
    int64_t committed;
    int marked[NREC];
    int received[NREC];          /* copies the SIEM got */
};

static void check_safe(const struct world *w)
{
    for (int i = 0; i < NREC; i++) {
        /* the cursor says: every alert updated before it was delivered */
        if (rec_lu[i] < w->committed)
            assert_true(w->received[i] > 0);
        /* a mark says: delivered (or quarantined) */
        if (w->marked[i])
            assert_true(w->received[i] > 0);
    }
}

/* Run one acknowledgement order; crash after `crash_at` steps (-1: never).
 * Then restart: read every alert at or after the stored cursor that is not
 * marked, deliver it, and check no loss and only allowed duplicates. */
static void run_order(const int *order, int crash_at)
{
    struct world w = { .committed = 0 };
    struct sf_ledger l;
    struct sf_ledger_page *pages[4];
    int steps = 0, crashed = 0;

    sf_ledger_init(&l, 0);
    for (int p = 0; p < 3; p++) {
        struct sf_ledger_item it[2] = { { rec_id[2 * p], rec_lu[2 * p] },
                                        { rec_id[2 * p + 1], rec_lu[2 * p + 1] } };
        assert_int_equal(sf_ledger_add(&l, rec_lu[2 * p + 1], it, 2, &pages[p]), SF_OK);
    }
    assert_int_equal(sf_ledger_add(&l, END_UNTIL, NULL, 0, &pages[3]), SF_OK);

    for (int k = 0; k < NREC && !crashed; k++) {
        int i = order[k];
        /* step 1: the SIEM acknowledges */
        w.received[i]++;
        if (++steps == crash_at) { crashed = 1; break; }
        /* step 2: the mark is stored */
        w.marked[i] = 1;
        if (++steps == crash_at) { crashed = 1; break; }
        /* step 3: the ledger is told; step 4: the cursor is stored */
        assert_int_equal(sf_ledger_settle(&l, pages[rec_page[i]], (size_t)(i % 2)), 1);
        int64_t wm;
        if (sf_ledger_advance(&l, &wm)) {
            if (++steps == crash_at) { crashed = 1; break; }
            assert_true(wm > w.committed);
            w.committed = wm;
            sf_ledger_committed(&l, wm);
        }
        check_safe(&w);
    }
    sf_ledger_free(&l);
    check_safe(&w);
    if (!crashed) {
        assert_int_equal(w.committed, END_UNTIL);
        for (int i = 0; i < NREC; i++)
            assert_int_equal(w.received[i], 1);
        return;
    }
    /* restart: a new ledger from the stored cursor; overlap 0 */
    int before[NREC];
    memcpy(before, w.received, sizeof(before));
    sf_ledger_init(&l, w.committed);
    for (int i = 0; i < NREC; i++) {
        if (rec_lu[i] < w.committed || w.marked[i])
            continue;
        w.received[i]++;
        w.marked[i] = 1;
    }
    for (int i = 0; i < NREC; i++) {
        assert_true(w.received[i] >= 1);               /* nothing lost */
        if (w.received[i] > 1)                         /* a duplicate only when */
            assert_true(before[i] == 1);               /* acked, not yet marked */
    }
    sf_ledger_free(&l);
}

static int next_perm(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return 0;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i]; a[i] = a[j]; a[j] = t;
    for (int x = i + 1, y = n - 1; x < y; x++, y--) {
        t = a[x]; a[x] = a[y]; a[y] = t;
    }
    return 1;
}

static void test_every_order_every_crash(void **state)
{
    (void)state;
    int order[NREC] = { 0, 1, 2, 3, 4, 5 };
    int runs = 0;
    do {
        /* at most 6 acks x 3 steps + 1 */
        for (int crash_at = -1; crash_at <= 3 * NREC + 1; crash_at++) {
            run_order(order, crash_at);
            runs++;
        }
    } while (next_perm(order, NREC));
    assert_int_equal(runs, 720 * (3 * NREC + 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions_and_advance),
        cmocka_unit_test(test_failed_store_is_offered_again),
        cmocka_unit_test(test_many_in_flight),
        cmocka_unit_test(test_every_order_every_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
