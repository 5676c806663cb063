/* test_delivery.c - the delivery core in process (pipeline.c, cycle.c,
 * outrun.c, outround.c, ledger.c, state.c): a fake source behind the
 * pipeline's fetch hook serves sequence-numbered Graph alerts, and capture
 * outputs (scriptable: healthy, slow, flaky, dead, late and bogus acks) count
 * every record per (tenant, sequence), rsyslog chkseq style: loss and
 * duplicates per output. Also run under ThreadSanitizer (tests/run.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_config.h"
#include "sf_pipeline.h"
#include "source.h"

#define NT 3            /* tenants */
#define MAXSEQ 2000

/* ------------------------------------------------------------------ */
/* the fake source */

static struct {
    pthread_mutex_t mu;
    int n[NT];                  /* alerts available per tenant */
    int64_t base_ms;            /* alert k was last updated at base + k s */
    int page;                   /* alerts per page */
    int throttle[NT];           /* answer 429 this many times first */
    int refuse[NT];             /* answer "consent revoked" while set */
    int calls[NT];              /* pages served (API calls) */
    size_t title_len;           /* padding per alert */
} src = { .mu = PTHREAD_MUTEX_INITIALIZER };

static json_object *make_alert(int ti, int k)
{
    char id[64], when[40];
    json_object *a = json_object_new_object();
    snprintf(id, sizeof(id), "SEQ-%d-%d-END", ti, k);
    sf_fetch_format_time(src.base_ms + (int64_t)k * 1000, when, sizeof(when));
    json_object_object_add(a, "id", json_object_new_string(id));
    json_object_object_add(a, "lastUpdateDateTime", json_object_new_string(when));
    json_object_object_add(a, "severity", json_object_new_string("high"));
    char *title = malloc(src.title_len + 1);
    memset(title, 'x', src.title_len);
    title[src.title_len] = '\0';
    json_object_object_add(a, "title", json_object_new_string(title));
    free(title);
    return a;
}

static sf_err fake_window(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                          int64_t from_ms, int64_t until_ms, sf_page_fn on_page,
                          void *opaque, struct sf_fetch_status *st)
{
    (void)c;
    int ti = t->name[1] - '0';
    pthread_mutex_lock(&src.mu);
    int n = src.n[ti];
    if (src.refuse[ti]) {
        src.calls[ti]++;
        pthread_mutex_unlock(&src.mu);
        snprintf(st->msg, sizeof(st->msg), "tenant %s: AADSTS700016 (test)", t->name);
        st->auth_failed = 1;
        return SF_ERR_AUTH;
    }
    if (src.throttle[ti] > 0) {
        src.throttle[ti]--;
        src.calls[ti]++;
        pthread_mutex_unlock(&src.mu);
        st->retry_after_ms = 300;
        snprintf(st->msg, sizeof(st->msg), "tenant %s: HTTP 429", t->name);
        return SF_ERR_THROTTLED;
    }
    pthread_mutex_unlock(&src.mu);
    int k = 0;
    while (k < n && src.base_ms + (int64_t)k * 1000 < from_ms)
        k++;
    sf_err err = SF_OK;
    do { /* at least one call, even for an empty window */
        json_object *arr = json_object_new_array();
        for (int j = 0; j < src.page && k < n && src.base_ms + (int64_t)k * 1000 < until_ms;
             j++, k++)
            json_object_array_add(arr, make_alert(ti, k));
        pthread_mutex_lock(&src.mu);
        src.calls[ti]++;
        pthread_mutex_unlock(&src.mu);
        if (json_object_array_length(arr))
            err = on_page(opaque, arr);
        json_object_put(arr);
    } while (!err && k < n && src.base_ms + (int64_t)k * 1000 < until_ms);
    return err;
}

/* ------------------------------------------------------------------ */
/* the capture output */

enum { CAP_OK, CAP_DEAD, CAP_FLAKY, CAP_BLOCK, CAP_BOGUS };

