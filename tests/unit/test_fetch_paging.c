/* test_fetch_paging.c - the per-source read algorithms (source_*.c) against
 * an in-memory fake API plugged in as the fetch context's transport: Graph
 * nextLink paging and its time-boundary fallback with the tie guard, MDE
 * window bisection, SIEM window filtering and splitting, page shape checks,
 * callback errors. No network; the fake evaluates the real URLs we build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "source.h"
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

#define T0 INT64_C(1709251200000)   /* 2024-03-01T00:00:00Z */
#define HOUR INT64_C(3600000)
#define MAX_ALERTS 128
#define MAX_GOT 256

struct fake {
    enum tsrc src;
    int n;
    struct { char id[16]; int64_t ms; } a[MAX_ALERTS];  /* ascending ms */
    int deep_fail_from;   /* graph: nextLink page index >= this answers 400 */
    int limit_over;       /* more matches than this: SF_ERR_LIMIT (0: never) */
    int foreign_next;     /* graph: nextLink points at another host */
    int first_400;        /* the first call answers 400 */
    int skip_400_from;    /* graph: $skip >= this answers 400 (0: never) */
    int skip_calls;       /* calls with a $skip / $skiptoken */
    const char *body;     /* fixed response body instead of the data */
    int endless;          /* graph: pages that never end (enum endless) */
    int stop_at_call;     /* sets stop during this call (0: never) */
    _Atomic int stop;     /* the window's abort flag */
    int max_pages;        /* the window's request budget (0: default) */
    int calls;
    char first_url[1024];
    char url[3][1024];    /* calls 2..4, for exact checks */
};

struct got {
    enum tsrc src;
    int n, pages, fail_at_page;
    char id[MAX_GOT][16];
    int64_t ms[MAX_GOT];
};

static void add(struct fake *f, const char *id, int64_t ms)
{
    snprintf(f->a[f->n].id, sizeof(f->a[f->n].id), "%s", id);
    f->a[f->n++].ms = ms;
}

static void pct_decode(const char *s, char *out, size_t n)
{
    size_t k = 0;
    unsigned v;

    for (; *s && k + 1 < n; s++) {
        if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1) {
            out[k++] = (char)v;
            s += 2;
        } else {
            out[k++] = *s;
        }
    }
    out[k] = '\0';
}

static int64_t time_after(const char *q, const char *marker)
{
    const char *p = strstr(q, marker);
    char lit[40];
    int64_t ms;

    assert_non_null(p);
    p += strlen(marker);
    snprintf(lit, sizeof(lit), "%.*s", (int)strcspn(p, " &)"), p);
    assert_int_equal(sf_fetch_parse_time(lit, &ms), 0);
    return ms;
}

static int int_after(const char *q, const char *marker, int dflt)
{
    const char *p = strstr(q, marker);
    return p ? atoi(p + strlen(marker)) : dflt;
}

static json_object *render(const struct fake *f, int i)
{
    static const char *const fields[][2] = {
        [TSRC_GRAPH] = { "id", "lastUpdateDateTime" },
        [TSRC_MDE] = { "id", "lastUpdateTime" },
        [TSRC_SIEM] = { "FullId", "LastProcessedTimeUtc" },
    };
    json_object *o = json_object_new_object();
    char when[40];

    sf_fetch_format_time(f->a[i].ms, when, sizeof(when));
    json_object_object_add(o, fields[f->src][0], json_object_new_string(f->a[i].id));
    json_object_object_add(o, fields[f->src][1], json_object_new_string(when));
    return o;
}

enum endless { ENDLESS_EMPTY = 1, ENDLESS_CYCLE, ENDLESS_FULL };

/* A server whose paging never ends: empty pages with ever new links, links
 * that go round (A -> B -> A), or one alert a page with ever new links. */
