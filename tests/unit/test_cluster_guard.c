/* test_cluster_guard.c - the in-process parts of cluster mode: the zombie
 * guard with an injected clock (forwarder/cluster_guard.c), and the output
 * runner's fence / adopt (forwarder/outrun.c) that revoke, lost and frozen
 * assignments use, on a real runner with a real SQLite state store and an
 * output whose acknowledgements the test holds or releases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_cluster.h"
#include "sf_outrun.h"
#include "sf_state.h"

/* ---- the guard -------------------------------------------------------- */

static void test_guard_alive_while_ticking(void **state)
{
    (void)state;
    struct sf_cluster_guard g;
    sf_cluster_guard_init(&g, 1000, 2000, 3000);
    assert_true(sf_cluster_guard_alive(&g, 1000));
    for (int64_t t = 1100; t < 20000; t += 100) { /* the loop polls every 100 ms */
        assert_int_equal(sf_cluster_guard_tick(&g, t), 0);
        assert_true(sf_cluster_guard_alive(&g, t + 50));
    }
}

/* A loop that did not run for longer than alive_ms stops the work at once,
 * even before it runs again (workers ask, the loop is stuck). */
static void test_guard_stalled_loop_stops_work(void **state)
{
    (void)state;
    struct sf_cluster_guard g;
    sf_cluster_guard_init(&g, 0, 2000, 3000);
    assert_true(sf_cluster_guard_alive(&g, 2000));
    assert_false(sf_cluster_guard_alive(&g, 2001));
    /* it runs again within the session: trusted again */
    assert_int_equal(sf_cluster_guard_tick(&g, 2500), 0);
    assert_true(sf_cluster_guard_alive(&g, 2600));
}

/* SIGSTOP longer than the session, then SIGCONT: the first tick sees the
 * gap, the assignment stays suspect however often the loop ticks, until the
 * group confirms it. */
static void test_guard_frozen_until_confirmed(void **state)
{
    (void)state;
    struct sf_cluster_guard g;
    sf_cluster_guard_init(&g, 0, 2000, 3000);
    assert_int_equal(sf_cluster_guard_tick(&g, 100), 0);
    assert_int_equal(sf_cluster_guard_tick(&g, 20100), 1); /* 20 s gap */
    assert_false(sf_cluster_guard_alive(&g, 20100));
    for (int64_t t = 20200; t < 40000; t += 100) {
        assert_int_equal(sf_cluster_guard_tick(&g, t), 0); /* reported once */
        assert_false(sf_cluster_guard_alive(&g, t));
    }
    sf_cluster_guard_confirm(&g, 40000);
    assert_true(sf_cluster_guard_alive(&g, 40001));
    /* a gap of exactly the session is not yet a lost session */
    assert_int_equal(sf_cluster_guard_tick(&g, 43000), 0);
    assert_int_equal(sf_cluster_guard_tick(&g, 46001), 1);
}

/* A freeze noticed by a tick inside a rebalance callback (whose return
 * value nobody there acts on) is kept for the loop: before this, such a
 * tick left the guard suspect with nobody leaving and rejoining the group,
 * and the instance polled nothing until some other member caused a
 * rebalance. */
static void test_guard_freeze_kept_for_the_loop(void **state)
{
    (void)state;
    struct sf_cluster_guard g;
    sf_cluster_guard_init(&g, 0, 2000, 3000);
    assert_int_equal(sf_cluster_guard_take_frozen(&g), 0);
    sf_cluster_guard_tick(&g, 100);
    sf_cluster_guard_tick(&g, 5100); /* inside a callback: result ignored */
    assert_false(sf_cluster_guard_alive(&g, 5100));
    assert_int_equal(sf_cluster_guard_take_frozen(&g), 5000); /* the loop acts */
    assert_int_equal(sf_cluster_guard_take_frozen(&g), 0);    /* once */
    /* a confirm in between forgets it: the group assigned again */
    sf_cluster_guard_confirm(&g, 6000);
    sf_cluster_guard_tick(&g, 10000);
    sf_cluster_guard_confirm(&g, 10001);
    assert_int_equal(sf_cluster_guard_take_frozen(&g), 0);
    assert_true(sf_cluster_guard_alive(&g, 10002));
}

/* The loop's own bounded work (a cursor load of 8 s on a busy machine) is
 * not a freeze: the work pauses polling while it runs (alive_ms), and the
 * loop is trusted again as soon as it ends. */
static void test_guard_slow_work_is_no_freeze(void **state)
{
    (void)state;
    struct sf_cluster_guard g;
    sf_cluster_guard_init(&g, 0, 2000, 3000);
    sf_cluster_guard_tick(&g, 100);
    assert_false(sf_cluster_guard_alive(&g, 4000)); /* paused while loading */
    sf_cluster_guard_worked(&g, 8100);
    assert_true(sf_cluster_guard_alive(&g, 8100));
    assert_int_equal(sf_cluster_guard_tick(&g, 8150), 0);
    assert_int_equal(sf_cluster_guard_take_frozen(&g), 0);
    assert_true(sf_cluster_guard_alive(&g, 8200));
}

/* ---- fence and adopt on a real runner ---------------------------------- */

static struct {
    pthread_mutex_t mu;
    int ack;           /* 1: deliver; 0: leave unanswered (flush times out) */
    int sent_b0;       /* times the page handed after the fence was sent */
} out_ctl = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };

static sf_err o_start(struct sf_output *o, char *e, size_t n)
{
    (void)o, (void)e, (void)n;
    return SF_OK;
}