struct cap {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int mode;
    int blocked;                /* CAP_BLOCK: flush waits while set */
    int sends;
    int log_fd;                 /* >= 0: append "ti seq\n" per record before acking */
    int count[NT][MAXSEQ];
    uint64_t late[64];          /* CAP_BOGUS: acks held until flush */
    size_t nlate;
    char events[32][160];       /* titles of SF_MSG_EVENT records */
    size_t nevents;
};

static struct cap caps[3];

static void cap_reset(struct cap *c, int mode)
{
    pthread_mutex_lock(&c->mu);
    memset(c->count, 0, sizeof(c->count));
    c->mode = mode;
    c->blocked = mode == CAP_BLOCK;
    c->sends = 0;
    c->nlate = 0;
    c->nevents = 0;
    c->log_fd = -1;
    pthread_mutex_unlock(&c->mu);
}

static sf_err cap_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct cap *c = o->ctx;
    pthread_mutex_lock(&c->mu);
    int dead = c->mode == CAP_DEAD;
    pthread_mutex_unlock(&c->mu);
    if (dead) {
        snprintf(errbuf, errlen, "connection refused (test)");
        return SF_ERR_NETWORK;
    }
    return SF_OK;
}

static int parse_seq(const char *data, int *ti, int *k)
{
    const char *p = strstr(data, "SEQ-");
    return p && sscanf(p, "SEQ-%d-%d-END", ti, k) == 2 && *ti >= 0 && *ti < NT && *k >= 0 &&
           *k < MAXSEQ ? 0 : -1;
}

static sf_err cap_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct cap *c = o->ctx;
    pthread_mutex_lock(&c->mu);
    int fail = c->mode == CAP_FLAKY && c->sends++ % 2 == 0;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++) {
        int ti, k;
        if (msgs[i].kind == SF_MSG_EVENT) {
            json_object *ev = json_tokener_parse(msgs[i].data), *title;
            assert_non_null(ev);
            assert_true(json_object_object_get_ex(ev, "title", &title));
            pthread_mutex_lock(&c->mu);
            if (c->nevents < 32)
                snprintf(c->events[c->nevents++], 160, "%s", json_object_get_string(title));
            pthread_mutex_unlock(&c->mu);
            json_object_put(ev);
            o->verdict(o->verdict_opaque, msgs[i].id, SF_V_DELIVERED, NULL);
            continue;
        }
        if (fail) {
            o->verdict(o->verdict_opaque, msgs[i].id, SF_V_RETRY, "HTTP 503 (test)");
            continue;
        }
        assert_int_equal(parse_seq(msgs[i].data, &ti, &k), 0);
        pthread_mutex_lock(&c->mu);
        c->count[ti][k]++;
        if (c->log_fd >= 0) {
            char line[32];
            int len = snprintf(line, sizeof(line), "%d %d\n", ti, k);
            assert_int_equal(write(c->log_fd, line, (size_t)len), len);
        }
        int bogus = c->mode == CAP_BOGUS;
        if (bogus && c->nlate < 64)
            c->late[c->nlate++] = msgs[i].id;
        pthread_mutex_unlock(&c->mu);
        if (bogus) {
            /* acks for ids never sent must move nothing */
            o->verdict(o->verdict_opaque, msgs[i].id + 100000, SF_V_DELIVERED, NULL);
            if (c->nlate < 64)
                continue; /* acked late, in flush */
        }
        o->verdict(o->verdict_opaque, msgs[i].id, SF_V_DELIVERED, NULL);
        if (bogus) /* and twice */
            o->verdict(o->verdict_opaque, msgs[i].id, SF_V_RETRY, "late retry (test)");
    }
    return SF_OK;
}

static void cap_poll(struct sf_output *o, int timeout_ms) { (void)o; (void)timeout_ms; }

static size_t cap_flush(struct sf_output *o, int timeout_ms)
{
    struct cap *c = o->ctx;
    (void)timeout_ms;
    pthread_mutex_lock(&c->mu);
    while (c->blocked)
        pthread_cond_wait(&c->cv, &c->mu);
    size_t nlate = c->nlate;
    uint64_t late[64];
    memcpy(late, c->late, sizeof(late));
    c->nlate = 0;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < nlate; i++)
        o->verdict(o->verdict_opaque, late[i], SF_V_DELIVERED, NULL);
    return 0;
}

