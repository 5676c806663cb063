/* test_fetch_emu.c - the fetch stage over real HTTPS against the Defender
 * emulator (tests/emulator/defender_emu.py, started here with a test CA):
 * secret and certificate auth, Graph/MDE/SIEM window reads compared with the
 * emulator's own list, paging, token expiry, 429, 5xx, consent, malformed
 * pages, boundary ties. The emulator process is ours: killed in teardown. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "sf_fetch.h"
#include "sf_buf.h"
#include "sf_sources.h"

/* The sources as these tests index them (the forwarder names them). */
enum tsrc { TSRC_GRAPH, TSRC_MDE, TSRC_SIEM };
static const char *const tsrc_name[] = { "graph", "mde", "siem" };

/* The pipeline's dedup key: the alert view's id and last update. */
static int alert_key(enum tsrc s, json_object *a, const char **id, int64_t *ms)
{
    struct sf_alert_view v;

    if (sf_source_view(tsrc_name[s], a, NULL, &v) != 0 || !v.id || !v.last_update)
        return -1;
    *id = v.id;
    *ms = v.last_update_ms;
    return 0;
}

extern char **environ;

#define CLIENT_ID "11111111-1111-1111-1111-111111111111"
#define SECRET "emu8Q~Secret+/=&%.value_1"   /* the emulator's default */
#define NTENANTS 14
#define MAX_KEYS 2048

static struct {
    pid_t pid;
    int out_fd;
    char dir[64], ca[128], cert[128], key[128], rogue_cert[128], rogue_key[128];
    char base[64];
    struct sf_token_cache *tc;
    struct sf_api_client *c;
    struct sf_fetch_opts opts;
} E = { .pid = -1, .out_fd = -1 };

static char tids[NTENANTS + 1][40], tnames[NTENANTS + 1][16];

/* ------------------------------------------------------------ emulator */

static int wait_ready(int fd)
{
    char buf[256];
    size_t len = 0;
    int port = 0;

    for (int waited = 0; waited < 60000 && len < sizeof(buf) - 1;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int rc = poll(&p, 1, 500);
        if (rc == 0) {
            waited += 500;
            continue;
        }
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        const char *r = strstr(buf, "READY port=");
        if (r && strchr(r, '\n') && sscanf(r, "READY port=%d", &port) == 1)
            return port;
    }
    return -1;
}