static sf_err o_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    pthread_mutex_lock(&out_ctl.mu);
    int ack = out_ctl.ack;
    for (size_t i = 0; i < n; i++)
        out_ctl.sent_b0 += strcmp(msgs[i].alert_id, "b0") == 0;
    pthread_mutex_unlock(&out_ctl.mu);
    for (size_t i = 0; i < n && ack; i++)
        o->verdict(o->verdict_opaque, msgs[i].id, SF_V_DELIVERED, NULL);
    return SF_OK;
}

static void o_poll(struct sf_output *o, int t) { (void)o, (void)t; }
static size_t o_flush(struct sf_output *o, int t) { (void)o, (void)t; return 0; }
static void o_destroy(struct sf_output *o) { o->ctx = NULL; }

static const struct sf_output_type o_type = { .name = "test", .start = o_start,
                                              .send = o_send, .poll = o_poll,
                                              .flush = o_flush, .destroy = o_destroy };

static char tmpdir[64];
static struct sf_state *st;
static struct sf_outrun r;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int setup_runner(void **state)
{
    char errbuf[256];
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf-cluster-guard.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    assert_int_equal(sf_state_open(tmpdir, 0, &st, errbuf, sizeof(errbuf)), SF_OK);
    memset(&r, 0, sizeof(r));
    r.out.type = &o_type;
    r.out.name = "o";
    r.out.ctx = &out_ctl;
    r.state = st;
    r.state_dir = tmpdir;
    r.flush_timeout_ms = 10;
    r.max_bytes = 1 << 20;
    r.max_failing_ms = 3600000;
    assert_int_equal(sf_outrun_start(&r, 2), SF_OK);
    r.pairs[0].tenant = "t0";
    r.pairs[1].tenant = "t1";
    return 0;
}

static int teardown_runner(void **state)
{
    char cmd[128];
    (void)state;
    sf_outrun_release(&r);
    sf_state_close(st);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void submit(size_t ti, int64_t until, const char *id)
{
    struct sf_buf buf;
    struct sf_msg m = { 0 };
    struct sf_ledger_item it = { id, until - 1 };
    sf_buf_init(&buf, 0);
    sf_buf_adds(&buf, "record");
    sf_buf_addc(&buf, '\0');
    m.len = 0; /* offset of the record in buf */
    m.tenant = r.pairs[ti].tenant;
    m.alert_id = id;
    assert_int_equal(sf_outrun_submit(&r, ti, until, &buf, &m, &it, 1), SF_OK);
    sf_buf_free(&buf);
}

static int64_t stored(const char *tenant)
{
    struct sf_cursor c;
    assert_int_equal(sf_state_cursor(st, tenant, "o", &c), SF_OK);
    return c.watermark_ms;
}

/* Fenced: queued records of that tenant are dropped, later pages too, and its
 * cursor never moves again, while the other tenant's goes on. Adopted: the
 * pair starts over from whatever cursor the store holds (another instance
 * may have moved it). */
static void test_fence_and_adopt(void **state)
{
    struct sf_outpair_view v;
    (void)state;
    pthread_mutex_lock(&out_ctl.mu);
    out_ctl.ack = 0;
    pthread_mutex_unlock(&out_ctl.mu);
    assert_int_equal(sf_outrun_position(&r, 0, 1000), 1000);
    assert_int_equal(sf_outrun_position(&r, 1, 1000), 1000);
    submit(0, 2000, "a0");
    submit(1, 2000, "a1");
    sf_outrun_pair(&r, 0, &v);
    assert_int_equal(v.open, 1);

    sf_outrun_fence(&r, 0);
    submit(0, 3000, "b0"); /* dropped: not ours any more */
    sf_outrun_pair(&r, 0, &v);
    assert_int_equal(v.position, 2000);

    /* acknowledge from now on: t1 delivers and its cursor moves */
    pthread_mutex_lock(&out_ctl.mu);
    out_ctl.ack = 1;
    pthread_mutex_unlock(&out_ctl.mu);
    for (int i = 0; i < 3000 && stored("t1") != 2000; i++)
        sleep_ms(10);
    assert_int_equal(stored("t1"), 2000);
    /* t0's record may have been in a round when it was fenced: let rounds
     * run dry, then check its cursor stayed */
    for (int i = 0; i < 3000 && r.stats.queued_records; i++)
        sleep_ms(10);
    assert_int_equal(r.stats.queued_records, 0);
    assert_int_equal(stored("t0"), -1);

    /* another instance moved t0 to 5000 meanwhile */
    assert_int_equal(sf_state_start(st, "t0", "o", 5000), SF_OK);
    int rc = -1;
    for (int i = 0; i < 3000 && (rc = sf_outrun_adopt(&r, 0)) != 0; i++)
        sleep_ms(10);
    assert_int_equal(rc, 0);
    assert_int_equal(sf_outrun_position(&r, 0, stored("t0")), 5000);
    submit(0, 6000, "c0");
    for (int i = 0; i < 3000 && stored("t0") != 6000; i++)
        sleep_ms(10);
    assert_int_equal(stored("t0"), 6000);
    pthread_mutex_lock(&out_ctl.mu);
    assert_int_equal(out_ctl.sent_b0, 0);
    pthread_mutex_unlock(&out_ctl.mu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_alive_while_ticking),
        cmocka_unit_test(test_guard_stalled_loop_stops_work),
        cmocka_unit_test(test_guard_frozen_until_confirmed),
        cmocka_unit_test(test_guard_freeze_kept_for_the_loop),
        cmocka_unit_test(test_guard_slow_work_is_no_freeze),
        cmocka_unit_test_setup_teardown(test_fence_and_adopt, setup_runner, teardown_runner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
