/* test_syslog_output.c - the syslog output (type: syslog) through its
 * sf_output_type: config validation messages (FILE:LINE: path: message),
 * defaults (framing per transport, max_record), and exact bytes plus
 * verdicts against a loopback TCP listener, including peer close, reset and
 * a receiver that is gone. Clock and pid are fixed with sf_syslog_test_fix. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sf_output.h"
#include "sf_syslog.h"
#include "sf_yaml.h"

#define T0 1714644672345LL   /* 2024-05-02T10:11:12.345Z */
#define REC "CEF:0|Acme|Hub|1.0|42|Malware|8|src=10.1.2.3"
#define H5424 "<164>1 2024-05-02T10:11:12.345Z fwd01.example.net siemfwd 4242 alert - "
#define H3164 "<164>May  2 10:11:12 fwd01.example.net siemfwd[4242]: "

struct got {
    size_t n;
    uint64_t id[64];
    enum sf_verdict v[64];
    char why[64][256];
};

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct got *g = opaque;
    assert_true(g->n < 64);
    g->id[g->n] = id;
    g->v[g->n] = v;
    snprintf(g->why[g->n], sizeof(g->why[0]), "%s", reason ? reason : "");
    g->n++;
}

/* The verdict reported for id; fails the test if there is not exactly one. */
static enum sf_verdict verdict_of(const struct got *g, uint64_t id, const char **why)
{
    int found = -1;
    for (size_t i = 0; i < g->n; i++) {
        if (g->id[i] == id) {
            assert_int_equal(found, -1);
            found = (int)i;
        }
    }
    assert_int_not_equal(found, -1);
    if (why)
        *why = g->why[found];
    return g->v[found];
}

struct fixture {
    struct sf_doc *doc;
    struct sf_output o;
    struct sf_buf errs;
    struct got got;
    int lfd;       /* listener */
    int port;
};

/* Load yaml (PORT replaced by the listener port) and init the output. */
static sf_err init_output(struct fixture *f, const char *text)
{
    char yaml[2048], err[256];
    const char *at = strstr(text, "PORT");

    if (at)
        snprintf(yaml, sizeof(yaml), "%.*s%d%s", (int)(at - text), text, f->port, at + 4);
    else
        snprintf(yaml, sizeof(yaml), "%s", text);
    assert_int_equal(sf_yaml_load_string("test.yaml", yaml, strlen(yaml), &f->doc, err,
                                         sizeof(err)), SF_OK);
    f->o.type = &sf_output_syslog;
    f->o.name = "test";
    f->o.verdict = on_verdict;
    f->o.verdict_opaque = &f->got;
    return f->o.type->init(&f->o, f->doc->root, "outputs[0]", &f->errs);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);

    assert_non_null(f);
    sf_buf_init(&f->errs, 0);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 8), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->o.ctx)
        f->o.type->destroy(&f->o);
    sf_doc_free(f->doc);
    sf_buf_free(&f->errs);
    if (f->lfd >= 0)
        close(f->lfd);
    free(f);
    return 0;
}

static int accept_one(int lfd)
{
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 5000), 1);
    int fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    return fd;
}

/* Read exactly want bytes from fd (5 s at most) and compare. */
static void expect_bytes(int fd, const char *want, size_t len)
{
    char buf[4096];
    size_t got = 0;

    assert_true(len <= sizeof(buf));
    while (got < len) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(got, len);
    assert_memory_equal(buf, want, len);
}

static void send_one(struct fixture *f, uint64_t id, const char *rec, sf_err want)
{
    struct sf_msg m = { .data = rec, .len = strlen(rec), .id = id };
    assert_int_equal(f->o.type->send(&f->o, &m, 1), want);
}