static json_object *endless_page(const struct fake *f)
{
    json_object *page = json_object_new_object(), *arr = json_object_new_array();
    int k = f->endless == ENDLESS_CYCLE ? f->calls % 2 : f->calls;
    char next[256], id[16], when[40];

    if (f->endless == ENDLESS_FULL) {
        json_object *o = json_object_new_object();
        snprintf(id, sizeof(id), "e%d", f->calls);
        sf_fetch_format_time(T0 + f->calls, when, sizeof(when));
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "lastUpdateDateTime", json_object_new_string(when));
        json_object_array_add(arr, o);
    }
    snprintf(next, sizeof(next), "https://graph.test/v1.0/security/alerts_v2?$skiptoken=%d", k);
    json_object_object_add(page, "value", arr);
    json_object_object_add(page, "@odata.nextLink", json_object_new_string(next));
    return page;
}

static sf_err fake_get(struct sf_fetch_ctx *fx, const char *url, json_object **out)
{
    struct fake *f = fx->test;
    char q[2048];
    int64_t from, until;
    int top, skip, match[MAX_ALERTS], m = 0;
    json_object *arr, *page;

    *out = NULL;
    if (f->calls == 0)
        snprintf(f->first_url, sizeof(f->first_url), "%s", url);
    else if (f->calls <= 3)
        snprintf(f->url[f->calls - 1], sizeof(f->url[0]), "%s", url);
    f->calls++;
    assert_true(f->calls < 500);   /* a loop that never ends fails here */
    if (f->stop_at_call && f->calls == f->stop_at_call)
        atomic_store(&f->stop, 1);
    if (f->endless) {
        *out = endless_page(f);
        return SF_OK;
    }
    if (f->body) {
        *out = json_tokener_parse(f->body);
        return SF_OK;
    }
    pct_decode(url, q, sizeof(q));
    from = time_after(q, f->src == TSRC_SIEM ? "sinceTimeUtc=" : " ge ");
    until = time_after(q, f->src == TSRC_SIEM ? "untilTimeUtc=" : " lt ");
    top = int_after(q, "$top=", 1 << 30);
    skip = int_after(q, "$skiptoken=", 0) + int_after(q, "$skip=", 0);
    f->skip_calls += skip > 0;
    if (f->skip_400_from && strstr(q, "$skip=") && skip >= f->skip_400_from) {
        fx->st->http_status = 400;
        return SF_ERR_HTTP;
    }
    if ((f->first_400 && f->calls == 1) ||
        (f->src == TSRC_GRAPH && f->deep_fail_from && strstr(q, "$skiptoken=") &&
         skip / top >= f->deep_fail_from)) {
        fx->st->http_status = 400;
        return SF_ERR_HTTP;
    }
    for (int i = 0; i < f->n; i++) {
        /* The SIEM fake includes its upper bound, as the service may. */
        int in = f->a[i].ms >= from && (f->src == TSRC_SIEM ? f->a[i].ms <= until : f->a[i].ms < until);
        if (in)
            match[m++] = i;
    }
    if (f->limit_over && m > f->limit_over) {
        fx->st->http_status = 200;
        snprintf(fx->st->msg, sizeof(fx->st->msg), "too large");
        return SF_ERR_LIMIT;
    }
    arr = json_object_new_array();
    if (f->src == TSRC_GRAPH) {
        for (int i = skip; i < m && i < skip + top; i++)
            json_object_array_add(arr, render(f, match[i]));
    } else {
        /* MDE and SIEM give no order: newest first, like the emulator. */
        for (int i = m - 1 - skip; i >= 0 && m - 1 - skip - i < top; i--)
            json_object_array_add(arr, render(f, match[i]));
    }
    if (f->src == TSRC_SIEM) {
        *out = arr;
        return SF_OK;
    }
    page = json_object_new_object();
    json_object_object_add(page, "value", arr);
    if (f->src == TSRC_GRAPH && skip + top < m) {
        /* Our URL minus any old skiptoken, on the same or a foreign host. */
        const char *path = strstr(url, "/v1.0/");
        size_t plen = strlen(path);
        const char *old = strstr(path, "&$skiptoken=");
        char next[2048];
        if (old)
            plen = (size_t)(old - path);
        snprintf(next, sizeof(next), "%s%.*s&$skiptoken=%d",
                 f->foreign_next ? "https://evil.test" : "https://graph.test", (int)plen, path,
                 skip + top);
        json_object_object_add(page, "@odata.nextLink", json_object_new_string(next));
    }
    *out = page;
    return SF_OK;
}