static int group_setup(void **state)
{
    const char *src = getenv("SF_SOURCE_DIR") ? getenv("SF_SOURCE_DIR") : ".";
    char script[512], cmd[1024], nten[8];
    posix_spawn_file_actions_t fa;
    int fds[2], port;
    (void)state;

    snprintf(E.dir, sizeof(E.dir), "/tmp/sf_fetch_emu.XXXXXX");
    if (!mkdtemp(E.dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "sh '%s/tests/emulator/mkcerts.sh' '%s'", src, E.dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(E.ca, sizeof(E.ca), "%s/ca.crt", E.dir);
    snprintf(E.cert, sizeof(E.cert), "%s/client.crt", E.dir);
    snprintf(E.key, sizeof(E.key), "%s/client.key", E.dir);
    snprintf(E.rogue_cert, sizeof(E.rogue_cert), "%s/rogue.crt", E.dir);
    snprintf(E.rogue_key, sizeof(E.rogue_key), "%s/rogue.key", E.dir);
    snprintf(script, sizeof(script), "%s/tests/emulator/defender_emu.py", src);
    snprintf(nten, sizeof(nten), "%d", NTENANTS);
    char *argv[] = { "/usr/bin/python3", script, "--certdir", E.dir, "--client-cert", E.cert,
                     "--tenants", nten, "--alerts-per-tenant", "30", "--history", "2h",
                     "--seed", "7", NULL };
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    if (posix_spawn(&E.pid, argv[0], &fa, NULL, argv, environ) != 0)
        E.pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    E.out_fd = fds[0];
    if (E.pid < 0 || (port = wait_ready(E.out_fd)) <= 0)
        return -1;
    snprintf(E.base, sizeof(E.base), "https://127.0.0.1:%d", port);
    for (int i = 1; i <= NTENANTS; i++) {
        snprintf(tids[i], sizeof(tids[i]), "00000000-0000-0000-0000-%012d", i);
        snprintf(tnames[i], sizeof(tnames[i]), "tenant%d", i);
    }
    /* http.tls.ca_file: the emulator's CA instead of the system store */
    static struct sf_tls_conf tls = { .verify = 1 };
    tls.ca_file = E.ca;
    E.opts = (struct sf_fetch_opts){ .organization = "Test MSSP", .tls = &tls,
                                     .timeout_ms = 10000, .max_response = 16u << 20 };
    if (sf_token_cache_new(&E.tc) != SF_OK || sf_api_client_new(&E.opts, E.tc, &E.c) != SF_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[256];
    (void)state;

    sf_api_client_free(E.c);
    sf_token_cache_free(E.tc);
    if (E.pid > 0) {
        kill(E.pid, SIGTERM);
        waitpid(E.pid, NULL, 0);
    }
    if (E.out_fd >= 0)
        close(E.out_fd);
    if (E.dir[0] && strncmp(E.dir, "/tmp/sf_fetch_emu.", 18) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", E.dir);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
    return sf_buf_add(ud, p, size * n) == SF_OK ? size * n : 0;
}

/* One /_emu request; the parsed 200 answer (caller puts it). */
static json_object *emu_call(const char *path, const char *post_body)
{
    CURL *h = curl_easy_init();
    struct sf_buf b;
    char url[512];
    long status = 0;
    json_object *doc;

    sf_buf_init(&b, 64 << 20);
    snprintf(url, sizeof(url), "%s%s", E.base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO, E.ca);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (post_body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, post_body);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (status != 200)
        fail_msg("%s -> %ld %s", path, status, b.data ? b.data : "");
    doc = json_tokener_parse(b.data);
    assert_non_null(doc);
    sf_buf_free(&b);
    return doc;
}

static json_object *emu_control(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_object *emu_control(const char *fmt, ...)
{
    char body[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    return emu_call("/_emu/control", body);
}

/* ------------------------------------------------------------ key sets */

struct keys {
    int n;
    char k[MAX_KEYS][96];   /* "id|epoch-ms" */
};

static const char *const key_fields[][2] = {
    [TSRC_GRAPH] = { "id", "lastUpdateDateTime" },
    [TSRC_MDE] = { "id", "lastUpdateTime" },
    [TSRC_SIEM] = { "FullId", "LastProcessedTimeUtc" },
};

static int cmp_key(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* What the emulator holds for the tenant, as sorted "id|ms" keys. */
static void expected(int tn, enum tsrc src, struct keys *ks)
{
    char path[256];
    json_object *doc, *arr, *a, *v;

    snprintf(path, sizeof(path), "/_emu/alerts?tenant=%s&source=%s", tnames[tn],
             tsrc_name[src]);
    doc = emu_call(path, NULL);
    assert_true(json_object_object_get_ex(doc, "alerts", &arr));
    ks->n = 0;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        const char *id, *when;
        int64_t ms = 0;
        a = json_object_array_get_idx(arr, i);
        assert_true(json_object_object_get_ex(a, key_fields[src][0], &v));
        id = json_object_get_string(v);
        assert_true(json_object_object_get_ex(a, key_fields[src][1], &v));
        when = json_object_get_string(v);
        /* The emulator's own answer, read the way the pipeline keys it (the view). */
        json_object *probe = json_object_new_object();
        json_object_object_add(probe, key_fields[src][0], json_object_new_string(id));
        json_object_object_add(probe, key_fields[src][1], json_object_new_string(when));
        assert_int_equal(alert_key(src, probe, &id, &ms), 0);
        assert_true(ks->n < MAX_KEYS);
        snprintf(ks->k[ks->n++], sizeof(ks->k[0]), "%s|%lld", id, (long long)ms);
        json_object_put(probe);
    }
    qsort(ks->k, (size_t)ks->n, sizeof(ks->k[0]), cmp_key);
    json_object_put(doc);
}

struct got {
    enum tsrc src;
    struct keys all;        /* in delivery order */
    int pages;
    int64_t last_ms;
    int descending;         /* set if delivery went back in time */
    int expire_at_page;     /* expire the tenant's tokens after this page */
    const char *tenant;
};

static sf_err collect(void *opaque, json_object *alerts)
{
    struct got *g = opaque;
    const char *id;
    int64_t ms;

    g->pages++;
    for (size_t i = 0; i < json_object_array_length(alerts); i++) {
        assert_int_equal(alert_key(g->src, json_object_array_get_idx(alerts, i), &id, &ms), 0);
        if (ms < g->last_ms)
            g->descending = 1;
        g->last_ms = ms;
        assert_true(g->all.n < MAX_KEYS);
        snprintf(g->all.k[g->all.n++], sizeof(g->all.k[0]), "%s|%lld", id, (long long)ms);
    }
    if (g->expire_at_page == g->pages) {
        char body[128];
        snprintf(body, sizeof(body), "{\"tenant\":\"%s\",\"fault\":\"expire_tokens\"}", g->tenant);
        json_object_put(emu_call("/_emu/control", body));
    }
    return SF_OK;
}

/* Delivered keys, sorted and de-duplicated; returns how many repeats. */
static int unique(struct keys *ks)
{
    int k = 0, dups = 0;

    qsort(ks->k, (size_t)ks->n, sizeof(ks->k[0]), cmp_key);
    for (int i = 0; i < ks->n; i++) {
        if (k && strcmp(ks->k[k - 1], ks->k[i]) == 0) {
            dups++;
            continue;
        }
        memmove(ks->k[k++], ks->k[i], sizeof(ks->k[0]));
    }
    ks->n = k;
    return dups;
}

static void assert_same(const struct keys *want, const struct keys *have)
{
    for (int i = 0; i < want->n && i < have->n; i++)
        assert_string_equal(have->k[i], want->k[i]);
    assert_int_equal(have->n, want->n);
}

static struct sf_fetch_tenant tenant(int tn, enum tsrc src, int page_size)
{
    struct sf_fetch_tenant t = {
        .name = tnames[tn], .tenant_id = tids[tn], .source = tsrc_name[src], .client_id = CLIENT_ID,
        .client_secret = SECRET, .authority = E.base, .api_base = E.base,
        .page_size = page_size,
    };
    return t;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sf_err read_all(struct sf_fetch_tenant *t, struct got *g, struct sf_fetch_status *st)
{
    g->src = strcmp(t->source, "mde") == 0 ? TSRC_MDE : strcmp(t->source, "siem") == 0 ? TSRC_SIEM : TSRC_GRAPH;
    g->tenant = t->name;
    return sf_fetch_window(E.c, t, now_ms() - 24 * 3600 * 1000, now_ms() + 3600 * 1000,
                           collect, g, st);
}

static struct got *new_got(void)
{
    struct got *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    g->last_ms = INT64_MIN;
    return g;
}

/* ------------------------------------------------------------ tests */

static void test_graph_secret_reads_everything(void **state)
{
    struct sf_fetch_tenant t = tenant(1, TSRC_GRAPH, 0);
    struct keys *want = calloc(1, sizeof(*want));
    struct got *g = new_got();
    struct sf_fetch_status st;
    uint64_t before = sf_token_cache_renewals(E.tc);
    json_object *stats, *s, *ua;
    (void)state;

    expected(1, TSRC_GRAPH, want);
    assert_int_equal(want->n, 30);
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_string_equal(st.msg, "");
    assert_int_equal(g->pages, 1);
    assert_false(g->descending);
    assert_int_equal(unique(&g->all), 0);
    assert_same(want, &g->all);
    assert_int_equal(sf_token_cache_renewals(E.tc), before + 1);
    /* A second read reuses the cached token. */
    g->all.n = 0;
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_int_equal(sf_token_cache_renewals(E.tc), before + 1);
    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_OK);
    /* The partner User-Agent Microsoft asks for (1.6). */
    stats = emu_call("/_emu/stats?tenant=tenant1", NULL);
    assert_true(json_object_object_get_ex(stats, "stats", &s));
    assert_true(json_object_object_get_ex(s, "user_agent", &ua));
    assert_string_equal(json_object_get_string(ua), "MdatpPartner-TestMSSP-siemfwd/" SIEMFWD_VERSION);
    json_object_put(stats);
    free(want);
    free(g);
}

static void test_graph_nextlink_and_deep_paging(void **state)
{
    struct sf_fetch_tenant t = tenant(2, TSRC_GRAPH, 7);
    struct keys *want = calloc(1, sizeof(*want));
    struct got *g = new_got();
    struct sf_fetch_status st;
    (void)state;

    expected(2, TSRC_GRAPH, want);
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_int_equal(g->pages, 5);   /* 30 alerts, 7 a page, nextLink to the end */
    assert_false(g->descending);
    assert_int_equal(unique(&g->all), 0);
    assert_same(want, &g->all);
    /* Now every nextLink past the first page answers 400: boundary restarts. */
    json_object_put(emu_control("{\"tenant\":\"tenant2\",\"fault\":\"deep_paging\","
                                "\"api\":\"graph\",\"after_pages\":1,\"mode\":\"error\"}"));
    memset(g, 0, sizeof(*g));
    g->last_ms = INT64_MIN;
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_false(g->descending);
    assert_string_equal(st.msg, "");
    unique(&g->all);
    assert_same(want, &g->all);
    assert_true(g->pages >= 5);
    json_object_put(emu_control("{\"tenant\":\"tenant2\",\"fault\":\"clear\"}"));
    free(want);
    free(g);
}

static void test_mde_window_split(void **state)
{
    struct sf_fetch_tenant t = tenant(3, TSRC_MDE, 4);
    struct keys *want = calloc(1, sizeof(*want));
    struct got *g = new_got();
    struct sf_fetch_status st;
    (void)state;

    expected(3, TSRC_MDE, want);
    assert_true(want->n > 8);   /* enough to need several splits at 4 a page */
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_string_equal(st.msg, "");
    assert_false(g->descending);
    assert_true(g->pages >= want->n / 3);
    assert_int_equal(unique(&g->all), 0);
    assert_same(want, &g->all);
    free(want);
    free(g);
}

static void test_siem(void **state)
{
    struct sf_fetch_tenant t = tenant(4, TSRC_SIEM, 0);
    struct keys *want = calloc(1, sizeof(*want));
    struct got *g = new_got();
    struct sf_fetch_status st;
    (void)state;

    expected(4, TSRC_SIEM, want);
    assert_true(want->n > 0);
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_int_equal(g->pages, 1);
    assert_false(g->descending);
    assert_int_equal(unique(&g->all), 0);
    assert_same(want, &g->all);
    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_OK);
    free(want);
    free(g);
}

static void test_certificate_auth(void **state)
{
    struct sf_fetch_tenant t = tenant(5, TSRC_MDE, 0);
    struct keys *want = calloc(1, sizeof(*want));
    struct got *g = new_got();
    struct sf_fetch_status st;
    (void)state;

    t.client_secret = NULL;
    t.cert_file = E.cert;
    t.key_file = E.key;
    expected(5, TSRC_MDE, want);
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    unique(&g->all);
    assert_same(want, &g->all);
    /* A certificate the app registration does not know. */
    t.source = tsrc_name[TSRC_GRAPH];
    t.cert_file = E.rogue_cert;
    t.key_file = E.rogue_key;
    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_ERR_AUTH);
    assert_int_equal(st.auth_failed, 1);
    assert_int_equal(st.http_status, 401);
    assert_non_null(strstr(st.msg, "tenant tenant5: token request refused (HTTP 401 "
                            "invalid_client): AADSTS700027: The certificate with identifier"));
    free(want);
    free(g);
}

static int64_t total_status(const char *code)
{
    json_object *stats = emu_call("/_emu/stats", NULL), *s, *v;
    int64_t n = 0;

    assert_true(json_object_object_get_ex(stats, "totals", &s));
    assert_true(json_object_object_get_ex(s, "status", &s));
    if (json_object_object_get_ex(s, code, &v))
        n = json_object_get_int64(v);
    json_object_put(stats);
    return n;
}

static void test_token_expiry_mid_paging(void **state)
{
    struct sf_fetch_tenant t = tenant(6, TSRC_GRAPH, 5);
    struct keys *want = calloc(1, sizeof(*want));
    struct got *g = new_got();
    struct sf_fetch_status st;
    uint64_t before;
    int64_t unauthorized;
    (void)state;

    expected(6, TSRC_GRAPH, want);
    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_OK);   /* token now cached */
    before = sf_token_cache_renewals(E.tc);
    unauthorized = total_status("401");
    g->expire_at_page = 2;   /* the server forgets our token after page 2 */
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_int_equal(g->pages, 6);
    assert_int_equal(unique(&g->all), 0);
    assert_same(want, &g->all);
    assert_int_equal(sf_token_cache_renewals(E.tc), before + 1);   /* renewed exactly once */
    assert_int_equal(total_status("401"), unauthorized + 1);
    free(want);
    free(g);
}

static void test_throttled_and_5xx(void **state)
{
    struct sf_fetch_tenant t = tenant(7, TSRC_GRAPH, 0);
    struct got *g = new_got();
    struct sf_fetch_status st;
    (void)state;

    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_OK);
    json_object_put(emu_control("{\"tenant\":\"tenant7\",\"fault\":\"throttle\",\"api\":\"graph\","
                                "\"count\":1,\"retry_after\":7}"));
    assert_int_equal(read_all(&t, g, &st), SF_ERR_THROTTLED);
    assert_int_equal(st.http_status, 429);
    assert_int_equal(st.retry_after_ms, 7000);
    assert_int_equal(g->pages, 0);
    json_object_put(emu_control("{\"tenant\":\"tenant7\",\"fault\":\"throttle\",\"api\":\"graph\","
                                "\"count\":1,\"no_retry_after\":true}"));
    assert_int_equal(read_all(&t, g, &st), SF_ERR_THROTTLED);
    assert_int_equal(st.retry_after_ms, 60000);   /* default when absent */
    /* Two 503s are retried inside the call; three are reported. */
    json_object_put(emu_control("{\"tenant\":\"tenant7\",\"fault\":\"server_error\","
                                "\"api\":\"graph\",\"count\":2,\"status\":503}"));
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_int_equal(g->pages, 1);
    json_object_put(emu_control("{\"tenant\":\"tenant7\",\"fault\":\"server_error\","
                                "\"api\":\"graph\",\"count\":3,\"status\":502}"));
    assert_int_equal(read_all(&t, g, &st), SF_ERR_HTTP);
    assert_int_equal(st.http_status, 502);
    assert_non_null(strstr(st.msg, "tenant tenant7: GET /v1.0/security/alerts_v2: HTTP 502"));
    assert_int_equal(g->pages, 1);
    /* A dropped connection is retried too. */
    json_object_put(emu_control("{\"tenant\":\"tenant7\",\"fault\":\"drop\",\"api\":\"graph\","
                                "\"count\":1}"));
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    free(g);
}

static void test_timeouts_and_token_faults(void **state)
{
    struct sf_fetch_tenant t = tenant(11, TSRC_GRAPH, 0);
    struct sf_fetch_opts quick = E.opts;
    struct sf_token_cache *tc;
    struct sf_api_client *c;
    struct sf_fetch_status st;
    struct timespec t0, t1;
    double secs;
    (void)state;

    quick.timeout_ms = 400;
    assert_int_equal(sf_token_cache_new(&tc), SF_OK);
    assert_int_equal(sf_api_client_new(&quick, tc, &c), SF_OK);
    /* Token endpoint: two 503s are retried inside the call. */
    json_object_put(emu_control("{\"tenant\":\"tenant11\",\"fault\":\"server_error\","
                                "\"api\":\"token\",\"count\":2,\"status\":503}"));
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_OK);
    assert_int_equal(sf_token_cache_renewals(tc), 1);
    /* Three slow answers in a row: each try times out, then the call does. */
    json_object_put(emu_control("{\"tenant\":\"tenant11\",\"fault\":\"slow\",\"api\":\"graph\","
                                "\"count\":3,\"delay_ms\":1500}"));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_ERR_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(secs >= 3 * 0.4 && secs < 3 * 0.4 + 2.0 + 1.0);   /* 3 tries + backoff < 2 s */
    assert_non_null(strstr(st.msg, "tenant tenant11: GET /v1.0/security/alerts_v2: "));
    /* A throttled token endpoint is reported with its Retry-After. */
    sf_api_client_free(c);
    sf_token_cache_free(tc);
    assert_int_equal(sf_token_cache_new(&tc), SF_OK);
    assert_int_equal(sf_api_client_new(&E.opts, tc, &c), SF_OK);
    json_object_put(emu_control("{\"tenant\":\"tenant11\",\"fault\":\"throttle\","
                                "\"api\":\"token\",\"count\":1,\"retry_after\":3}"));
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_ERR_THROTTLED);
    assert_int_equal(st.retry_after_ms, 3000);
    assert_int_equal(st.auth_failed, 0);
    assert_non_null(strstr(st.msg, "AADSTS50196"));
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_OK);
    sf_api_client_free(c);
    sf_token_cache_free(tc);
}