static void expect_config_error(const char *yaml, const char *want)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    sf_buf_init(&f->errs, 0);
    f->lfd = -1;
    assert_int_equal(init_output(f, yaml), SF_ERR_CONFIG);
    assert_null(f->o.ctx);
    if (!f->errs.data || !strstr(f->errs.data, want))
        fail_msg("errors '%s' lack '%s'", f->errs.data ? f->errs.data : "", want);
    sf_doc_free(f->doc);
    sf_buf_free(&f->errs);
    free(f);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("name: x\ntype: syslog\n", "outputs[0].address");
    expect_config_error("address: h:514\nhostname: a b\n",
                        "test.yaml:2: outputs[0].hostname: must be 1..255 printable");
    expect_config_error("address: h:514\nmsgid: alert-message-id-longer-than-32-bytes\n",
                        "test.yaml:2: outputs[0].msgid: must be 1..32");
    expect_config_error("address: h:514\nheader: rfc3164\napp_name: \"a:b\"\n",
                        "test.yaml:3: outputs[0].app_name: must be 1..32");
    expect_config_error("address: ::1:514\n", "test.yaml:1: outputs[0].address: "
                        "'::1:514': an IPv6 address needs brackets");
    expect_config_error("address: h:514\ntls: {verify: false}\n",
                        "test.yaml:2: outputs[0].tls: tls settings given but transport is tcp");
    expect_config_error("address: h:514\ntransport: tls\ntls: {fingerprint_sha256: ab:cd}\n",
                        "outputs[0].tls: fingerprint_sha256 'ab:cd' is not 32 hex bytes");
    expect_config_error("address: h:514\ntransport: tls\ntls: {ca_file: /nonexistent.pem}\n",
                        "outputs[0].tls: cannot load CA file '/nonexistent.pem'");
    expect_config_error("address: h:514\ntransport: tls\ntls: {cert_file: /x.pem}\n",
                        "cert_file and key_file must be given together");
    expect_config_error("address: h:514\ntransport: udp\n", "outputs[0].transport");
    expect_config_error("address: h:514\nmax_message: 100\n", "outputs[0].max_message");
    expect_config_error("address: h:514\nadress: h:514\n", "adress");
}

/* Default: rfc5424, LF framing on tcp, max_record = 8 KiB - header bound. */
static void test_defaults_and_bytes(void **state)
{
    struct fixture *f = *state;
    char errbuf[256];

    assert_int_equal(init_output(f, "name: s\ntype: syslog\nformat: cef\n"
                                    "address: 127.0.0.1:PORT\nhostname: fwd01.example.net\n"),
                     SF_OK);
    /* "<PRI>1 " 7 + TS 24 + 1 + host 17 + 1 + app 7 + 1 + pid 10 + 1 + "alert" 5 + " - " 3 */
    assert_int_equal(f->o.max_record, 8192 - 77);
    sf_syslog_test_fix(&f->o, T0, 4242);
    assert_int_equal(f->o.type->start(&f->o, errbuf, sizeof(errbuf)), SF_OK);
    send_one(f, 1, REC, SF_OK);
    send_one(f, 2, "CEF:0|a\nb", SF_OK);
    assert_int_equal(f->o.type->flush(&f->o, 2000), 0);
    const char *why;
    assert_int_equal(verdict_of(&f->got, 1, NULL), SF_V_DELIVERED);
    assert_int_equal(verdict_of(&f->got, 2, &why), SF_V_REJECTED);
    assert_non_null(strstr(why, "line feed"));
    int cfd = accept_one(f->lfd);
    expect_bytes(cfd, H5424 REC "\n", strlen(H5424 REC "\n"));
    close(cfd);
}

/* TLS defaults to octet counting; here tcp with explicit octet counting and
 * rfc3164, a batch of three, one over max_message. */