static sf_err collect(void *opaque, json_object *alerts)
{
    struct got *g = opaque;
    size_t n = json_object_array_length(alerts);
    const char *id;

    assert_true(n > 0);   /* empty pages are never delivered */
    g->pages++;
    if (g->fail_at_page && g->pages == g->fail_at_page)
        return SF_ERR_IO;
    for (size_t i = 0; i < n; i++) {
        assert_true(g->n < MAX_GOT);
        assert_int_equal(alert_key(g->src, json_object_array_get_idx(alerts, i), &id,
                                      &g->ms[g->n]), 0);
        snprintf(g->id[g->n++], sizeof(g->id[0]), "%s", id);
    }
    return SF_OK;
}

static sf_err run(struct fake *f, struct got *g, int page_size, int64_t from, int64_t until,
                  struct sf_fetch_status *st)
{
    static const char *const bases[] = { "https://graph.test", "https://mde.test",
                                         "https://siem.test" };
    struct sf_fetch_tenant t = { .name = "contoso", .tenant_id = "tid", .client_id = "cid",
                                 .source = tsrc_name[f->src], .api_base = bases[f->src],
                                 .page_size = page_size };
    struct sf_fetch_ctx fx;

    g->src = f->src;
    assert_int_equal(sf_fetch_ctx_init(&fx, NULL, &t, st), SF_OK);
    fx.get_json = fake_get;
    fx.test = f;
    fx.abort_flag = &f->stop;
    if (f->max_pages)
        fx.max_pages = f->max_pages;
    fx.on_page = collect;
    fx.opaque = g;
    return fx.type->window(&fx, from, until);
}

/* ids delivered, as one "a,b,c" string */
static const char *ids(const struct got *g)
{
    static char buf[4096];
    size_t k = 0;

    buf[0] = '\0';
    for (int i = 0; i < g->n; i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s", i ? "," : "", g->id[i]);
    return buf;
}

static void assert_ascending(const struct got *g)
{
    for (int i = 1; i < g->n; i++)
        assert_true(g->ms[i - 1] <= g->ms[i]);
}

static void ten_alerts(struct fake *f, enum tsrc src, int64_t step)
{
    char id[8];
    memset(f, 0, sizeof(*f));
    f->src = src;
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "a%d", i);
        add(f, id, T0 + i * step);
    }
}

/* ------------------------------------------------------------ Graph */

static void test_graph_nextlink(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    ten_alerts(&f, TSRC_GRAPH, 1000);
    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_OK);
    assert_string_equal(ids(&g), "a0,a1,a2,a3,a4,a5,a6,a7,a8,a9");
    assert_int_equal(g.pages, 3);
    assert_int_equal(f.calls, 3);
    assert_string_equal(st.msg, "");
    assert_string_equal(f.first_url, "https://graph.test/v1.0/security/alerts_v2?$filter="
                        "lastUpdateDateTime%20ge%202024-03-01T00%3A00%3A00.0000000Z%20and%20"
                        "lastUpdateDateTime%20lt%202024-03-01T01%3A00%3A00.0000000Z&$orderby="
                        "lastUpdateDateTime%20asc&$top=4");
    /* nextLinks are followed verbatim. */
    assert_string_equal(f.url[0] + strlen(f.first_url), "&$skiptoken=4");
    assert_string_equal(f.url[1] + strlen(f.first_url), "&$skiptoken=8");
}

static void test_graph_deep_paging_fallback(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    struct sf_buf want;
    (void)state;

    ten_alerts(&f, TSRC_GRAPH, 1000);
    f.deep_fail_from = 1;   /* every nextLink fails with 400 */
    assert_int_equal(run(&f, &g, 3, T0, T0 + HOUR, &st), SF_OK);
    /* Each restart re-reads the boundary alert with `ge`: nothing is lost,
     * the repeats are the pipeline's dedup's business. */
    assert_string_equal(ids(&g), "a0,a1,a2,a2,a3,a4,a4,a5,a6,a6,a7,a8,a8,a9");
    assert_ascending(&g);
    assert_string_equal(st.msg, "");
    assert_int_equal(st.http_status, 0);
    assert_int_equal(f.calls, 9);
    /* Call 3 restarts at a2's time (T0 + 2 s). */
    sf_buf_init(&want, 4096);
    assert_int_equal(sf_graph_url(&want, "https://graph.test", T0 + 2000, T0 + HOUR, NULL, 3, 0),
                     SF_OK);
    assert_string_equal(f.url[1], want.data);
    sf_buf_free(&want);
}