static void test_consent_and_credentials(void **state)
{
    struct sf_fetch_tenant t = tenant(8, TSRC_GRAPH, 0);
    struct sf_token_cache *tc;
    struct sf_api_client *c;
    struct sf_fetch_status st;
    (void)state;

    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_OK);
    json_object_put(emu_control("{\"tenant\":\"tenant8\",\"fault\":\"revoke_consent\"}"));
    /* With the cached token the API itself refuses: 403. */
    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_ERR_AUTH);
    assert_int_equal(st.auth_failed, 1);
    assert_int_equal(st.http_status, 403);
    assert_non_null(strstr(st.msg, "tenant tenant8: GET /v1.0/security/alerts_v2: HTTP 403: Forbidden:"));
    /* A fresh cache asks Entra, which no longer knows the app there. */
    assert_int_equal(sf_token_cache_new(&tc), SF_OK);
    assert_int_equal(sf_api_client_new(&E.opts, tc, &c), SF_OK);
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_ERR_AUTH);
    assert_int_equal(st.auth_failed, 1);
    assert_int_equal(st.http_status, 400);
    assert_non_null(strstr(st.msg, "tenant tenant8: token request refused (HTTP 400 "
                            "unauthorized_client): AADSTS700016: Application with identifier"));
    json_object_put(emu_control("{\"tenant\":\"tenant8\",\"fault\":\"restore_consent\"}"));
    /* A wrong secret: named by its AADSTS code, never echoed. */
    t.client_secret = "not-the-secret-value";
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_ERR_AUTH);
    assert_int_equal(st.auth_failed, 1);
    assert_string_equal(st.msg, "tenant tenant8: token request refused (HTTP 401 invalid_client): "
                        "AADSTS7000215: Invalid client secret provided.");
    assert_null(strstr(st.msg, "not-the-secret"));
    sf_api_client_free(c);
    sf_token_cache_free(tc);
}