static void cap_destroy(struct sf_output *o) { o->ctx = NULL; }

static const struct sf_output_type cap_type = {
    "capture", NULL, cap_start, cap_send, cap_poll, cap_flush, cap_destroy, NULL,
};

static void cap_release(struct cap *c)
{
    pthread_mutex_lock(&c->mu);
    c->blocked = 0;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static int cap_total(struct cap *c, int *lost, int *dups)
{
    int got = 0, n[NT];
    *lost = *dups = 0;
    pthread_mutex_lock(&src.mu);
    memcpy(n, src.n, sizeof(n));
    pthread_mutex_unlock(&src.mu);
    pthread_mutex_lock(&c->mu);
    for (int ti = 0; ti < NT; ti++) {
        for (int k = 0; k < n[ti]; k++) {
            got += c->count[ti][k] > 0;
            *lost += c->count[ti][k] == 0;
            *dups += c->count[ti][k] > 1 ? c->count[ti][k] - 1 : 0;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return got;
}

/* ------------------------------------------------------------------ */
/* a pipeline over the fake source and two capture outputs */

static char tmpdir[256];

static struct sf_config *load(const char *extra_out)
{
    char text[4096];
    struct sf_buf errs;
    struct sf_config *cfg = NULL;
    snprintf(text, sizeof(text),
             "state_dir: %s/state\n"
             "poll_interval: 1s\n"
             "shutdown_timeout: 3s\n"
             "log_level: error\n"
             "tenant_defaults:\n"
             "  client_id: 11111111-1111-1111-1111-111111111111\n"
             "  client_secret: test\n"
             "  start_from: 24h\n"
             "  overlap: 5m\n"
             "  settle: 1s\n"
             "tenants:\n"
             "  - {name: t0, tenant_id: 00000000-0000-0000-0000-000000000001}\n"
             "  - {name: t1, tenant_id: 00000000-0000-0000-0000-000000000002}\n"
             "  - {name: t2, tenant_id: 00000000-0000-0000-0000-000000000003}\n"
             "outputs:\n"
             "  - {name: fast, type: file, format: json, path: %s/a}\n"
             "  - {name: other, type: file, format: json, path: %s/b%s}\n",
             tmpdir, tmpdir, tmpdir, extra_out ? extra_out : "");
    sf_buf_init(&errs, 0);
    sf_err err = sf_config_load_string("test.yaml", text, strlen(text), &cfg, &errs);
    if (err)
        fprintf(stderr, "%s", errs.data ? errs.data : "config error\n");
    sf_buf_free(&errs);
    assert_int_equal(err, SF_OK);
    return cfg;
}

static struct sf_pipeline *make(struct sf_config *cfg, int once)
{
    char errbuf[512] = "";
    struct sf_pipeline *p = NULL;
    assert_int_equal(sf_pipeline_new(cfg, once, &p, errbuf, sizeof(errbuf)), SF_OK);
    for (size_t i = 0; i < p->nouts; i++) {
        p->outs[i].out.type->destroy(&p->outs[i].out);
        p->outs[i].out.type = &cap_type;
        p->outs[i].out.ctx = &caps[i];
    }
    p->fetch_window = fake_window;
    return p;
}

static sf_err run_once(const char *extra_out)
{
    struct sf_config *cfg = load(extra_out);
    struct sf_pipeline *p = make(cfg, 1);
    sf_err err = sf_pipeline_run(p);
    sf_pipeline_free(p);
    sf_config_free(cfg);
    return err;
}

static void set_source_at(int n, int page, size_t title_len, int64_t age_ms)
{
    pthread_mutex_lock(&src.mu);
    src.base_ms = sf_now_ms() - age_ms;
    for (int ti = 0; ti < NT; ti++) {
        src.n[ti] = n;
        src.calls[ti] = 0;
        src.throttle[ti] = 0;
        src.refuse[ti] = 0;
    }
    src.page = page;
    src.title_len = title_len;
    pthread_mutex_unlock(&src.mu);
}

static void set_source(int n, int page, size_t title_len)
{
    set_source_at(n, page, title_len, 3600 * 1000);
}

static int setup(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sf_delivery_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(cmd, sizeof(cmd), "rm -rf %s/state", tmpdir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 3; i++) {
        pthread_mutex_init(&caps[i].mu, NULL);
        pthread_cond_init(&caps[i].cv, NULL);
        cap_reset(&caps[i], CAP_OK);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd);
}

static void expect_exactly_once(struct cap *c, const char *what)
{
    int lost, dups;
    cap_total(c, &lost, &dups);
    if (lost || dups)
        fprintf(stderr, "%s: %d lost, %d duplicates\n", what, lost, dups);
    assert_int_equal(lost, 0);
    assert_int_equal(dups, 0);
}

/* ------------------------------------------------------------------ */

/* --once over healthy outputs: every alert once, one API call per page. */
static void test_once_healthy(void **state)
{
    (void)state;
    set_source(50, 7, 10);
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_OK);
    assert_int_equal(run_once(NULL), SF_OK);
    expect_exactly_once(&caps[0], "fast");
    expect_exactly_once(&caps[1], "other");
    for (int ti = 0; ti < NT; ti++)
        assert_int_equal(src.calls[ti], 8); /* ceil(50 / 7): one query, paged */
    /* a second pass finds nothing new and is still a success */
    assert_int_equal(run_once(NULL), SF_OK);
    expect_exactly_once(&caps[0], "fast, second pass");
}

/* A flaky output (every other send: 503) retries from memory: no second
 * read of the API, nothing lost, nothing twice, --once exits 0. */
static void test_flaky_retries_from_memory(void **state)
{
    (void)state;
    set_source(40, 10, 10);
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_FLAKY);
    assert_int_equal(run_once(NULL), SF_OK);
    expect_exactly_once(&caps[0], "fast");
    expect_exactly_once(&caps[1], "flaky");
    for (int ti = 0; ti < NT; ti++)
        assert_int_equal(src.calls[ti], 4);
}

/* A dead output: --once delivers to the healthy one, exits non-zero, holds
 * the dead one's cursor; the next run delivers the rest once. */
static void test_dead_output_once(void **state)
{
    (void)state;
    set_source(30, 10, 10);
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_DEAD);
    assert_int_equal(run_once(NULL), SF_ERR_INTERNAL);
    expect_exactly_once(&caps[0], "fast");
    int lost, dups;
    assert_int_equal(cap_total(&caps[1], &lost, &dups), 0);

    caps[1].mode = CAP_OK;
    assert_int_equal(run_once(NULL), SF_OK);
    expect_exactly_once(&caps[0], "fast after recovery");
    expect_exactly_once(&caps[1], "recovered");
}