static void test_octet_3164_batch(void **state)
{
    struct fixture *f = *state;
    char big[600];
    struct sf_msg m[3] = {
        { .data = REC, .len = strlen(REC), .id = 10 },
        { .data = big, .len = sizeof(big), .id = 11 },
        { .data = "LEEF:1.0|x", .len = 10, .id = 12 },
    };
    const char *want = "98 " H3164 REC "64 " H3164 "LEEF:1.0|x";
    const char *why;

    memset(big, 'x', sizeof(big));
    assert_int_equal(init_output(f, "address: 127.0.0.1:PORT\nhostname: fwd01.example.net\n"
                                    "framing: octet-counting\nheader: rfc3164\n"
                                    "max_message: 512\n"), SF_OK);
    sf_syslog_test_fix(&f->o, T0, 4242);
    assert_int_equal(f->o.type->send(&f->o, m, 3), SF_OK);
    assert_int_equal(f->o.type->flush(&f->o, 2000), 0);
    assert_int_equal(f->got.n, 3);
    assert_int_equal(verdict_of(&f->got, 10, NULL), SF_V_DELIVERED);
    assert_int_equal(verdict_of(&f->got, 11, &why), SF_V_REJECTED);
    assert_non_null(strstr(why, "over max_message 512"));
    assert_int_equal(verdict_of(&f->got, 12, NULL), SF_V_DELIVERED);
    int cfd = accept_one(f->lfd);
    expect_bytes(cfd, want, strlen(want));
    close(cfd);
}

/* The receiver closes (FIN) or resets (RST) while idle: the next send
 * reconnects by itself and delivers. */
static void test_reconnect_after_close_and_reset(void **state)
{
    struct fixture *f = *state;
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    assert_int_equal(init_output(f, "address: 127.0.0.1:PORT\nheader: none\n"), SF_OK);
    send_one(f, 1, "one", SF_OK);
    assert_int_equal(f->o.type->flush(&f->o, 2000), 0);
    int cfd = accept_one(f->lfd);
    expect_bytes(cfd, "one\n", 4);
    close(cfd);                                     /* FIN */
    f->o.type->poll(&f->o, 50);
    send_one(f, 2, "two", SF_OK);
    assert_int_equal(f->o.type->flush(&f->o, 2000), 0);
    cfd = accept_one(f->lfd);
    expect_bytes(cfd, "two\n", 4);
    setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(cfd);                                     /* RST */
    usleep(20000);
    send_one(f, 3, "three", SF_OK);
    assert_int_equal(f->o.type->flush(&f->o, 2000), 0);
    cfd = accept_one(f->lfd);
    expect_bytes(cfd, "three\n", 6);
    close(cfd);
    assert_int_equal(f->got.n, 3);
    for (uint64_t id = 1; id <= 3; id++)
        assert_int_equal(verdict_of(&f->got, id, NULL), SF_V_DELIVERED);
}

/* Nobody listens: start fails naming the address, send gives RECONNECT
 * for every record (REJECTED still wins for a bad record). */
static void test_receiver_gone(void **state)
{
    struct fixture *f = *state;
    char errbuf[256], addr[64];
    struct sf_msg m[2] = {
        { .data = "ok", .len = 2, .id = 7 },
        { .data = "a\nb", .len = 3, .id = 8 },
    };

    close(f->lfd);
    f->lfd = -1;
    assert_int_equal(init_output(f, "name: gone\naddress: 127.0.0.1:PORT\n"), SF_OK);
    assert_int_equal(f->o.type->start(&f->o, errbuf, sizeof(errbuf)), SF_ERR_NETWORK);
    snprintf(addr, sizeof(addr), "cannot connect to 127.0.0.1:%d: Connection refused",
             f->port);
    if (!strstr(errbuf, addr) || !strstr(errbuf, "'test'"))
        fail_msg("start error '%s'", errbuf);
    assert_int_equal(f->o.type->send(&f->o, m, 2), SF_ERR_NETWORK);
    const char *why;
    assert_int_equal(verdict_of(&f->got, 7, &why), SF_V_RECONNECT);
    assert_non_null(strstr(why, addr));
    assert_int_equal(verdict_of(&f->got, 8, NULL), SF_V_REJECTED);
    assert_int_equal(f->o.type->flush(&f->o, 10), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test_setup_teardown(test_defaults_and_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_octet_3164_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_after_close_and_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receiver_gone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