static void test_malformed_pages(void **state)
{
    static const char *const faults[] = {
        "\"fault\":\"malformed\",\"mode\":\"json\"",
        "\"fault\":\"malformed\",\"mode\":\"html\"",
        "\"fault\":\"truncate\",\"mode\":\"body\"",
    };
    struct sf_fetch_tenant t = tenant(9, TSRC_GRAPH, 0);
    struct got *g = new_got();
    struct sf_fetch_status st;
    (void)state;

    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
        json_object_put(emu_control("{\"tenant\":\"tenant9\",\"api\":\"graph\",\"count\":1,%s}",
                                    faults[i]));
        assert_int_equal(read_all(&t, g, &st), SF_ERR_PARSE);
        assert_int_equal(g->pages, 0);
        if (strncmp(st.msg, "tenant tenant9: GET /v1.0/security/alerts_v2: malformed JSON", 60) != 0)
            fail_msg("fault %zu: %s", i, st.msg);
        assert_null(strstr(st.msg, "Bearer"));
        assert_null(strstr(st.msg, "eyJ"));
    }
    /* A body over max_response is a limit, not a parse error. */
    {
        struct sf_fetch_opts small = E.opts;
        struct sf_api_client *c;
        small.max_response = 2000;
        assert_int_equal(sf_api_client_new(&small, E.tc, &c), SF_OK);
        assert_int_equal(sf_fetch_window(c, &t, now_ms() - 86400000, now_ms() + 3600000,
                                         collect, g, &st), SF_ERR_LIMIT);
        assert_non_null(strstr(st.msg, "response larger than 2000 bytes"));
        sf_api_client_free(c);
    }
    free(g);
}