static void tie_data(struct fake *f)
{
    /* One alert, then five sharing one instant, then a later one: with
     * two per page and no working nextLink the tie cannot be paged. */
    memset(f, 0, sizeof(*f));
    f->src = TSRC_GRAPH;
    f->deep_fail_from = 1;
    add(f, "b0", T0);
    for (int i = 1; i <= 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "t%d", i);
        add(f, id, T0 + 1000);
    }
    add(f, "z9", T0 + 5000);
}

static void test_graph_tie_read_by_skip(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    struct sf_buf want;
    (void)state;

    tie_data(&f);
    assert_int_equal(run(&f, &g, 2, T0, T0 + HOUR, &st), SF_OK);
    /* Restart at t1's instant, stuck again, so that instant alone is read
     * with $skip 0, 2, 4; then on from 1 ms later. */
    assert_string_equal(ids(&g), "b0,t1,t1,t2,t1,t2,t3,t4,t5,z9");
    assert_ascending(&g);
    assert_string_equal(st.msg, "");
    assert_int_equal(f.calls, 8);
    assert_int_equal(f.skip_calls, 4);   /* two nextLinks, $skip=2, $skip=4 */
    sf_buf_init(&want, 4096);
    assert_int_equal(sf_graph_url(&want, "https://graph.test", T0 + 1000, T0 + HOUR, NULL, 2, 0),
                     SF_OK);
    assert_string_equal(f.url[1], want.data);
    sf_buf_free(&want);
}

static void test_graph_tie_skip_refused(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    tie_data(&f);
    f.skip_400_from = 4;
    assert_int_equal(run(&f, &g, 2, T0, T0 + HOUR, &st), SF_OK);
    assert_string_equal(ids(&g), "b0,t1,t1,t2,t1,t2,t3,t4,z9");
    assert_string_equal(st.msg, "tenant contoso: more than 4 alerts share lastUpdateDateTime "
                        "2024-03-01T00:00:01.0000000Z and paging could not reach them all; "
                        "skipped the rest of that instant");
}

static void test_graph_tie_at_window_end(void **state)
{
    struct fake f = { .src = TSRC_GRAPH, .deep_fail_from = 1 };
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof(id), "t%d", i);
        add(&f, id, T0 + 999);
    }
    /* Exactly two pages at one instant: read, nothing skipped, no warning;
     * the instant ends the window, so no further query. */
    assert_int_equal(run(&f, &g, 2, T0 + 999, T0 + 1000, &st), SF_OK);
    assert_string_equal(ids(&g), "t0,t1,t0,t1,t2,t3");
    assert_int_equal(f.calls, 5);
    assert_string_equal(st.msg, "");
}

static void test_graph_first_page_400_is_an_error(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    ten_alerts(&f, TSRC_GRAPH, 1000);
    f.first_400 = 1;
    /* A 400 on a first page is a bad query, not deep paging: no restart. */
    assert_int_equal(run(&f, &g, 3, T0, T0 + HOUR, &st), SF_ERR_HTTP);
    assert_int_equal(st.http_status, 400);
    assert_int_equal(f.calls, 1);
    assert_int_equal(g.pages, 0);
}

static void test_graph_foreign_nextlink(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    ten_alerts(&f, TSRC_GRAPH, 1000);
    f.foreign_next = 1;
    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_ERR_PARSE);
    assert_int_equal(f.calls, 1);
    assert_int_equal(g.n, 4);
    assert_string_equal(st.msg, "tenant contoso: GET /v1.0/security/alerts_v2: "
                        "@odata.nextLink is not a new URL on the API host");
}