/* Throttled once (Retry-After 300 ms): --once waits it out and completes. */
static void test_once_waits_out_throttling(void **state)
{
    (void)state;
    set_source(20, 10, 10);
    src.throttle[1] = 1;
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_OK);
    assert_int_equal(run_once(NULL), SF_OK);
    expect_exactly_once(&caps[0], "fast");
    expect_exactly_once(&caps[1], "other");
}

/* Acks for ids never sent, late acks and a RETRY after DELIVERED: nothing
 * moves wrongly, everything once. */
static void test_bogus_acks(void **state)
{
    (void)state;
    set_source(100, 25, 10);
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_BOGUS);
    assert_int_equal(run_once(NULL), SF_OK);
    expect_exactly_once(&caps[0], "fast");
    expect_exactly_once(&caps[1], "bogus");
}

static int wait_for(struct cap *c, int want, int seconds)
{
    int lost, dups, got = 0;
    for (int i = 0; i < seconds * 20; i++) {
        got = cap_total(c, &lost, &dups);
        if (got >= want)
            break;
        usleep(50000);
    }
    return got;
}

struct bg {
    struct sf_pipeline *p;
    sf_err err;
    pthread_t th;
};

static void *bg_main(void *arg)
{
    struct bg *b = arg;
    b->err = sf_pipeline_run(b->p);
    return NULL;
}