static void test_boundary_tie(void **state)
{
    struct sf_fetch_tenant t = tenant(10, TSRC_GRAPH, 4);
    struct keys *want = calloc(1, sizeof(*want));
    struct got *g = new_got();
    struct sf_fetch_status st;
    json_object *r;
    (void)state;

    /* Three alerts 1 ms apart then three sharing one instant, newer than
     * everything else: page 2 starts inside the tie, and nextLink fails. */
    r = emu_control("{\"tenant\":\"tenant10\",\"fault\":\"boundary_tie\",\"before\":1,\"tie\":3}");
    json_object_put(r);
    json_object_put(emu_control("{\"tenant\":\"tenant10\",\"fault\":\"deep_paging\","
                                "\"api\":\"graph\",\"after_pages\":1,\"mode\":\"error\"}"));
    expected(10, TSRC_GRAPH, want);
    assert_int_equal(want->n, 34);
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_string_equal(st.msg, "");
    assert_false(g->descending);
    unique(&g->all);
    assert_same(want, &g->all);
    /* A tie wider than a page cannot be paged by time or nextLink: that
     * instant is read alone with $skip, and nothing is lost. */
    r = emu_control("{\"tenant\":\"tenant10\",\"fault\":\"boundary_tie\",\"before\":0,\"tie\":9}");
    json_object_put(r);
    expected(10, TSRC_GRAPH, want);
    assert_int_equal(want->n, 43);
    memset(g, 0, sizeof(*g));
    g->last_ms = INT64_MIN;
    assert_int_equal(read_all(&t, g, &st), SF_OK);
    assert_string_equal(st.msg, "");
    assert_false(g->descending);
    unique(&g->all);
    assert_same(want, &g->all);
    free(want);
    free(g);
}