/* Regression (issue 10 B1): empty pages whose nextLink never ends kept
 * `run --once` running forever. */
static void test_graph_endless_empty_pages(void **state)
{
    struct fake f = { .src = TSRC_GRAPH, .endless = ENDLESS_EMPTY };
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_ERR_LIMIT);
    assert_int_equal(f.calls, 100);
    assert_int_equal(g.pages, 0);
    assert_string_equal(st.msg, "tenant contoso: GET /v1.0/security/alerts_v2: 100 empty pages "
                        "in a row, each with an @odata.nextLink (paging that does not end); "
                        "window abandoned");
}

/* Regression (issue 10 B1): nextLinks going round A -> B -> A. */
static void test_graph_nextlink_cycle(void **state)
{
    struct fake f = { .src = TSRC_GRAPH, .endless = ENDLESS_CYCLE };
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_ERR_PARSE);
    /* first query -> A (1), A -> B (0), B -> A: seen */
    assert_int_equal(f.calls, 3);
    assert_string_equal(st.msg, "tenant contoso: GET /v1.0/security/alerts_v2: "
                        "@odata.nextLink leads back to a page this window already read "
                        "(a paging loop); window abandoned");
}

/* Regression (issue 10 B1): pages with alerts and ever new links stop at
 * the window's request budget (SF_FETCH_MAX_PAGES, lowered here). */
static void test_graph_page_budget(void **state)
{
    struct fake f = { .src = TSRC_GRAPH, .endless = ENDLESS_FULL, .max_pages = 50 };
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_ERR_LIMIT);
    assert_int_equal(f.calls, 50);
    assert_int_equal(g.pages, 50);
    assert_string_equal(st.msg, "tenant contoso: GET /v1.0/security/alerts_v2: more than 50 "
                        "requests for one window; the API's paging does not end, window "
                        "abandoned");
}

/* Regression (issue 10 B1): stop was only noticed by the page callback,
 * which empty pages never reach; now every page checks it. */
static void test_stop_checked_on_every_page(void **state)
{
    struct fake f = { .src = TSRC_GRAPH, .endless = ENDLESS_EMPTY, .stop_at_call = 5 };
    struct fake m = { .src = TSRC_MDE };
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_ERR_STOPPED);
    assert_int_equal(f.calls, 5);
    assert_int_equal(g.pages, 0);
    assert_string_equal(st.msg, "tenant contoso: stopped (shutdown or reload)");
    /* Set before the window: not one request (MDE splits stop too). */
    atomic_store(&m.stop, 1);
    add(&m, "a", T0 + 1);
    assert_int_equal(run(&m, &g, 4, T0, T0 + HOUR, &st), SF_ERR_STOPPED);
    assert_int_equal(m.calls, 0);
}

static void test_page_callback_error_stops(void **state)
{
    struct fake f;
    struct got g = { .fail_at_page = 2 };
    struct sf_fetch_status st;
    (void)state;

    ten_alerts(&f, TSRC_GRAPH, 1000);
    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_ERR_IO);
    assert_int_equal(f.calls, 2);
    assert_int_equal(g.pages, 2);
}

static void test_page_shapes(void **state)
{
    static const struct { enum tsrc src; const char *body; } bad[] = {
        { TSRC_GRAPH, "[]" },
        { TSRC_GRAPH, "{\"value\": {}}" },
        { TSRC_GRAPH, "{\"values\": []}" },
        { TSRC_GRAPH, "{\"value\": [{\"id\": \"x\"}, 5]}" },
        { TSRC_MDE, "{\"value\": [null]}" },
        { TSRC_SIEM, "{\"value\": []}" },
        { TSRC_SIEM, "[\"x\"]" },
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct fake f = { .src = bad[i].src, .body = bad[i].body };
        struct got g = { 0 };
        struct sf_fetch_status st;
        if (run(&f, &g, 4, T0, T0 + HOUR, &st) != SF_ERR_PARSE)
            fail_msg("accepted %s", bad[i].body);
        assert_int_equal(g.pages, 0);
        assert_non_null(strstr(st.msg, "tenant contoso: GET /"));
    }
    /* An empty page is fine and delivers nothing. */
    struct fake f = { .src = TSRC_GRAPH, .body = "{\"value\": []}" };
    struct got g = { 0 };
    struct sf_fetch_status st;
    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_OK);
    assert_int_equal(g.pages, 0);
}

