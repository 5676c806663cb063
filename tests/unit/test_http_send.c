/* test_http_send.c - the shared HTTP sender's options for the HTTP outputs
 * (outputs/http_send.c): https only unless allow_http, a long body cut at
 * max_response (cut_body, webhook) or refused (fetch), and errors that name
 * `shown` instead of a URL path that holds tokens. A one-shot loopback
 * server answers each request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "sf_http.h"

#define BIG 5000

static int lfd = -1, port;

/* Answer one request with 200 and BIG bytes, then close. */
static void *serve_one(void *arg)
{
    char req[8192], head[128], *body = malloc(BIG);
    int fd = accept(lfd, NULL, NULL);
    size_t got = 0;

    (void)arg;
    while (fd >= 0 && got < sizeof(req) - 1) {
        ssize_t n = read(fd, req + got, sizeof(req) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    memset(body, 'x', BIG);
    int hl = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                      "Connection: close\r\n\r\n", BIG);
    if (fd >= 0) {
        (void)!write(fd, head, (size_t)hl);
        (void)!write(fd, body, BIG);
        close(fd);
    }
    free(body);
    return NULL;
}

static void listen_once(pthread_t *th)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);

    lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(lfd >= 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
    port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(th, NULL, serve_one, NULL), 0);
}

static sf_err post(const struct sf_http_opts *o, const char *url, struct sf_http_resp *rs,
                   char *why, size_t whylen)
{
    struct sf_http *h = NULL;
    struct sf_http_req rq = { .method = "POST", .url = url, .body = "{}", .body_len = 2 };
    sf_err err = sf_http_new(o, &h, why, whylen);

    assert_int_equal(err, SF_OK);
    err = sf_http_do(h, &rq, rs, why, whylen);
    sf_http_free(h);
    return err;
}

static void test_long_body_cut_or_refused(void **state)
{
    struct sf_http_opts cut = { .max_response = 1000, .cut_body = 1, .allow_http = 1 };
    struct sf_http_opts strict = { .max_response = 1000, .allow_http = 1 };
    struct sf_http_resp rs;
    pthread_t th;
    char url[64], why[256];

    (void)state;
    sf_http_resp_init(&rs);
    listen_once(&th);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    assert_int_equal(post(&cut, url, &rs, why, sizeof(why)), SF_OK);
    assert_int_equal(rs.status, 200);
    assert_int_equal(rs.body.len, 1000);   /* the start kept, the rest dropped */
    pthread_join(th, NULL);
    close(lfd);

    listen_once(&th);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", port);
    assert_int_equal(post(&strict, url, &rs, why, sizeof(why)), SF_ERR_LIMIT);
    assert_non_null(strstr(why, "larger than 1000 bytes"));
    pthread_join(th, NULL);
    close(lfd);
    sf_http_resp_free(&rs);
}

static void test_https_only_unless_allowed(void **state)
{
    struct sf_http_opts o = { 0 };
    struct sf_http_resp rs;
    char why[256];

    (void)state;
    sf_http_resp_init(&rs);
    assert_int_equal(post(&o, "http://127.0.0.1:9/x", &rs, why, sizeof(why)), SF_ERR_NETWORK);
    assert_int_equal(rs.status, 0);
    sf_http_resp_free(&rs);
}

static void test_errors_show_the_hidden_url(void **state)
{
    struct sf_http_opts o = { .allow_http = 1, .shown = "http://127.0.0.1:9/***" };
    struct sf_http_resp rs;
    char why[256];

    (void)state;
    sf_http_resp_init(&rs);
    assert_int_equal(post(&o, "http://127.0.0.1:9/services/T0/B0/SECRETTOKEN", &rs, why,
                          sizeof(why)), SF_ERR_NETWORK);
    assert_non_null(strstr(why, "http://127.0.0.1:9/***: "));
    assert_null(strstr(why, "SECRETTOKEN"));
    sf_http_resp_free(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_body_cut_or_refused),
        cmocka_unit_test(test_https_only_unless_allowed),
        cmocka_unit_test(test_errors_show_the_hidden_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