/* Regression (issue 10 B6, B7): a token endpoint answering a token with
 * CR/LF in it (header injection) or an 8 MiB one (was "cycle failed:  (size
 * limit reached)") is a clear token error naming the tenant; nothing of it
 * is cached or sent, and the next good answer works. */
static void test_hostile_token_answers(void **state)
{
    struct sf_fetch_tenant t = tenant(12, TSRC_GRAPH, 0);
    struct sf_fetch_tenant m = tenant(12, TSRC_MDE, 0);
    struct sf_token_cache *tc;
    struct sf_api_client *c;
    struct sf_fetch_status st;
    struct got *g = new_got();
    (void)state;

    assert_int_equal(sf_token_cache_new(&tc), SF_OK);
    assert_int_equal(sf_api_client_new(&E.opts, tc, &c), SF_OK);
    json_object_put(emu_control("{\"tenant\":\"tenant12\",\"fault\":\"bad_token\","
                                "\"mode\":\"crlf\"}"));
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_ERR_PARSE);
    assert_non_null(strstr(st.msg, "tenant tenant12: token response: access_token has byte "
                           "0x0d at offset "));
    assert_null(strstr(st.msg, "Injected"));
    assert_int_equal(st.auth_failed, 0);
    assert_int_equal(sf_token_cache_renewals(tc), 0);
    /* 8 MiB: refused at 64 KiB read, not a window to split (MDE bisects
     * on size errors: one token request, not 48). */
    json_object_put(emu_control("{\"tenant\":\"tenant12\",\"fault\":\"bad_token\","
                                "\"mode\":\"huge\"}"));
    assert_int_equal(sf_fetch_window(c, &m, now_ms() - 3600000, now_ms(), collect, g, &st),
                     SF_ERR_PARSE);
    assert_string_equal(st.msg, "tenant tenant12: token endpoint answer larger than 65536 bytes");
    assert_int_equal(g->pages, 0);
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_OK);
    assert_int_equal(sf_token_cache_renewals(tc), 1);
    sf_api_client_free(c);
    sf_token_cache_free(tc);
    free(g);
}

