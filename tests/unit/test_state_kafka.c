/* test_state_kafka.c - the Kafka state backend (sf_state_kafka.h) against
 * librdkafka's mock cluster (3 brokers, 127.0.0.1): cursors and seen pairs
 * round-trip through the topic, the last record per key wins, a garbage
 * record is skipped with its key logged, unclean vs released takeovers,
 * a lost assignment writes nothing, coalesced marks still written, 10,000
 * cursors load, the read-only view, librdkafka properties, unreachable
 * brokers, concurrent callers (also run under TSan by tests/run.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sf_clock.h"
#include "sf_cluster_hash.h"
#include "sf_config.h"
#include "sf_state_kafka.h"

#ifdef __SANITIZE_THREAD__
#include <stdint.h>
#include <threads.h>
/* librdkafka 2.0.2 starts its threads with C11 thrd_create, which gcc 12's
 * TSan does not intercept: its threads would run without TSan state and
 * crash in their first malloc. Defined here, the executable's thrd_*
 * win over glibc's for librdkafka too and go through pthread_*. Races inside
 * librdkafka (its C11 mutexes are invisible to TSan) are suppressed by
 * tests/tsan.supp. */
struct thrd_tramp {
    thrd_start_t fn;
    void *arg;
};

static void *thrd_tramp_run(void *p)
{
    struct thrd_tramp t = *(struct thrd_tramp *)p;

    free(p);
    return (void *)(intptr_t)t.fn(t.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
    struct thrd_tramp *t = malloc(sizeof(*t));

    if (!t)
        return thrd_nomem;
    *t = (struct thrd_tramp){ fn, arg };
    if (pthread_create(thr, NULL, thrd_tramp_run, t) != 0) {
        free(t);
        return thrd_error;
    }
    return thrd_success;
}

/* Joins and detaches must be seen too, or TSan finds a reused thread id. */
int thrd_join(thrd_t thr, int *res)
{
    void *ret = NULL;

    if (pthread_join(thr, &ret) != 0)
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)ret;
    return thrd_success;
}

int thrd_detach(thrd_t thr)
{
    return pthread_detach(thr) == 0 ? thrd_success : thrd_error;
}
#endif

#define TOPIC "siemfwd.cursors"
#define P 8
#define NT 4

static const char *const tnames[NT] = { "contoso", "fabrikam", "tailspin", "woodgrove" };
static const char *const tids[NT] = {
    "11111111-2222-3333-4444-555555555555", "AAAAAAAA-bbbb-cccc-dddd-eeeeeeeeeeee",
    "0f0f0f0f-1234-5678-9abc-def012345678", "99999999-8888-7777-6666-555555555555",
};

struct fx {
    rd_kafka_t *mrk;             /* hosts the mock cluster */
    rd_kafka_t *raw;             /* writes records by hand, reads watermarks */
    rd_kafka_mock_cluster_t *mc;
    char brokers[256];
    struct sf_tenant_conf tenants[NT];
    struct sf_config cfg;
    char *pk[4], *pv[4];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];

    assert_non_null(f);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    f->mrk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(f->mrk);
    f->mc = rd_kafka_mock_cluster_new(f->mrk, 3);
    assert_non_null(f->mc);
    assert_int_equal(rd_kafka_mock_topic_create(f->mc, TOPIC, P, 3), 0);
    snprintf(f->brokers, sizeof(f->brokers), "%s", rd_kafka_mock_cluster_bootstraps(f->mc));
    conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", f->brokers, errstr,
                                       sizeof(errstr)), RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    f->raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(f->raw);
    for (int i = 0; i < NT; i++) {
        f->tenants[i].name = (char *)tnames[i];
        f->tenants[i].tenant_id = (char *)tids[i];
    }
    f->cfg.tenants = f->tenants;
    f->cfg.n_tenants = NT;
    f->cfg.cluster = (struct sf_cluster_conf){ .enabled = 1, .brokers = f->brokers,
                                               .group = "siemfwd",
                                               .tenants_topic = "siemfwd.tenants",
                                               .cursors_topic = TOPIC, .partitions = P,
                                               .instance_id = "node-a" };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    rd_kafka_destroy(f->raw);
    rd_kafka_mock_cluster_destroy(f->mc);
    rd_kafka_destroy(f->mrk);
    free(f);
    return 0;
}