/* An output stuck in a round (a slow SIEM) holds neither fetch nor the
 * other output: new alerts reach the fast one while the slow one is stuck. */
static void test_slow_output_does_not_hold_fast(void **state)
{
    (void)state;
    /* alert k updated at now - 60 s + k s: the 20 added later fall inside
     * the overlap behind the cursor, as late-arriving alerts do */
    set_source_at(20, 10, 10, 60 * 1000);
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_BLOCK);
    struct sf_config *cfg = load(NULL);
    struct bg b = { make(cfg, 0), SF_OK, 0 };
    assert_int_equal(pthread_create(&b.th, NULL, bg_main, &b), 0);
    assert_int_equal(wait_for(&caps[0], 3 * 20, 30), 3 * 20);
    pthread_mutex_lock(&src.mu);
    for (int ti = 0; ti < NT; ti++)
        src.n[ti] = 40; /* 20 more each */
    pthread_mutex_unlock(&src.mu);
    assert_int_equal(wait_for(&caps[0], 3 * 40, 30), 3 * 40);
    pthread_mutex_lock(&caps[1].mu);
    assert_int_equal(caps[1].blocked, 1); /* the slow one is still stuck */
    pthread_mutex_unlock(&caps[1].mu);
    cap_release(&caps[1]);
    assert_int_equal(wait_for(&caps[1], 3 * 40, 30), 3 * 40);
    sf_pipeline_stop(b.p);
    pthread_join(b.th, NULL);
    assert_int_equal(b.err, SF_OK);
    sf_pipeline_free(b.p);
    sf_config_free(cfg);
    expect_exactly_once(&caps[0], "fast");
    expect_exactly_once(&caps[1], "slow");
}

/* A dead output with a small budget: fetch stops feeding it once the budget
 * is full (memory bounded), the healthy output gets everything. */
static void test_budget_bounds_memory(void **state)
{
    (void)state;
    set_source(300, 50, 1000);
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_DEAD);
    struct sf_config *cfg = load(", queue_max_bytes: 64KiB");
    struct sf_pipeline *p = make(cfg, 1);
    assert_int_equal(sf_pipeline_run(p), SF_ERR_INTERNAL);
    /* at most the budget plus one page of 50 records */
    assert_true(p->outs[1].stats.queued_bytes <= 64 * 1024 + NT * 50 * 1500);
    assert_true(p->outs[1].stats.queued_bytes > 0);
    sf_pipeline_free(p);
    sf_config_free(cfg);
    expect_exactly_once(&caps[0], "fast");

    caps[1].mode = CAP_OK;
    assert_int_equal(run_once(", queue_max_bytes: 64KiB"), SF_OK);
    expect_exactly_once(&caps[1], "recovered after budget");
}

/* kill -9 in the middle of rounds, then a restart: nothing lost, and
 * nothing whose mark was stored is sent again. */