/* Regression (issue 10 B8): Retry-After: 999999999 parked a tenant for a
 * day; it is cut to http.max_retry_after (default 10 min) and says so. */
static void test_retry_after_capped(void **state)
{
    struct sf_fetch_tenant t = tenant(13, TSRC_GRAPH, 0);
    struct sf_fetch_opts o = E.opts;
    struct sf_token_cache *tc;
    struct sf_api_client *c;
    struct sf_fetch_status st;
    (void)state;

    json_object_put(emu_control("{\"tenant\":\"tenant13\",\"fault\":\"throttle\",\"api\":\"graph\","
                                "\"count\":1,\"retry_after\":999999999}"));
    assert_int_equal(sf_fetch_probe(E.c, &t, &st), SF_ERR_THROTTLED);
    assert_int_equal(st.retry_after_ms, 10 * 60 * 1000);
    assert_non_null(strstr(st.msg, " (Retry-After 86400 s capped to 600 s)"));
    /* The token endpoint too, with a configured cap (a fresh cache, so
     * the token endpoint is asked). */
    o.max_retry_after_ms = 90000;
    assert_int_equal(sf_token_cache_new(&tc), SF_OK);
    assert_int_equal(sf_api_client_new(&o, tc, &c), SF_OK);
    json_object_put(emu_control("{\"tenant\":\"tenant13\",\"fault\":\"throttle\",\"api\":\"token\","
                                "\"count\":1,\"retry_after\":3600}"));
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_ERR_THROTTLED);
    assert_int_equal(st.retry_after_ms, 90000);
    /* Below the cap: untouched. */
    json_object_put(emu_control("{\"tenant\":\"tenant13\",\"fault\":\"throttle\",\"api\":\"graph\","
                                "\"count\":1,\"retry_after\":7}"));
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_ERR_THROTTLED);
    assert_int_equal(st.retry_after_ms, 7000);
    assert_null(strstr(st.msg, "capped"));
    sf_api_client_free(c);
    sf_token_cache_free(tc);
}

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