static struct sf_state *open_as(struct fx *f, const char *owner)
{
    struct sf_state *st = NULL;
    char errbuf[512] = "";

    f->cfg.cluster.instance_id = (char *)owner;
    if (sf_state_open_kafka(&f->cfg, &st, errbuf, sizeof(errbuf)) != SF_OK)
        fail_msg("open as %s: %s", owner, errbuf);
    return st;
}

static const int32_t all_parts[P] = { 0, 1, 2, 3, 4, 5, 6, 7 };

static int load_all(struct sf_state *st)
{
    char errbuf[512] = "";
    int unclean = -1;

    if (sf_state_kafka_load(st, all_parts, P, 20000, &unclean, errbuf, sizeof(errbuf)) !=
        SF_OK)
        fail_msg("load: %s", errbuf);
    return unclean;
}

/* Records in the topic (all versions: the mock does not compact). */
static int64_t count_records(struct fx *f)
{
    int64_t total = 0;

    for (int32_t p = 0; p < P; p++) {
        int64_t lo = 0, hi = 0;
        assert_int_equal(rd_kafka_query_watermark_offsets(f->raw, TOPIC, p, &lo, &hi, 5000),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        total += hi - lo;
    }
    return total;
}

/* Wait (bounded, not a timing assertion) until the topic holds n records. */
static int64_t wait_records(struct fx *f, int64_t n)
{
    int64_t got = 0;

    for (int i = 0; i < 200 && (got = count_records(f)) < n; i++)
        usleep(50000);
    return got;
}

/* A record written by hand, as another (possibly broken) writer would. */
static void produce_raw(struct fx *f, int32_t part, const char *key, const char *val)
{
    assert_int_equal(rd_kafka_producev(f->raw, RD_KAFKA_V_TOPIC(TOPIC),
                                       RD_KAFKA_V_PARTITION(part),
                                       RD_KAFKA_V_KEY(key, strlen(key)),
                                       RD_KAFKA_V_VALUE((void *)val, val ? strlen(val) : 0),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_END), RD_KAFKA_RESP_ERR_NO_ERROR);
}

static int32_t part_of(int t)
{
    return sf_cluster_partition(tids[t], P);
}

/* Runs fn(f, st) with stderr captured into log. */
static void capture_begin(int *saved, int *fd)
{
    char tmpl[] = "/tmp/test_state_kafka.XXXXXX";

    fflush(stderr);
    *fd = mkstemp(tmpl);
    *saved = dup(STDERR_FILENO);
    assert_true(*fd >= 0 && *saved >= 0);
    unlink(tmpl);
    dup2(*fd, STDERR_FILENO);
}

static void capture_end(int saved, int fd, char *log, size_t len)
{
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(fd, log, len - 1, 0);
    log[n > 0 ? n : 0] = '\0';
    close(fd);
}

struct rows {
    int n;
    char names[16][64];
    int64_t wm[16];
};

static void on_row(void *opaque, const char *tenant, const char *output,
                   const struct sf_cursor *c)
{
    struct rows *r = opaque;

    if (r->n < 16) {
        snprintf(r->names[r->n], sizeof(r->names[0]), "%s/%s", tenant, output);
        r->wm[r->n] = c->watermark_ms;
    }
    r->n++;
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    struct sf_state *st = open_as(f, "node-a");
    struct sf_cursor c;
    struct sf_seen items[] = { { "a1", 1000, 0 }, { "a2", 2000, 0 }, { "a3", 2500, 1 } };
    struct sf_seen late = { "a4", 4000, 0 };

    assert_int_equal(load_all(st), 0);
    assert_int_equal(sf_state_cursor(st, "contoso", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, -1);
    assert_int_equal(sf_state_start(st, "contoso", "hec", 500), SF_OK);
    assert_int_equal(sf_state_mark(st, "contoso", "hec", items, 3), SF_OK);
    assert_int_equal(sf_state_advance(st, "contoso", "hec", 3000, 1500, 9000), SF_OK);
    assert_int_equal(sf_state_note(st, "fabrikam", "syslog", "HTTP 503 from api", 9100),
                     SF_OK);
    /* Coalesced (a write a second at most) yet written by close. */
    assert_int_equal(sf_state_mark(st, "contoso", "hec", &late, 1), SF_OK);
    sf_state_close(st);

    st = open_as(f, "node-b");
    assert_int_equal(load_all(st), 1); /* node-a closed without releasing */
    assert_int_equal(sf_state_cursor(st, "contoso", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 3000);
    assert_int_equal(c.last_success_ms, 9000);
    assert_int_equal(c.delivered, 3);
    assert_int_equal(c.quarantined, 1);
    assert_int_equal(sf_state_seen(st, "contoso", "hec", "a1", 1000), 0); /* pruned */
    assert_int_equal(sf_state_seen(st, "contoso", "hec", "a2", 2000), 1);
    assert_int_equal(sf_state_seen(st, "contoso", "hec", "a3", 2500), 1);
    assert_int_equal(sf_state_seen(st, "contoso", "hec", "a4", 4000), 1);
    assert_int_equal(sf_state_seen(st, "contoso", "hec", "a4", 4001), 0);
    assert_int_equal(sf_state_cursor(st, "fabrikam", "syslog", &c), SF_OK);
    assert_string_equal(c.last_error, "HTTP 503 from api");
    assert_int_equal(c.last_attempt_ms, 9100);
    assert_int_equal(c.watermark_ms, -1);

    char owner[64];
    int released = -1;
    int64_t epoch = -1;
    assert_int_equal(sf_state_kafka_owner(st, "contoso", "hec", owner, sizeof(owner),
                                          &released, &epoch), 0);
    assert_string_equal(owner, "node-a");
    assert_int_equal(released, 0);
    assert_int_equal(epoch, 0);

    struct rows r = { 0 };
    assert_int_equal(sf_state_each(st, on_row, &r), SF_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.names[0], "contoso/hec");
    assert_string_equal(r.names[1], "fabrikam/syslog");
    sf_state_close(st);
}

static void test_last_record_wins(void **state)
{
    struct fx *f = *state;
    int32_t p = part_of(1);
    char v[3][512];
    struct sf_cursor c;

    /* The middle version has the highest watermark: only the last counts. */
    const int64_t wm[3] = { 100, 300, 200 };
    for (int i = 0; i < 3; i++) {
        snprintf(v[i], sizeof(v[i]), "{\"v\":1,\"watermark_ms\":%lld,\"start_ms\":-1,"
                 "\"last_success_ms\":%d,\"last_attempt_ms\":%d,\"delivered\":%d,"
                 "\"quarantined\":0,\"last_error\":\"version %d\",\"seen\":[[\"x%d\",%d,0]],"
                 "\"owner\":\"node-%c\",\"epoch\":%d,\"released\":true}",
                 (long long)wm[i], i, i, i * 10, i, i, i, 'x' + i, i);
        produce_raw(f, p, "fabrikam/hec", v[i]);
    }
    /* A key deleted by a tombstone after a good record is simply absent. */
    produce_raw(f, part_of(2), "tailspin/hec", v[0]);
    produce_raw(f, part_of(2), "tailspin/hec", NULL);
    assert_int_equal(rd_kafka_flush(f->raw, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

    struct sf_state *st = open_as(f, "node-a");
    assert_int_equal(load_all(st), 0); /* every last record released */
    assert_int_equal(sf_state_cursor(st, "fabrikam", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 200);
    assert_int_equal(c.delivered, 20);
    assert_string_equal(c.last_error, "version 2");
    assert_int_equal(sf_state_seen(st, "fabrikam", "hec", "x2", 2), 1);
    assert_int_equal(sf_state_seen(st, "fabrikam", "hec", "x1", 1), 0);
    assert_int_equal(sf_state_cursor(st, "tailspin", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, -1);
    char owner[64];
    int released = 0;
    int64_t epoch = 0;
    assert_int_equal(sf_state_kafka_owner(st, "fabrikam", "hec", owner, sizeof(owner),
                                          &released, &epoch), 0);
    assert_string_equal(owner, "node-z");
    assert_int_equal(released, 1);
    assert_int_equal(epoch, 2);
    assert_int_equal(sf_state_kafka_owner(st, "tailspin", "hec", owner, sizeof(owner),
                                          &released, &epoch), -1);
    sf_state_close(st);
}

static void test_garbage_record_skipped(void **state)
{
    struct fx *f = *state;
    struct sf_cursor c;
    char log[8192];
    int saved, fd;
    const char *good = "{\"v\":1,\"watermark_ms\":777,\"start_ms\":-1,\"last_success_ms\":1,"
                       "\"last_attempt_ms\":1,\"delivered\":5,\"quarantined\":0,"
                       "\"last_error\":\"\",\"seen\":[],\"owner\":\"node-q\",\"epoch\":1,"
                       "\"released\":true}";

    produce_raw(f, part_of(0), "contoso/hec", good);
    produce_raw(f, part_of(0), "contoso/hec", "{\"v\":1,\"watermark_ms\":\"soon\"");
    produce_raw(f, part_of(3), "woodgrove/hec", good);
    produce_raw(f, part_of(3), "woodgrove/syslog", "[1,2,3]");
    produce_raw(f, part_of(1), "fabrikam/hec", good);
    assert_int_equal(rd_kafka_flush(f->raw, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);

    struct sf_state *st = open_as(f, "node-a");
    capture_begin(&saved, &fd);
    int unclean = load_all(st);
    capture_end(saved, fd, log, sizeof(log));
    assert_int_equal(unclean, 0);
    /* Skipped, not rolled back to the earlier version: start_from applies. */
    assert_int_equal(sf_state_cursor(st, "contoso", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, -1);
    assert_int_equal(sf_state_cursor(st, "woodgrove", "syslog", &c), SF_OK);
    assert_int_equal(c.watermark_ms, -1);
    assert_int_equal(sf_state_cursor(st, "woodgrove", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 777);
    assert_int_equal(sf_state_cursor(st, "fabrikam", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 777);
    if (!strstr(log, "contoso/hec") || !strstr(log, "woodgrove/syslog") ||
        !strstr(log, "does not parse"))
        fail_msg("garbage records not logged with their key: %s", log);
    assert_null(strstr(log, "woodgrove/hec "));
    /* The restarted cursor writes fresh records. */
    assert_int_equal(sf_state_start(st, "contoso", "hec", 4242), SF_OK);
    sf_state_close(st);
    st = open_as(f, "node-b");
    assert_int_equal(load_all(st), 1);
    assert_int_equal(sf_state_cursor(st, "contoso", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 4242);
    sf_state_close(st);
}

static void test_released_vs_unclean(void **state)
{
    struct fx *f = *state;
    struct sf_state *a = open_as(f, "node-a"), *b = open_as(f, "node-b");
    struct sf_cursor c;
    char owner[64];
    int released = 0;
    int64_t epoch = 0;

    sf_state_kafka_set_epoch(a, 7);
    assert_int_equal(load_all(a), 0);
    for (int t = 0; t < NT; t++)
        assert_int_equal(sf_state_advance(a, tnames[t], "hec", 1000 + t, 0, 5000), SF_OK);
    assert_int_equal(sf_state_kafka_release(a, all_parts, P, 10000), SF_OK);
    /* Revoked here: a late runner cannot write, nor read a stale cursor. */
    assert_int_equal(sf_state_advance(a, "contoso", "hec", 99999, 0, 6000), SF_ERR_STOPPED);
    assert_int_equal(sf_state_cursor(a, "contoso", "hec", &c), SF_ERR_STOPPED);
    assert_int_equal(sf_state_seen(a, "contoso", "hec", "x", 1), 0);

    assert_int_equal(load_all(b), 0); /* released: a clean takeover */
    assert_int_equal(sf_state_cursor(b, "woodgrove", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 1003);
    assert_int_equal(sf_state_kafka_owner(b, "woodgrove", "hec", owner, sizeof(owner),
                                          &released, &epoch), 0);
    assert_string_equal(owner, "node-a");
    assert_int_equal(released, 1);
    assert_int_equal(epoch, 7);

    /* b writes and dies without releasing: a's takeover is unclean. */
    assert_int_equal(sf_state_advance(b, "woodgrove", "hec", 2000, 0, 7000), SF_OK);
    assert_int_equal(wait_records(f, NT * 2 + 1), NT * 2 + 1);
    assert_int_equal(load_all(a), 1);
    assert_int_equal(sf_state_cursor(a, "woodgrove", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 2000);
    sf_state_close(b);
    sf_state_close(a);
}

static void test_lost_writes_nothing(void **state)
{
    struct fx *f = *state;
    struct sf_state *a = open_as(f, "node-a");
    struct sf_seen items[] = { { "z1", 10, 0 }, { "z2", 20, 0 } };
    struct sf_cursor c;

    assert_int_equal(load_all(a), 0);
    assert_int_equal(sf_state_advance(a, "contoso", "hec", 1000, 0, 5000), SF_OK);
    assert_int_equal(wait_records(f, 1), 1);

    /* Brokers down: the next records wait in the producer's queue. */
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(f->mc, b);
    assert_int_equal(sf_state_mark(a, "contoso", "hec", items, 2), SF_OK);
    assert_int_equal(sf_state_advance(a, "contoso", "hec", 2000, 0, 6000), SF_OK);
    assert_int_equal(sf_state_note(a, "fabrikam", "hec", "late", 6000), SF_OK);
    sf_state_kafka_lost(a, all_parts, P);
    assert_int_equal(sf_state_advance(a, "contoso", "hec", 3000, 0, 7000), SF_ERR_STOPPED);
    assert_int_equal(sf_state_mark(a, "contoso", "hec", items, 1), SF_ERR_STOPPED);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_up(f->mc, b);
    /* Nothing of the lost partitions reaches the topic, even given time. */
    usleep(1500000);
    assert_int_equal(count_records(f), 1);

    /* Assigned again: its own last record, so a clean load; the producer
     * still works after the purge. */
    assert_int_equal(load_all(a), 0);
    assert_int_equal(sf_state_cursor(a, "contoso", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 1000);
    assert_int_equal(sf_state_seen(a, "contoso", "hec", "z1", 10), 0);
    assert_int_equal(sf_state_advance(a, "contoso", "hec", 4000, 0, 8000), SF_OK);
    assert_int_equal(wait_records(f, 2), 2);
    sf_state_kafka_lost(a, all_parts, P);
    sf_state_close(a); /* flushes: nothing of the lost partitions is left */
    assert_int_equal(count_records(f), 2);

    struct sf_state *b = open_as(f, "node-b");
    assert_int_equal(load_all(b), 1);
    assert_int_equal(sf_state_cursor(b, "contoso", "hec", &c), SF_OK);
    assert_int_equal(c.watermark_ms, 4000);
    assert_int_equal(sf_state_cursor(b, "fabrikam", "hec", &c), SF_OK);
    assert_string_equal(c.last_error, "");
    sf_state_close(b);
}

/* A mark coalesced on a key that then goes quiet is still written within
 * about a second once another key is busy: no mark waits for the window's
 * advance. Holds whether or not the machine is slow enough to write the
 * second mark at once. */
static void test_coalesced_marks_written(void **state)
{
    struct fx *f = *state;
    struct sf_state *a = open_as(f, "node-a");
    struct sf_seen m1 = { "m1", 10, 0 }, m2 = { "m2", 20, 0 }, m3 = { "m3", 30, 0 };

    assert_int_equal(load_all(a), 0);
    assert_int_equal(sf_state_mark(a, "contoso", "hec", &m1, 1), SF_OK);
    assert_int_equal(sf_state_mark(a, "contoso", "hec", &m2, 1), SF_OK);
    usleep(1200000);
    assert_int_equal(sf_state_mark(a, "fabrikam", "hec", &m3, 1), SF_OK);
    assert_int_equal(wait_records(f, 3), 3);

    /* Read by another instance while a is still open (nothing from close). */
    struct sf_state *b = open_as(f, "node-b");
    assert_int_equal(load_all(b), 1);
    assert_int_equal(sf_state_seen(b, "contoso", "hec", "m1", 10), 1);
    assert_int_equal(sf_state_seen(b, "contoso", "hec", "m2", 20), 1);
    assert_int_equal(sf_state_seen(b, "fabrikam", "hec", "m3", 30), 1);
    sf_state_close(b);
    sf_state_close(a);
}

static void test_ten_thousand_cursors(void **state)
{
    struct fx *f = *state;
    char key[64], val[512];
    enum { N = 10000 };

    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "t%05d/hec", i);
        snprintf(val, sizeof(val), "{\"v\":1,\"watermark_ms\":%d,\"start_ms\":-1,"
                 "\"last_success_ms\":1,\"last_attempt_ms\":1,\"delivered\":%d,"
                 "\"quarantined\":0,\"last_error\":\"\",\"seen\":[[\"id-%d\",%d,0]],"
                 "\"owner\":\"node-%c\",\"epoch\":3,\"released\":%s}", i, i, i, i,
                 i == 4321 ? 'q' : 'p', i == 4321 ? "false" : "true");
        produce_raw(f, i % P, key, val);
        if (i % 1000 == 999)
            rd_kafka_poll(f->raw, 0);
    }
    assert_int_equal(rd_kafka_flush(f->raw, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);

    struct sf_state *st = open_as(f, "node-a");
    int64_t t0 = sf_mono_ms();
    assert_int_equal(load_all(st), 1); /* t04321 was not released */
    int64_t ms = sf_mono_ms() - t0;
    struct rows r = { 0 };
    assert_int_equal(sf_state_each(st, on_row, &r), SF_OK);
    assert_int_equal(r.n, N);
    assert_string_equal(r.names[0], "t00000/hec");
    assert_int_equal(r.wm[15], 15);
    print_message("loaded %d cursors (8 partitions, 3 brokers) in %lld ms\n", N,
                  (long long)ms);
    sf_state_close(st);

    /* The read-only view of `siemfwd state` sees all of them, with owners. */
    char errbuf[512] = "", owner[64];
    int released = 1;
    int64_t epoch = 0;
    f->cfg.cluster.partitions = 99; /* taken from the topic, not the config */
    t0 = sf_mono_ms();
    assert_int_equal(sf_state_open_kafka_readonly(&f->cfg, &st, errbuf, sizeof(errbuf)),
                     SF_OK);
    print_message("read-only view of %d cursors in %lld ms\n", N,
                  (long long)(sf_mono_ms() - t0));
    memset(&r, 0, sizeof(r));
    assert_int_equal(sf_state_each(st, on_row, &r), SF_OK);
    assert_int_equal(r.n, N);
    assert_int_equal(sf_state_kafka_owner(st, "t04321", "hec", owner, sizeof(owner),
                                          &released, &epoch), 0);
    assert_string_equal(owner, "node-q");
    assert_int_equal(released, 0);
    assert_int_equal(epoch, 3);
    assert_int_equal(sf_state_seen(st, "t09999", "hec", "id-9999", 9999), 1);
    assert_int_equal(sf_state_advance(st, "t00001", "hec", 5, 0, 5), SF_ERR_INVALID);
    sf_state_close(st);
}

static void test_unreachable_brokers(void **state)
{
    struct fx *f = *state;
    struct sf_state *st = NULL;
    char errbuf[512] = "";

    f->cfg.cluster.brokers = "127.0.0.1:1,127.0.0.1:2";
    int64_t t0 = sf_mono_ms();
    assert_int_equal(sf_state_open_kafka(&f->cfg, &st, errbuf, sizeof(errbuf)),
                     SF_ERR_NETWORK);
    print_message("unreachable brokers reported after %lld ms: %s\n",
                  (long long)(sf_mono_ms() - t0), errbuf);
    assert_null(st);
    assert_non_null(strstr(errbuf, "127.0.0.1:1,127.0.0.1:2"));
    assert_int_equal(sf_state_open_kafka_readonly(&f->cfg, &st, errbuf, sizeof(errbuf)),
                     SF_ERR_NETWORK);
    assert_null(st);
}

static void test_properties(void **state)
{
    struct fx *f = *state;
    struct sf_state *st = NULL;
    char errbuf[512] = "", log[8192];
    int saved, fd;
    char *keys[] = { "session.timeout.ms", "linger.ms", "client.id" };
    char *vals[] = { "6000", "5", "siemfwd-test" };

    /* Consumer-only and producer-only keys go to the handle that knows them. */
    f->cfg.cluster.prop_keys = keys;
    f->cfg.cluster.prop_vals = vals;
    f->cfg.cluster.n_props = 3;
    capture_begin(&saved, &fd);
    sf_err err = sf_state_open_kafka(&f->cfg, &st, errbuf, sizeof(errbuf));
    sf_state_close(st);
    capture_end(saved, fd, log, sizeof(log));
    assert_int_equal(err, SF_OK);
    if (strstr(log, "will be ignored"))
        fail_msg("a property reached a handle that ignores it: %s", log);

    char *bad[] = { "no.such.property" }, *one[] = { "1" };
    f->cfg.cluster.prop_keys = bad;
    f->cfg.cluster.prop_vals = one;
    f->cfg.cluster.n_props = 1;
    st = NULL;
    assert_int_equal(sf_state_open_kafka(&f->cfg, &st, errbuf, sizeof(errbuf)),
                     SF_ERR_CONFIG);
    assert_null(st);
    assert_non_null(strstr(errbuf, "no.such.property"));

    char *lk[] = { "linger.ms" }, *lv[] = { "not-a-number" };
    f->cfg.cluster.prop_keys = lk;
    f->cfg.cluster.prop_vals = lv;
    assert_int_equal(sf_state_open_kafka(&f->cfg, &st, errbuf, sizeof(errbuf)),
                     SF_ERR_CONFIG);
    assert_non_null(strstr(errbuf, "linger.ms"));
    f->cfg.cluster.n_props = 0;
}

static void test_unassigned_and_unknown(void **state)
{
    struct fx *f = *state;
    struct sf_state *st = open_as(f, "node-a");
    struct sf_seen s = { "q", 1, 0 };
    struct sf_cursor c;
    int unclean = -1;
    int32_t mine = part_of(0);
    char errbuf[256];

    assert_int_equal(sf_state_kafka_load(st, &mine, 1, 10000, &unclean, errbuf,
                                         sizeof(errbuf)), SF_OK);
    assert_int_equal(sf_state_mark(st, "contoso", "hec", &s, 1), SF_OK);
    for (int t = 1; t < NT; t++) {
        if (part_of(t) == mine)
            continue;
        assert_int_equal(sf_state_mark(st, tnames[t], "hec", &s, 1), SF_ERR_STOPPED);
        assert_int_equal(sf_state_cursor(st, tnames[t], "hec", &c), SF_ERR_STOPPED);
    }
    assert_int_equal(sf_state_note(st, "nobody", "hec", "", 1), SF_ERR_NOTFOUND);
    int32_t bad = P;
    assert_int_equal(sf_state_kafka_load(st, &bad, 1, 1000, &unclean, errbuf,
                                         sizeof(errbuf)), SF_ERR_RANGE);
    sf_state_close(st);
}

/* Fetch workers, output runners and the cluster thread at once (for TSan). */
struct worker {
    struct sf_state *st;
    int t;
    int errors;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char id[32];

    for (int i = 0; i < 300; i++) {
        struct sf_cursor c;
        snprintf(id, sizeof(id), "w%d-%d", w->t, i);
        struct sf_seen s = { id, i, 0 };
        sf_err e1 = sf_state_mark(w->st, tnames[w->t], "hec", &s, 1);
        sf_err e2 = sf_state_cursor(w->st, tnames[w->t], "hec", &c);
        (void)sf_state_seen(w->st, tnames[w->t], "hec", id, i);
        if (i % 50 == 49)
            (void)sf_state_advance(w->st, tnames[w->t], "hec", i, i - 60, i);
        w->errors += (e1 != SF_OK && e1 != SF_ERR_STOPPED) +
                     (e2 != SF_OK && e2 != SF_ERR_STOPPED);
    }
    return NULL;
}

static void *each_loop(void *arg)
{
    struct rows r;

    for (int i = 0; i < 50; i++) {
        memset(&r, 0, sizeof(r));
        sf_state_each(arg, on_row, &r);
    }
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    struct fx *f = *state;
    struct sf_state *st = open_as(f, "node-a");
    struct worker w[NT];
    pthread_t th[NT + 1];
    int32_t p0 = part_of(0);
    int unclean;
    char errbuf[256];

    assert_int_equal(load_all(st), 0);
    for (int t = 0; t < NT; t++) {
        w[t] = (struct worker){ st, t, 0 };
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    assert_int_equal(pthread_create(&th[NT], NULL, each_loop, st), 0);
    for (int i = 0; i < 3; i++) { /* the cluster thread: revoke and regain */
        sf_state_kafka_set_epoch(st, i + 1);
        assert_int_equal(sf_state_kafka_release(st, &p0, 1, 10000), SF_OK);
        assert_int_equal(sf_state_kafka_load(st, &p0, 1, 10000, &unclean, errbuf,
                                             sizeof(errbuf)), SF_OK);
    }
    for (int t = 0; t <= NT; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < NT; t++)
        assert_int_equal(w[t].errors, 0);
    sf_state_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_record_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_record_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_released_vs_unclean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coalesced_marks_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ten_thousand_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_brokers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_properties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unassigned_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_callers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
