/* test_fetch_abort.c - the fetch stage's abort flag (sf_fetch_opts.abort_flag)
 * against a hostile local peer that accepts TCP connections and never says a
 * word: a token request or API call hung in libcurl ends soon after the flag
 * is set, not after http.timeout x 3 tries (issue 10 B2). The peer is a thread
 * of this process; its sockets are closed in teardown. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_fetch.h"

#define T0 INT64_C(1709251200000)   /* 2024-03-01T00:00:00Z */
#define MAX_CONNS 16

/* The silent peer: accepts and holds every connection, reads nothing. */
static struct {
    int lfd, port;
    int conns[MAX_CONNS];
    _Atomic int nconns, quit;
    pthread_t th;
} P = { .lfd = -1 };

static void *silent_peer(void *arg)
{
    (void)arg;
    while (!atomic_load(&P.quit)) {
        struct pollfd p = { .fd = P.lfd, .events = POLLIN };
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(P.lfd, NULL, NULL);
        int n = atomic_load(&P.nconns);
        if (fd >= 0 && n < MAX_CONNS) {
            P.conns[n] = fd;
            atomic_store(&P.nconns, n + 1);
        } else if (fd >= 0) {
            close(fd);
        }
    }
    return NULL;
}

static int peer_setup(void **state)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    (void)state;

    P.lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (P.lfd < 0 || bind(P.lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(P.lfd, 16) != 0 || getsockname(P.lfd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    P.port = ntohs(a.sin_port);
    return pthread_create(&P.th, NULL, silent_peer, NULL) == 0 ? 0 : -1;
}

static int peer_teardown(void **state)
{
    (void)state;
    atomic_store(&P.quit, 1);
    pthread_join(P.th, NULL);
    for (int i = 0; i < atomic_load(&P.nconns); i++)
        close(P.conns[i]);
    close(P.lfd);
    return 0;
}

/* ------------------------------------------------------------ helpers */

struct setter {
    _Atomic int *flag;
    int after_ms;
};

static void *set_later(void *arg)
{
    struct setter *s = arg;
    struct timespec ts = { s->after_ms / 1000, (long)(s->after_ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
    atomic_store(s->flag, 1);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static sf_err no_pages(void *opaque, json_object *alerts)
{
    (void)opaque, (void)alerts;
    fail_msg("the silent peer delivered a page");
    return SF_ERR_INTERNAL;
}

struct client {
    _Atomic int stop;
    struct sf_fetch_opts opts;
    struct sf_token_cache *tc;
    struct sf_api_client *c;
    char base[64];
    struct sf_fetch_tenant t;
};

static void client_new(struct client *k)
{
    atomic_init(&k->stop, 0);
    /* http.timeout far above what the test allows: only the flag ends it. */
    k->opts = (struct sf_fetch_opts){ .organization = "Test", .timeout_ms = 60000,
                                      .max_response = 1 << 20, .abort_flag = &k->stop };
    snprintf(k->base, sizeof(k->base), "https://127.0.0.1:%d", P.port);
    k->t = (struct sf_fetch_tenant){ .name = "hung", .tenant_id = "tid", .client_id = "cid",
                                     .client_secret = "s3cret", .source = "graph",
                                     .authority = k->base, .api_base = k->base };
    assert_int_equal(sf_token_cache_new(&k->tc), SF_OK);
    assert_int_equal(sf_api_client_new(&k->opts, k->tc, &k->c), SF_OK);
}

static void client_free(struct client *k)
{
    sf_api_client_free(k->c);
    sf_token_cache_free(k->tc);
}

/* ------------------------------------------------------------ tests */

/* Regression (issue 10 B2): SIGTERM waited 88 s on a peer that accepts and
 * never answers. The token request (the first call of a window) hangs in
 * the TLS handshake; the flag set 200 ms later ends it within ~1 s. */
static void test_hung_token_request_aborts(void **state)
{
    struct client k;
    struct setter s = { .after_ms = 200 };
    struct sf_fetch_status st;
    pthread_t th;
    double t0, secs;
    sf_err err;
    (void)state;

    client_new(&k);
    s.flag = &k.stop;
    t0 = now_s();
    assert_int_equal(pthread_create(&th, NULL, set_later, &s), 0);
    err = sf_fetch_window(k.c, &k.t, T0, T0 + 60000, no_pages, NULL, &st);
    secs = now_s() - t0;
    pthread_join(th, NULL);
    assert_int_equal(err, SF_ERR_STOPPED);
    assert_true(secs >= 0.2);
    assert_true(secs < 5.0);   /* http.timeout is 60 s; one try would take that */
    assert_non_null(strstr(st.msg, "tenant hung: "));
    assert_non_null(strstr(st.msg, "stopped"));
    assert_true(atomic_load(&P.nconns) >= 1);   /* it really was in flight */
    client_free(&k);
}

/* A flag already set: no connection is even tried, by probe or window. */
static void test_flag_set_before_the_call(void **state)
{
    struct client k;
    struct sf_fetch_status st;
    int before = atomic_load(&P.nconns);
    (void)state;

    client_new(&k);
    atomic_store(&k.stop, 1);
    assert_int_equal(sf_fetch_probe(k.c, &k.t, &st), SF_ERR_STOPPED);
    assert_string_equal(st.msg, "tenant hung: stopped (shutdown or reload)");
    assert_int_equal(sf_fetch_window(k.c, &k.t, T0, T0 + 60000, no_pages, NULL, &st),
                     SF_ERR_STOPPED);
    assert_int_equal(atomic_load(&P.nconns), before);
    client_free(&k);
}

/* Without a flag (NULL) nothing changes: a short http.timeout still ends
 * the call, as SF_ERR_TIMEOUT. */
static void test_no_flag_times_out(void **state)
{
    struct client k;
    struct sf_fetch_status st;
    (void)state;

    client_new(&k);
    sf_api_client_free(k.c);
    k.opts.abort_flag = NULL;
    k.opts.timeout_ms = 300;
    assert_int_equal(sf_api_client_new(&k.opts, k.tc, &k.c), SF_OK);
    assert_int_equal(sf_fetch_probe(k.c, &k.t, &st), SF_ERR_TIMEOUT);
    client_free(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hung_token_request_aborts),
        cmocka_unit_test(test_flag_set_before_the_call),
        cmocka_unit_test(test_no_flag_times_out),
    };
    return cmocka_run_group_tests(tests, peer_setup, peer_teardown);
}