/* Regression (issue 10 B2): an API call the server sits on (token already
 * cached) ends soon after the abort flag is set, not after http.timeout. */
static void test_abort_hung_api_call(void **state)
{
    struct sf_fetch_tenant t = tenant(14, TSRC_GRAPH, 0);
    struct sf_fetch_opts o = E.opts;
    struct sf_api_client *c;
    struct sf_fetch_status st;
    struct got *g = new_got();
    _Atomic int stop = 0;
    struct setter s = { .flag = &stop, .after_ms = 200 };
    struct timespec t0, t1;
    pthread_t th;
    double secs;
    sf_err err;
    (void)state;

    o.timeout_ms = 60000;
    o.abort_flag = &stop;
    assert_int_equal(sf_api_client_new(&o, E.tc, &c), SF_OK);
    assert_int_equal(sf_fetch_probe(c, &t, &st), SF_OK);   /* token cached */
    json_object_put(emu_control("{\"tenant\":\"tenant14\",\"fault\":\"slow\",\"api\":\"graph\","
                                "\"count\":1,\"delay_ms\":30000}"));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(pthread_create(&th, NULL, set_later, &s), 0);
    err = sf_fetch_window(c, &t, now_ms() - 3600000, now_ms(), collect, g, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_int_equal(err, SF_ERR_STOPPED);
    assert_true(secs < 5.0);   /* the server would answer after 30 s */
    assert_string_equal(st.msg, "tenant tenant14: GET /v1.0/security/alerts_v2: stopped");
    assert_int_equal(g->pages, 0);
    sf_api_client_free(c);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_secret_reads_everything),
        cmocka_unit_test(test_graph_nextlink_and_deep_paging),
        cmocka_unit_test(test_mde_window_split),
        cmocka_unit_test(test_siem),
        cmocka_unit_test(test_certificate_auth),
        cmocka_unit_test(test_token_expiry_mid_paging),
        cmocka_unit_test(test_throttled_and_5xx),
        cmocka_unit_test(test_timeouts_and_token_faults),
        cmocka_unit_test(test_consent_and_credentials),
        cmocka_unit_test(test_malformed_pages),
        cmocka_unit_test(test_boundary_tie),
        cmocka_unit_test(test_hostile_token_answers),
        cmocka_unit_test(test_retry_after_capped),
        cmocka_unit_test(test_abort_hung_api_call),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