/* ------------------------------------------------------------ MDE */

static void test_mde_split_full_pages(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    ten_alerts(&f, TSRC_MDE, 6 * 60000);   /* one every 6 minutes */
    assert_int_equal(run(&f, &g, 4, T0, T0 + HOUR, &st), SF_OK);
    /* Each alert exactly once, oldest first, though the fake answers newest first. */
    assert_string_equal(ids(&g), "a0,a1,a2,a3,a4,a5,a6,a7,a8,a9");
    assert_ascending(&g);
    assert_string_equal(st.msg, "");
    /* [0,60) full; [0,30) 5 full; [0,15) 3; [15,30) 2; [30,60) 5 full;
     * [30,45) 3; [45,60) 2: seven calls. */
    assert_int_equal(f.calls, 7);
    assert_int_equal(g.pages, 4);
    assert_string_equal(f.first_url, "https://mde.test/api/alerts?$filter=lastUpdateTime%20ge%20"
                        "2024-03-01T00%3A00%3A00.0000000Z%20and%20lastUpdateTime%20lt%20"
                        "2024-03-01T01%3A00%3A00.0000000Z&$expand=evidence&$top=4");
    assert_string_equal(f.url[0], "https://mde.test/api/alerts?$filter=lastUpdateTime%20ge%20"
                        "2024-03-01T00%3A00%3A00.0000000Z%20and%20lastUpdateTime%20lt%20"
                        "2024-03-01T00%3A30%3A00.0000000Z&$expand=evidence&$top=4");
}

static void test_mde_full_one_ms_window(void **state)
{
    struct fake f = { .src = TSRC_MDE };
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    add(&f, "early", T0 + 10);
    for (int i = 0; i < 9; i++) {
        char id[8];
        snprintf(id, sizeof(id), "t%d", i);
        add(&f, id, T0 + 20);
    }
    add(&f, "late", T0 + 30);
    assert_int_equal(run(&f, &g, 4, T0, T0 + 64, &st), SF_OK);
    /* Nine alerts in one millisecond, four a page: $skip pages 0, 4, 8. */
    assert_int_equal(g.n, 11);
    assert_string_equal(g.id[0], "early");
    assert_string_equal(g.id[10], "late");
    assert_ascending(&g);
    assert_int_equal(f.skip_calls, 2);
    assert_string_equal(st.msg, "");
}

static void test_mde_skip_pages_bounded(void **state)
{
    struct fake f = { .src = TSRC_MDE };
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    for (int i = 0; i < 101; i++)
        add(&f, "same", T0 + 5);
    /* One a page: 100 pages through $skip, then give up and say so. */
    assert_int_equal(run(&f, &g, 1, T0 + 5, T0 + 6, &st), SF_ERR_LIMIT);
    assert_int_equal(g.n, 100);
    assert_int_equal(f.calls, 100);
    assert_int_equal(f.skip_calls, 99);
    assert_string_equal(st.msg, "tenant contoso: more than 100 alerts have lastUpdateTime in "
                        "the 1 ms at 2024-03-01T00:00:00.0050000Z; raise page_size (max 10000)");
}

static void test_mde_split_depth_bound(void **state)
{
    struct fake f = { .src = TSRC_MDE };
    struct got g = { 0 };
    struct sf_fetch_status st;
    struct sf_fetch_tenant t = { .name = "contoso", .tenant_id = "tid", .client_id = "cid",
                                 .source = tsrc_name[TSRC_MDE], .page_size = 2 };
    struct sf_fetch_ctx fx;
    (void)state;

    for (int i = 0; i < 8; i++)
        add(&f, "x", T0 + i * 1000);
    assert_int_equal(sf_fetch_ctx_init(&fx, NULL, &t, &st), SF_OK);
    assert_string_equal(fx.api_base, "https://api.securitycenter.microsoft.com");
    fx.get_json = fake_get;
    fx.test = &f;
    fx.on_page = collect;
    fx.opaque = &g;
    g.src = TSRC_MDE;
    fx.max_split_depth = 1;
    assert_int_equal(fx.type->window(&fx, T0, T0 + 8000), SF_ERR_LIMIT);
    assert_int_equal(f.calls, 2);   /* whole window, then its first half */
    assert_int_equal(g.n, 0);
}

