/* test_metrics_idle_clients.c - regression (issue 10 B8): the metrics
 * listener served one connection at a time with a 2 s deadline, so 12
 * clients that connect and say nothing delayed a scrape by 24 s. Now every
 * client has its own deadline on one poll loop. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sf_metrics.h"

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int connect_to(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* GET path; returns the whole answer in out, and how long it took. */
static int64_t get(int port, const char *path, char *out, size_t len)
{
    int64_t t0 = now_ms();
    int fd = connect_to(port);
    char req[128];
    size_t n = 0;

    snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    for (;;) {
        ssize_t r = read(fd, out + n, len - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    close(fd);
    return now_ms() - t0;
}

static void test_idle_clients_do_not_delay_a_scrape(void **state)
{
    struct sf_metrics *m = NULL;
    char listen[64], errbuf[256], out[4096];
    int port = free_port(), idle[12];
    (void)state;

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    assert_int_equal(sf_metrics_start(listen, &m, errbuf, sizeof(errbuf)), SF_OK);
    for (size_t i = 0; i < 12; i++)
        idle[i] = connect_to(port);
    /* one more that sends half a request and stops */
    int half = connect_to(port);
    assert_int_equal(write(half, "GET /metr", 9), 9);

    int64_t took = get(port, "/healthz", out, sizeof(out));
    assert_non_null(strstr(out, "503 Service Unavailable"));
    assert_non_null(strstr(out, "starting"));
    if (took > 1000)
        fail_msg("a scrape behind 12 idle clients took %lld ms", (long long)took);
    took = get(port, "/nope", out, sizeof(out));
    assert_non_null(strstr(out, "404 Not Found"));
    assert_true(took < 1000);

    /* the idle ones are dropped after their own deadline (2 s), not held */
    int64_t t0 = now_ms();
    char c;
    assert_true(read(idle[0], &c, 1) <= 0);
    assert_true(now_ms() - t0 < 4000);
    for (size_t i = 0; i < 12; i++)
        close(idle[i]);
    close(half);
    sf_metrics_stop(m);
}

/* More clients than slots: the most idle is dropped, a scrape still gets in. */
static void test_more_clients_than_slots(void **state)
{
    struct sf_metrics *m = NULL;
    char listen[64], errbuf[256], out[4096];
    int port = free_port(), idle[80];
    (void)state;

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    assert_int_equal(sf_metrics_start(listen, &m, errbuf, sizeof(errbuf)), SF_OK);
    for (size_t i = 0; i < 80; i++)
        idle[i] = connect_to(port);
    int64_t took = get(port, "/healthz", out, sizeof(out));
    assert_non_null(strstr(out, "starting"));
    assert_true(took < 1000);
    for (size_t i = 0; i < 80; i++)
        close(idle[i]);
    sf_metrics_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_clients_do_not_delay_a_scrape),
        cmocka_unit_test(test_more_clients_than_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