static void test_kill9_mid_round(void **state)
{
    (void)state;
    char path[300];
    set_source(200, 10, 10);
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_OK);
    snprintf(path, sizeof(path), "%s/child.log", tmpdir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        caps[1].log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        struct sf_config *cfg = load(NULL);
        struct sf_pipeline *p = make(cfg, 0);
        sf_pipeline_run(p);
        _exit(0);
    }
    /* wait until the child delivered part of the backlog, then kill it */
    for (int i = 0; i < 600; i++) {
        FILE *f = fopen(path, "r");
        int lines = 0, ch;
        while (f && (ch = fgetc(f)) != EOF)
            lines += ch == '\n';
        if (f)
            fclose(f);
        if (lines >= 150)
            break;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* what the child delivered, and which of it has a stored mark */
    static int child[NT][MAXSEQ];
    memset(child, 0, sizeof(child));
    FILE *f = fopen(path, "r");
    int ti, k;
    while (f && fscanf(f, "%d %d", &ti, &k) == 2)
        child[ti][k]++;
    if (f)
        fclose(f);
    char sdir[300], errbuf[256];
    struct sf_state *st;
    snprintf(sdir, sizeof(sdir), "%s/state", tmpdir);
    assert_int_equal(sf_state_open(sdir, 0, &st, errbuf, sizeof(errbuf)), SF_OK);
    static int marked[NT][MAXSEQ];
    for (ti = 0; ti < NT; ti++) {
        char tn[4] = { 't', (char)('0' + ti), 0 };
        for (k = 0; k < 200; k++) {
            char id[64];
            snprintf(id, sizeof(id), "SEQ-%d-%d-END", ti, k);
            marked[ti][k] = sf_state_seen(st, tn, "other", id, src.base_ms + k * 1000);
        }
    }
    sf_state_close(st);

    cap_reset(&caps[1], CAP_OK);
    assert_int_equal(run_once(NULL), SF_OK);
    int resent = 0, child_total = 0;
    for (ti = 0; ti < NT; ti++) {
        for (k = 0; k < 200; k++) {
            child_total += child[ti][k];
            assert_true(child[ti][k] + caps[1].count[ti][k] >= 1);  /* nothing lost */
            if (marked[ti][k])
                assert_int_equal(caps[1].count[ti][k], 0);          /* marked: not again */
            assert_true(caps[1].count[ti][k] <= 1);
            resent += child[ti][k] && caps[1].count[ti][k];
        }
    }
    fprintf(stderr, "kill -9: child delivered %d, %d of them sent again after restart\n",
            child_total, resent);
    assert_true(child_total >= 150);
}

static int count_events(struct cap *c, const char *needle)
{
    int n = 0;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nevents; i++)
        n += strstr(c->events[i], needle) != NULL;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static int wait_event(struct cap *c, const char *needle, int seconds)
{
    for (int i = 0; i < seconds * 20 && !count_events(c, needle); i++)
        usleep(50000);
    return count_events(c, needle);
}

/* Operational events: a tenant refused, then restored; an output dead, then
 * back: each raised once and cleared once at the subscribed output. */
static void test_events_raised_and_cleared(void **state)
{
    (void)state;
    set_source_at(10, 10, 10, 60 * 1000);
    src.refuse[2] = 1;
    cap_reset(&caps[0], CAP_OK);
    cap_reset(&caps[1], CAP_DEAD);
    cap_reset(&caps[2], CAP_OK);
    struct sf_config *cfg = load("}\n  - {name: ops, type: webhook, url: https://127.0.0.1:9/x, "
                                 "rules: [{tenants: [nobody]}], events: {consent: true, "
                                 "output_failing: 1s}");
    struct bg b = { make(cfg, 0), SF_OK, 0 };
    assert_int_equal(pthread_create(&b.th, NULL, bg_main, &b), 0);
    assert_int_equal(wait_event(&caps[2], "Consent revoked or missing for tenant t2", 30), 1);
    assert_int_equal(wait_event(&caps[2], "Output other failing", 30), 1);
    pthread_mutex_lock(&src.mu);
    src.refuse[2] = 0;
    pthread_mutex_unlock(&src.mu);
    pthread_mutex_lock(&caps[1].mu);
    caps[1].mode = CAP_OK;
    pthread_mutex_unlock(&caps[1].mu);
    assert_int_equal(wait_event(&caps[2], "Access restored for tenant t2", 40), 1);
    assert_int_equal(wait_event(&caps[2], "Output other delivering again", 60), 1);
    sf_pipeline_stop(b.p);
    pthread_join(b.th, NULL);
    sf_pipeline_free(b.p);
    sf_config_free(cfg);
    /* once each, and nothing for the healthy tenants or output */
    assert_int_equal(count_events(&caps[2], "Consent revoked"), 1);
    assert_int_equal(count_events(&caps[2], "Output other failing"), 1);
    assert_int_equal(count_events(&caps[2], "t0"), 0);
    assert_int_equal(count_events(&caps[2], "Output fast"), 0);
    int lost, dups;
    cap_total(&caps[2], &lost, &dups);
    assert_int_equal(lost + dups, 3 * 10); /* ops: no alert records (rules) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_once_healthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flaky_retries_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_output_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_once_waits_out_throttling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bogus_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_output_does_not_hold_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_bounds_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_mid_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_raised_and_cleared, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
