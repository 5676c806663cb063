/* test_hec_emu.c - the HEC output (type hec) driven through sf_output.h
 * against tests/emulator/hec_emu.py, which each test starts on a free port
 * (READY port=N) and kills in teardown. Checks verdicts per record and, in
 * the emulator's index, that every record arrived exactly once. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "hec.h"
#include "sf_output.h"
#include "sf_yaml.h"

#define MAXID 1200
#define TOKEN "11111111-aaaa-4bbb-8ccc-000000000001"
#define ACK_TOKEN "11111111-aaaa-4bbb-8ccc-000000000002"
#define OFF_TOKEN "11111111-aaaa-4bbb-8ccc-000000000003"

static char certdir[64];

struct emu {
    pid_t pid;
    int port;
    int tls;
    char base[64];
};

struct run {
    struct emu emu;
    struct sf_doc *doc;
    struct sf_output o;
    int inited;
    int nv[MAXID];                 /* verdicts per id */
    enum sf_verdict last[MAXID];
    char reason[MAXID][160];
    char data[MAXID][8192];        /* record bytes, alive until the verdict */
    struct sf_msg msgs[MAXID];
};

static struct run *R;

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct run *r = opaque;
    assert_true(id < MAXID);
    r->nv[id]++;
    r->last[id] = v;
    snprintf(r->reason[id], sizeof(r->reason[id]), "%s", reason ? reason : "");
}

/* ---- emulator process ------------------------------------------------ */