/* ------------------------------------------------------------ SIEM */

static void test_siem_window_filter(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    ten_alerts(&f, TSRC_SIEM, 1000);
    /* The fake includes untilTimeUtc; [T0+2s, T0+6s) must drop a6. */
    assert_int_equal(run(&f, &g, 0, T0 + 2000, T0 + 6000, &st), SF_OK);
    assert_string_equal(ids(&g), "a2,a3,a4,a5");
    assert_int_equal(f.calls, 1);
    assert_string_equal(f.first_url, "https://siem.test/api/alerts?sinceTimeUtc="
                        "2024-03-01T00%3A00%3A02.0000000Z&untilTimeUtc="
                        "2024-03-01T00%3A00%3A06.0000000Z");
}

static void test_siem_split_when_too_large(void **state)
{
    struct fake f;
    struct got g = { 0 };
    struct sf_fetch_status st;
    (void)state;

    ten_alerts(&f, TSRC_SIEM, 1000);
    f.limit_over = 3;
    assert_int_equal(run(&f, &g, 0, T0, T0 + 10000, &st), SF_OK);
    assert_string_equal(ids(&g), "a0,a1,a2,a3,a4,a5,a6,a7,a8,a9");
    assert_string_equal(st.msg, "");
    assert_true(f.calls > 4);
}

static void test_window_arguments(void **state)
{
    struct sf_fetch_tenant t = { .name = "contoso", .tenant_id = "tid", .client_id = "cid",
                                 .source = tsrc_name[TSRC_GRAPH] };
    struct sf_fetch_status st;
    struct got g = { 0 };
    (void)state;

    assert_int_equal(sf_fetch_window(NULL, &t, T0 + 1, T0, collect, &g, &st), SF_ERR_INVALID);
    assert_int_equal(sf_fetch_window(NULL, &t, T0, T0, collect, &g, &st), SF_OK);
    t.source = tsrc_name[TSRC_SIEM];   /* regional: no default host */
    assert_int_equal(sf_fetch_window(NULL, &t, T0, T0 + 1, collect, &g, &st), SF_ERR_CONFIG);
    assert_string_equal(st.msg, "tenant contoso: source siem needs api_base");
    t.source = tsrc_name[TSRC_GRAPH];
    t.client_id = NULL;
    assert_int_equal(sf_fetch_window(NULL, &t, T0, T0 + 1, collect, &g, &st), SF_ERR_CONFIG);
    assert_int_equal(g.pages, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_nextlink),
        cmocka_unit_test(test_graph_deep_paging_fallback),
        cmocka_unit_test(test_graph_tie_read_by_skip),
        cmocka_unit_test(test_graph_tie_skip_refused),
        cmocka_unit_test(test_graph_tie_at_window_end),
        cmocka_unit_test(test_graph_first_page_400_is_an_error),
        cmocka_unit_test(test_graph_foreign_nextlink),
        cmocka_unit_test(test_graph_endless_empty_pages),
        cmocka_unit_test(test_graph_nextlink_cycle),
        cmocka_unit_test(test_graph_page_budget),
        cmocka_unit_test(test_stop_checked_on_every_page),
        cmocka_unit_test(test_page_callback_error_stops),
        cmocka_unit_test(test_page_shapes),
        cmocka_unit_test(test_mde_split_full_pages),
        cmocka_unit_test(test_mde_full_one_ms_window),
        cmocka_unit_test(test_mde_skip_pages_bounded),
        cmocka_unit_test(test_mde_split_depth_bound),
        cmocka_unit_test(test_siem_window_filter),
        cmocka_unit_test(test_siem_split_when_too_large),
        cmocka_unit_test(test_window_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