static int emu_start(struct emu *e, int tls, const char *extra)
{
    const char *src = getenv("SF_SOURCE_DIR");
    char script[512], cmd[2048], line[128];
    int fds[2];
    size_t n = 0;

    snprintf(script, sizeof(script), "%s/tests/emulator/hec_emu.py", src ? src : ".");
    snprintf(cmd, sizeof(cmd), "exec /usr/bin/python3 %s --exit-with-parent --token %s "
             "--token %s,ack --token %s,disabled --ack-delay 0.05 %s%s%s%s%s", script, TOKEN,
             ACK_TOKEN, OFF_TOKEN, tls ? "--cert " : "", tls ? certdir : "",
             tls ? "/server.crt --key " : "", tls ? certdir : "", tls ? "/server.key " : "");
    strncat(cmd, extra ? extra : "", sizeof(cmd) - strlen(cmd) - 1);
    if (pipe(fds) != 0)
        return -1;
    e->pid = fork();
    if (e->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (n + 1 < sizeof(line)) {
        struct pollfd p = { fds[0], POLLIN, 0 };
        if (poll(&p, 1, 10000) <= 0 || read(fds[0], line + n, 1) != 1)
            break;
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    if (sscanf(line, "READY port=%d", &e->port) != 1)
        return -1;
    e->tls = tls;
    snprintf(e->base, sizeof(e->base), "%s://127.0.0.1:%d", tls ? "https" : "http", e->port);
    return 0;
}

static void emu_stop(struct emu *e)
{
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        waitpid(e->pid, NULL, 0);
        e->pid = 0;
    }
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *opaque)
{
    return sf_buf_add(opaque, p, size * nmemb) ? 0 : size * nmemb;
}

/* GET (body NULL) or POST an emulator URL; the reply parsed as JSON. */
static struct json_object *emu_call(const char *path, const char *body)
{
    struct sf_buf b;
    char url[256];
    CURL *c = curl_easy_init();
    struct json_object *obj;

    sf_buf_init(&b, 512u * 1024 * 1024);
    snprintf(url, sizeof(url), "%s%s", R->emu.base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (R->emu.tls) {
        snprintf(url, sizeof(url), "%s/ca.crt", certdir);
        curl_easy_setopt(c, CURLOPT_CAINFO, url);
    }
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    obj = json_tokener_parse(b.data);
    sf_buf_free(&b);
    assert_non_null(obj);
    return obj;
}

static void emu_control(const char *json)
{
    json_object_put(emu_call("/_emu/control", json));
}

static long long jint(struct json_object *o, const char *key)
{
    struct json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_int64(v);
}

static long long emu_stat(const char *key)
{
    struct json_object *s = emu_call("/_emu/stats", NULL);
    long long v = jint(s, key);
    json_object_put(s);
    return v;
}

static long long emu_http_count(const char *status)
{
    struct json_object *s = emu_call("/_emu/stats", NULL);
    struct json_object *h, *v;
    long long n = 0;

    assert_true(json_object_object_get_ex(s, "http", &h));
    if (json_object_object_get_ex(h, status, &v))
        n = json_object_get_int64(v);
    json_object_put(s);
    return n;
}

/* How often each record id (the "seq" in its data) was indexed. */
static void emu_index_counts(int *count, int n)
{
    struct json_object *all = emu_call("/_emu/events", NULL);
    struct json_object *evs, *ev, *f, *v;

    memset(count, 0, sizeof(int) * (size_t)n);
    assert_true(json_object_object_get_ex(all, "events", &evs));
    for (size_t i = 0; i < json_object_array_length(evs); i++) {
        struct json_object *env = json_object_array_get_idx(evs, i);
        int seq = -1;
        assert_true(json_object_object_get_ex(env, "event", &ev));
        if (json_object_is_type(ev, json_type_object)) {
            assert_true(json_object_object_get_ex(ev, "seq", &v));
            seq = json_object_get_int(v);
        } else {
            const char *s = strstr(json_object_get_string(ev), "seq=");
            assert_non_null(s);
            seq = atoi(s + 4);
        }
        assert_true(seq >= 0 && seq < n);
        count[seq]++;
        /* fields.tenant follows the record's tenant (even: acme). */
        assert_true(json_object_object_get_ex(env, "fields", &f));
        assert_true(json_object_object_get_ex(f, "tenant", &v));
        assert_string_equal(json_object_get_string(v), seq % 2 ? "fabrikam" : "acme");
    }
    json_object_put(all);
}

/* ---- records and the output ----------------------------------------- */

/* Record i: even ids are JSON objects from tenant acme, odd ids CEF text
 * from tenant fabrikam; pad makes it about that many bytes. */
static void make_msg(int i, size_t pad)
{
    char *d = R->data[i];
    size_t cap = sizeof(R->data[i]);
    int k;

    if (i % 2 == 0)
        k = snprintf(d, cap, "{\"seq\":%d,\"tenant\":\"acme\",\"pad\":\"", i);
    else
        k = snprintf(d, cap, "CEF:0|Microsoft|Defender|1|x|Alert \"%d\"|5|seq=%d msg=", i, i);
    for (; (size_t)k < pad && (size_t)k + 3 < cap; k++)
        d[k] = (char)('a' + k % 26);
    if (i % 2 == 0)
        d[k++] = '"', d[k++] = '}';
    d[k] = '\0';
    R->msgs[i] = (struct sf_msg){
        .data = d, .len = (size_t)k,
        .tenant = i % 2 ? "fabrikam" : "acme",
        .tenant_id = i % 2 ? "00000000-0000-0000-0000-000000000002"
                           : "00000000-0000-0000-0000-000000000001",
        .alert_id = "da0001", .time_ms = 1714644672000LL + i, .id = (uint64_t)i,
    };
}

/* init + start the output from YAML whose url/tls are filled in. */
static sf_err open_output(const char *yaml_fmt, const char *token, sf_err want_start)
{
    char yaml[2048], tls[256] = "", errbuf[512];
    struct sf_buf errs;
    sf_err err;

    if (R->emu.tls)
        snprintf(tls, sizeof(tls), "tls: {ca_file: %s/ca.crt}\n", certdir);
    snprintf(yaml, sizeof(yaml), "name: splunk\ntype: hec\nformat: json\nurl: %s\n"
             "token: %s\n%s%s", R->emu.base, token, tls, yaml_fmt);
    assert_int_equal(sf_yaml_load_string("hec.yaml", yaml, strlen(yaml), &R->doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    R->o.type = sf_output_type_find("hec");
    assert_non_null(R->o.type);
    R->o.verdict = on_verdict;
    R->o.verdict_opaque = R;
    sf_buf_init(&errs, 0);
    err = R->o.type->init(&R->o, R->doc->root, "outputs[0]", &errs);
    if (err)
        print_error("%s", errs.data ? errs.data : "");
    sf_buf_free(&errs);
    assert_int_equal(err, SF_OK);
    R->inited = 1;
    err = R->o.type->start(&R->o, errbuf, sizeof(errbuf));
    if (err != want_start)
        print_error("start: %s\n", errbuf);
    assert_int_equal(err, want_start);
    return err;
}

static void send_range(int from, int to)
{
    assert_int_equal(R->o.type->send(&R->o, &R->msgs[from], (size_t)(to - from)), SF_OK);
}

static void expect_verdicts(int from, int to, enum sf_verdict v, int times)
{
    for (int i = from; i < to; i++) {
        if (R->nv[i] != times || R->last[i] != v)
            print_error("id %d: %d verdicts, last %s (%s)\n", i, R->nv[i],
                        sf_verdict_name(R->last[i]), R->reason[i]);
        assert_int_equal(R->nv[i], times);
        assert_int_equal(R->last[i], v);
    }
}

static void expect_indexed(int n, int from, int to, int times)
{
    int *count = calloc((size_t)n, sizeof(int));
    emu_index_counts(count, n);
    for (int i = from; i < to; i++) {
        if (count[i] != times)
            print_error("record %d indexed %d times, want %d\n", i, count[i], times);
        assert_int_equal(count[i], times);
    }
    free(count);
}

static int setup_http(void **state)
{
    R = calloc(1, sizeof(*R));
    *state = R;
    return emu_start(&R->emu, 0, NULL);
}

static int setup_https(void **state)
{
    R = calloc(1, sizeof(*R));
    *state = R;
    return emu_start(&R->emu, 1, NULL);
}

static int teardown(void **state)
{
    (void)state;
    if (R->inited)
        R->o.type->destroy(&R->o);
    sf_doc_free(R->doc);
    emu_stop(&R->emu);
    free(R);
    R = NULL;
    return 0;
}


/* ---- envelope bytes (no emulator) ------------------------------------- */

static void test_envelope_exact_bytes(void **state)
{
    struct hec h = { 0 };
    struct sf_buf out;
    struct sf_msg m = { .tenant = "acme", .tenant_id = "t-1", .time_ms = 1714644672045LL };
    static const char cef[] = "CEF:0|Microsoft|\"q\"\\|\n\x01\xff\xc3\xa9";
    (void)state;

    h.conf.host = "fwd01";
    h.conf.source = "siemfwd";
    h.conf.sourcetype = "siemfwd:alert";
    h.conf.index = "defender";
    sf_buf_init(&out, 0);
    m.data = cef;
    m.len = sizeof(cef) - 1;
    assert_int_equal(sf_hec_envelope(&h, &out, &m), SF_OK);
    assert_string_equal(out.data,
        "{\"time\":1714644672.045,\"host\":\"fwd01\",\"source\":\"siemfwd\","
        "\"sourcetype\":\"siemfwd:alert\",\"index\":\"defender\","
        "\"event\":\"CEF:0|Microsoft|\\\"q\\\"\\\\|\\n\\u0001\\ufffd\xc3\xa9\","
        "\"fields\":{\"tenant\":\"acme\",\"tenant_id\":\"t-1\"}}");
    /* A JSON object record is embedded verbatim; no time, no index. */
    sf_buf_reset(&out);
    h.conf.index = NULL;
    m.data = " {\"a\": [1, 2], \"b\": \"\xc3\xa9\"}\n";
    m.len = strlen(m.data);
    m.time_ms = 0;
    m.tenant_id = NULL;
    assert_int_equal(sf_hec_envelope(&h, &out, &m), SF_OK);
    assert_string_equal(out.data,
        "{\"host\":\"fwd01\",\"source\":\"siemfwd\",\"sourcetype\":\"siemfwd:alert\","
        "\"event\": {\"a\": [1, 2], \"b\": \"\xc3\xa9\"}\n,\"fields\":{\"tenant\":\"acme\"}}");
    /* Every JSON value kind, escapes and exponents: still verbatim. */
    sf_buf_reset(&out);
    m.data = "{\"o\":{\"a\":[true,false,null,-0.5e+3,0,\"\\u00e9\\n\\/\"]},\"e\":{},\"l\":[]}";
    m.len = strlen(m.data);
    assert_int_equal(sf_hec_envelope(&h, &out, &m), SF_OK);
    assert_non_null(strstr(out.data, "\"event\":{\"o\":{\"a\":[true,false,null,-0.5e+3,0,"));
    /* Not exactly one strict JSON object: embedded as a string. */
    static const char *const not_obj[] = {
        "{\"a\":1} x", "{\"a\":1,}", "{'a':1}", "[1]", "{\"a\":\"\xff\"}", "{\"a\":01}",
        "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{\"a\":tru}", "{\"a\":[1,]}", "{\"a\" 1}",
        "{\"a\":1}{\"b\":2}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":\"\\u12g4\"}", "{",
    };
    for (size_t i = 0; i < sizeof(not_obj) / sizeof(not_obj[0]); i++) {
        sf_buf_reset(&out);
        m.data = not_obj[i];
        m.len = strlen(m.data);
        assert_int_equal(sf_hec_envelope(&h, &out, &m), SF_OK);
        if (!strstr(out.data, "\"event\":\""))
            print_error("embedded as an object: %s\n", out.data);
        assert_non_null(strstr(out.data, "\"event\":\""));
    }
    sf_buf_free(&out);
}

/* ---- through the output interface ------------------------------------- */

static void test_ack_1000_two_tenants_https_gzip(void **state)
{
    struct json_object *all, *evs, *env, *v;
    (void)state;

    open_output("ack: true\nack_poll_interval: 50ms\nbatch_max_events: 100\nindex: main\n",
                ACK_TOKEN, SF_OK);
    for (int i = 0; i < 1000; i++)
        make_msg(i, 200);
    for (int i = 0; i < 1000; i += 50) {
        send_range(i, i + 50);
        R->o.type->poll(&R->o, 0);
    }
    assert_int_equal(R->o.type->flush(&R->o, 15000), 0);
    /* Keep-alive: the output's one connection (acks included) + this query's. */
    assert_int_equal(emu_stat("connections"), 2);
    expect_verdicts(0, 1000, SF_V_DELIVERED, 1);
    expect_indexed(1000, 0, 1000, 1);
    assert_int_equal(emu_stat("gzip_posts"), 10);
    assert_int_equal(emu_stat("plain_posts"), 1);  /* the token probe in start */
    /* Envelope content as Splunk parsed it. */
    all = emu_call("/_emu/events", NULL);
    assert_true(json_object_object_get_ex(all, "events", &evs));
    for (size_t i = 0; i < 2; i++) {
        int seq;
        env = json_object_array_get_idx(evs, i);
        assert_true(json_object_object_get_ex(env, "event", &v));
        if (json_object_is_type(v, json_type_object)) {
            struct json_object *s;
            assert_true(json_object_object_get_ex(v, "seq", &s));
            seq = json_object_get_int(s);
        } else {
            seq = atoi(strstr(json_object_get_string(v), "seq=") + 4);
            assert_string_equal(json_object_get_string(v), R->data[seq]);
        }
        assert_true(json_object_object_get_ex(env, "time", &v));
        assert_int_equal(llround(json_object_get_double(v) * 1000), 1714644672000LL + seq);
        assert_true(json_object_object_get_ex(env, "sourcetype", &v));
        assert_string_equal(json_object_get_string(v), "siemfwd:alert");
        assert_true(json_object_object_get_ex(env, "source", &v));
        assert_string_equal(json_object_get_string(v), "siemfwd");
        assert_true(json_object_object_get_ex(env, "index", &v));
        assert_string_equal(json_object_get_string(v), "main");
        assert_true(json_object_object_get_ex(env, "fields", &v));
        assert_true(json_object_object_get_ex(v, "tenant_id", &v));
        assert_string_equal(json_object_get_string(v), R->msgs[seq].tenant_id);
    }
    json_object_put(all);
}

static void test_gzip_off_ack_off(void **state)
{
    (void)state;
    setenv("SF_TEST_HEC_TOKEN", TOKEN, 1);
    open_output("gzip: false\nbatch_max_events: 100\n", "${SF_TEST_HEC_TOKEN}", SF_OK);
    for (int i = 0; i < 300; i++)
        make_msg(i, 300);
    send_range(0, 250);
    /* Two full batches went out inside send; 50 wait for the timeout. */
    expect_verdicts(0, 200, SF_V_DELIVERED, 1);
    assert_int_equal(R->nv[200], 0);
    send_range(250, 300);
    expect_verdicts(0, 300, SF_V_DELIVERED, 1);
    assert_int_equal(emu_stat("connections"), 2);
    assert_int_equal(R->o.type->flush(&R->o, 5000), 0);
    expect_indexed(300, 0, 300, 1);
    assert_int_equal(emu_stat("gzip_posts"), 0);
    assert_int_equal(emu_stat("plain_posts"), 4);
}

static void test_batch_timeout_sends_in_poll(void **state)
{
    struct timespec a, b;
    (void)state;
    open_output("batch_timeout: 200ms\n", TOKEN, SF_OK);
    for (int i = 0; i < 3; i++)
        make_msg(i, 100);
    send_range(0, 3);
    assert_int_equal(R->nv[0], 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    R->o.type->poll(&R->o, 2000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    expect_verdicts(0, 3, SF_V_DELIVERED, 1);
    assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 1500);
    expect_indexed(3, 0, 3, 1);
}

static void test_acks_never_true_retry_then_resend(void **state)
{
    (void)state;
    emu_control("{\"ack_never\": true}");
    open_output("ack: true\nack_timeout: 600ms\nack_poll_interval: 100ms\n"
                "batch_max_events: 10\n", ACK_TOKEN, SF_OK);
    for (int i = 0; i < 20; i++)
        make_msg(i, 100);
    send_range(0, 20);
    /* Before ack_timeout, flush reports what still waits for its ack. */
    assert_int_equal(R->o.type->flush(&R->o, 100), 20);
    assert_int_equal(R->o.type->flush(&R->o, 5000), 0);
    expect_verdicts(0, 20, SF_V_RETRY, 1);
    assert_non_null(strstr(R->reason[0], "not true after 600 ms"));
    expect_indexed(20, 0, 20, 0);
    assert_true(emu_stat("ack_polls") >= 2);
    /* The pipeline re-sends; now acks turn true: exactly once in the index. */
    emu_control("{\"ack_never\": false}");
    send_range(0, 20);
    assert_int_equal(R->o.type->flush(&R->o, 5000), 0);
    expect_verdicts(0, 20, SF_V_DELIVERED, 2);
    expect_indexed(20, 0, 20, 1);
}

static void test_code6_rejects_only_that_event(void **state)
{
    (void)state;
    emu_control("{\"max_event_size\": 2000}");
    open_output("batch_max_events: 10\n", TOKEN, SF_OK);
    for (int i = 0; i < 10; i++)
        make_msg(i, i == 4 ? 3000 : 500);
    send_range(0, 10);
    expect_verdicts(0, 4, SF_V_DELIVERED, 1);
    expect_verdicts(4, 5, SF_V_REJECTED, 1);
    expect_verdicts(5, 10, SF_V_DELIVERED, 1);
    assert_non_null(strstr(R->reason[4], "code 6 (Invalid data format)"));
    expect_indexed(10, 0, 4, 1);
    expect_indexed(10, 4, 5, 0);
    expect_indexed(10, 5, 10, 1);
}

/* With acks the 400 reply acknowledges nothing, so the events before the
 * bad one are re-sent too: indexed twice (at-least-once), never lost. */
static void test_code6_with_ack_resends_unacked(void **state)
{
    (void)state;
    emu_control("{\"max_event_size\": 2000}");
    open_output("ack: true\nack_poll_interval: 50ms\nbatch_max_events: 10\n", ACK_TOKEN,
                SF_OK);
    for (int i = 0; i < 10; i++)
        make_msg(i, i == 4 ? 3000 : 500);
    send_range(0, 10);
    assert_int_equal(R->o.type->flush(&R->o, 5000), 0);
    expect_verdicts(0, 4, SF_V_DELIVERED, 1);
    expect_verdicts(4, 5, SF_V_REJECTED, 1);
    expect_verdicts(5, 10, SF_V_DELIVERED, 1);
    expect_indexed(10, 0, 4, 2);
    expect_indexed(10, 4, 5, 0);
    expect_indexed(10, 5, 10, 1);
}

static void test_unhealthy_503_retry(void **state)
{
    (void)state;
    emu_control("{\"unhealthy_for\": 1.0}");
    open_output("batch_max_events: 5\n", TOKEN, SF_ERR_HTTP);
    for (int i = 0; i < 10; i++)
        make_msg(i, 100);
    send_range(0, 5);
    expect_verdicts(0, 5, SF_V_RETRY, 1);
    assert_non_null(strstr(R->reason[0], "HTTP 503 code 9 (Server is busy)"));
    usleep(1100 * 1000);
    send_range(0, 5);
    expect_verdicts(0, 5, SF_V_DELIVERED, 2);
    /* busy (503 code 9) and internal error (500 code 8): both RETRY. */
    emu_control("{\"busy\": 1, \"internal_error\": 0}");
    send_range(5, 10);
    expect_verdicts(5, 10, SF_V_RETRY, 1);
    emu_control("{\"internal_error\": 1}");
    send_range(5, 10);
    expect_verdicts(5, 10, SF_V_RETRY, 2);
    assert_non_null(strstr(R->reason[5], "HTTP 500 code 8"));
    send_range(5, 10);
    expect_verdicts(5, 10, SF_V_DELIVERED, 3);
    expect_indexed(10, 0, 10, 1);
}

static void test_bad_token_fatal(void **state)
{
    char errbuf[512];
    (void)state;
    open_output("batch_max_events: 3\n", "22222222-dead-4bbb-8ccc-000000000009",
                SF_ERR_AUTH);
    for (int i = 0; i < 6; i++)
        make_msg(i, 100);
    send_range(0, 3);
    expect_verdicts(0, 3, SF_V_FATAL, 1);
    assert_non_null(strstr(R->reason[0], "HTTP 403 code 4 (Invalid token)"));
    assert_null(strstr(R->reason[0], "22222222-dead"));
    R->o.type->destroy(&R->o);
    sf_doc_free(R->doc);
    R->doc = NULL;
    /* A disabled token: code 1; an ack token used without ack: code 10. */
    open_output("batch_max_events: 3\n", OFF_TOKEN, SF_ERR_AUTH);
    send_range(3, 6);
    expect_verdicts(3, 6, SF_V_FATAL, 1);
    assert_non_null(strstr(R->reason[3], "code 1 (Token disabled)"));
    R->o.type->destroy(&R->o);
    sf_doc_free(R->doc);
    R->doc = NULL;
    open_output("batch_max_events: 3\n", ACK_TOKEN, SF_ERR_CONFIG);
    send_range(3, 6);
    expect_verdicts(3, 6, SF_V_FATAL, 2);
    assert_non_null(strstr(R->reason[3], "code 10 (Data channel is missing)"));
    assert_int_equal(R->o.type->start(&R->o, errbuf, sizeof(errbuf)), SF_ERR_CONFIG);
    assert_non_null(strstr(errbuf, "set ack: true"));
    expect_indexed(6, 0, 6, 0);
}

static void test_413_splits_and_rejects_oversize(void **state)
{
    (void)state;
    emu_control("{\"max_content_length\": 5000}");
    open_output("batch_max_events: 10\n", TOKEN, SF_OK);
    for (int i = 0; i < 11; i++)
        make_msg(i, i == 10 ? 6000 : 1000);
    send_range(0, 10);
    expect_verdicts(0, 10, SF_V_DELIVERED, 1);
    send_range(10, 11);
    assert_int_equal(R->o.type->flush(&R->o, 5000), 0);
    expect_verdicts(10, 11, SF_V_REJECTED, 1);
    assert_non_null(strstr(R->reason[10], "HTTP 413"));
    expect_indexed(11, 0, 10, 1);
    expect_indexed(11, 10, 11, 0);
    /* 10 x 1.2 KB: 413; halves of 6 KB: 413 twice; 2 + 3: accepted; the
     * single 6 KB event: 413 and rejected. */
    assert_int_equal(emu_http_count("413"), 4);
    assert_int_equal(emu_stat("event_posts"), 4 + 1);
}

/* batch_max_bytes bounds every body: a server limit of the same size
 * never answers 413. */
static void test_batch_max_bytes_respected(void **state)
{
    (void)state;
    emu_control("{\"max_content_length\": 5000}");
    open_output("batch_max_bytes: 5000\nhost: fwd01\n", TOKEN, SF_OK);
    for (int i = 0; i < 20; i++)
        make_msg(i, 1000);
    send_range(0, 20);
    assert_int_equal(R->o.type->flush(&R->o, 5000), 0);
    expect_verdicts(0, 20, SF_V_DELIVERED, 1);
    assert_int_equal(emu_http_count("413"), 0);
    /* ~1.2 KB envelopes: 4 per body, 5 bodies. */
    assert_int_equal(emu_stat("event_posts"), 5 + 1);
    expect_indexed(20, 0, 20, 1);
}

static void test_network_error_reconnect(void **state)
{
    char errbuf[512];
    (void)state;
    open_output("batch_max_events: 2\ntimeout: 2s\n", TOKEN, SF_OK);
    emu_stop(&R->emu);
    make_msg(0, 100);
    make_msg(1, 100);
    send_range(0, 2);
    expect_verdicts(0, 2, SF_V_RECONNECT, 1);
    assert_non_null(strstr(R->reason[0], "HEC POST"));
    assert_int_equal(R->o.type->start(&R->o, errbuf, sizeof(errbuf)), SF_ERR_NETWORK);
}

static void expect_config_error(const char *yaml, const char *want)
{
    struct sf_output o = { 0 };
    struct sf_doc *doc = NULL;
    struct sf_buf errs;
    char errbuf[256];

    assert_int_equal(sf_yaml_load_string("bad.yaml", yaml, strlen(yaml), &doc, errbuf,
                                         sizeof(errbuf)), SF_OK);
    o.type = sf_output_type_find("hec");
    sf_buf_init(&errs, 0);
    assert_int_equal(o.type->init(&o, doc->root, "outputs[2]", &errs), SF_ERR_CONFIG);
    if (!errs.data || !strstr(errs.data, want))
        print_error("errors: %s\nwanted: %s\n", errs.data ? errs.data : "", want);
    assert_non_null(errs.data);
    assert_non_null(strstr(errs.data, want));
    assert_null(o.ctx);
    sf_buf_free(&errs);
    sf_doc_free(doc);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_config_error("type: hec\ntoken: x\n",
                        "bad.yaml:1: outputs[2].url: required key is missing");
    expect_config_error("type: hec\nurl: ftp://x\ntoken: x\n",
                        "bad.yaml:2: outputs[2].url: must start with https://");
    expect_config_error("type: hec\nurl: https://x:8088\ntoken: x\nchannel: abc\n",
                        "bad.yaml:4: outputs[2].channel: must be a GUID");
    expect_config_error("type: hec\nurl: https://x:8088\ntoken: x\n"
                        "tls: {cert_file: /c.pem}\n", "outputs[2].tls.key_file");
    expect_config_error("type: hec\nurl: https://x:8088\ntoken: x\ngzipp: true\n",
                        "bad.yaml:4: outputs[2].gzipp: unknown key (did you mean 'gzip'?)");
    expect_config_error("type: hec\nurl: https://x:8088\ntoken: x\nbatch_max_bytes: 10\n",
                        "bad.yaml:4: outputs[2].batch_max_bytes: 10 is out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope_exact_bytes),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test_setup_teardown(test_ack_1000_two_tenants_https_gzip, setup_https,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_gzip_off_ack_off, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_batch_timeout_sends_in_poll, setup_http,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_acks_never_true_retry_then_resend, setup_http,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_code6_rejects_only_that_event, setup_http,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_code6_with_ack_resends_unacked, setup_http,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unhealthy_503_retry, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_bad_token_fatal, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_413_splits_and_rejects_oversize, setup_https,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_batch_max_bytes_respected, setup_http, teardown),
        cmocka_unit_test_setup_teardown(test_network_error_reconnect, setup_http, teardown),
    };
    char cmd[700];
    const char *src = getenv("SF_SOURCE_DIR");
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(certdir, sizeof(certdir), "/tmp/sf-hec-XXXXXX");
    if (!mkdtemp(certdir))
        return 1;
    snprintf(cmd, sizeof(cmd), "sh '%s/tests/emulator/mkcerts.sh' '%s' >/dev/null",
             src ? src : ".", certdir);
    if (system(cmd) != 0)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    curl_global_cleanup();
    return rc;
}
