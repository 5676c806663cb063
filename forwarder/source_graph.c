/* source_graph.c - Microsoft Graph security alerts_v2 (defender-api.md 2.3,
 * 4.3, 4.4): filter on lastUpdateDateTime, nextLink paging, and a fallback
 * to time-boundary paging when deep nextLink paging fails with HTTP 400
 * (and $skip paging of one instant when a whole page shares it).
 * It does not dedup: restarting with `ge` re-reads ties on purpose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "source.h"

#define GRAPH_DEFAULT_BASE "https://graph.microsoft.com"
#define GRAPH_MAX_SKIP_PAGES 100   /* per 1 ms instant */
#define GRAPH_MAX_EMPTY_RUN 100    /* empty pages in a row that still have a nextLink */

/* Hosts whose origin is itself the token audience (1.2); anything else
 * (emulators, proxies) is taken as the commercial cloud. */
static const char *const graph_hosts[] = {
    "https://graph.microsoft.com", "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us", "https://microsoftgraph.chinacloudapi.cn",
};

static void graph_audience(const char *api_base, char *buf, size_t n)
{
    size_t olen = sf_fetch_origin_len(api_base);

    for (size_t i = 0; i < sizeof(graph_hosts) / sizeof(graph_hosts[0]); i++) {
        if (olen == strlen(graph_hosts[i]) && strncasecmp(api_base, graph_hosts[i], olen) == 0) {
            snprintf(buf, n, "%s", graph_hosts[i]);
            return;
        }
    }
    snprintf(buf, n, "%s", GRAPH_DEFAULT_BASE);
}

sf_err sf_graph_url(struct sf_buf *b, const char *api_base, int64_t from_ms,
                    int64_t until_ms, const char *filter, int top, int skip)
{
    /* Ascending order is what makes time-boundary paging lossless. */
    return sf_fetch_window_url(b, api_base, "/v1.0/security/alerts_v2", "lastUpdateDateTime",
                               from_ms, until_ms, filter,
                               "&$orderby=lastUpdateDateTime%20asc", top, skip);
}

static int graph_key(json_object *alert, const char **id, int64_t *ms)
{
    return sf_fetch_alert_key(alert, "id", "lastUpdateDateTime", id, ms);
}

/* Host names of the deviceEvidence items (deviceDnsName, else hostName). */
static void graph_devices(json_object *alert, struct sf_alert_view *v)
{
    static const char dev[] = "deviceEvidence";
    json_object *ev;

    if (!json_object_object_get_ex(alert, "evidence", &ev) || !json_object_is_type(ev, json_type_array))
        return;
    for (size_t i = 0, n = json_object_array_length(ev); i < n; i++) {
        json_object *e = json_object_array_get_idx(ev, i);
        const char *type = sf_view_str(e, "@odata.type"), *name;
        size_t tl = type ? strlen(type) : 0;
        if (tl < sizeof(dev) - 1 || strcmp(type + tl - (sizeof(dev) - 1), dev) != 0)
            continue;
        name = sf_view_str(e, "deviceDnsName");
        sf_view_device(v, name ? name : sf_view_str(e, "hostName"));
    }
}

/* alerts_v2 schema (defender-api.md 3.3). */
static void graph_view(json_object *alert, const struct sf_fetch_tenant *t,
                       struct sf_alert_view *v)
{
    (void)t;
    if (!v->tenant_id)
        v->tenant_id = sf_view_str(alert, "tenantId");
    v->id = sf_view_str(alert, "id");
    v->last_update = sf_view_time(alert, "lastUpdateDateTime", &v->last_update_ms);
    v->created = sf_view_time(alert, "createdDateTime", NULL);
    v->severity = sf_view_str(alert, "severity");
    v->status = sf_view_str(alert, "status");
    v->category = sf_view_str(alert, "category");
    v->title = sf_view_str(alert, "title");
    v->description = sf_view_str(alert, "description");
    v->service_source = sf_view_str(alert, "serviceSource");
    v->detection_source = sf_view_str(alert, "detectionSource");
    graph_devices(alert, v);
    sf_view_finish(v, sf_view_str(alert, "alertWebUrl"), v->id);
}

static sf_err graph_probe_url(struct sf_fetch_ctx *fx, struct sf_buf *url)
{
    return sf_fetch_url_base(url, fx->api_base, "/v1.0/security/alerts_v2?$top=1");
}

/* The next link to follow, or NULL at the end. It must stay on the API's
 * origin: the bearer token goes wherever it points. */
static sf_err next_link(struct sf_fetch_ctx *fx, json_object *page, const char *url,
                        const char **next)
{
    json_object *v;
    const char *s;
    size_t olen = sf_fetch_origin_len(fx->api_base);
    char path[256];

    *next = NULL;
    if (!json_object_object_get_ex(page, "@odata.nextLink", &v) || json_object_is_type(v, json_type_null))
        return SF_OK;
    s = json_object_get_string(v);
    if (json_object_is_type(v, json_type_string) && olen && strncasecmp(s, fx->api_base, olen) == 0 &&
        (s[olen] == '/' || s[olen] == '?') && strcmp(s, url) != 0) {
        *next = s;
        return SF_OK;
    }
    sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: GET %s: @odata.nextLink is not a new "
            "URL on the API host", fx->t->name, sf_fetch_url_path(url, path, sizeof(path)));
    return SF_ERR_PARSE;
}

struct graph_walk {
    int64_t from;        /* start of the current query */
    int64_t until;
    int64_t max_seen;    /* largest lastUpdateDateTime delivered */
    int deep;            /* the current URL is a nextLink */
    int empty_run;       /* empty pages in a row */
    uint64_t *seen;      /* hashes of the URLs this window read (owned) */
    size_t nseen, cap;
    char warn[300];      /* set when alerts at one instant were skipped */
};

static uint64_t url_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a 64 */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* Note a URL about to be read. A nextLink leading back to one (A -> B -> A)
 * would page forever: SF_ERR_PARSE. Bounded by SF_FETCH_MAX_PAGES. */
static sf_err remember(struct sf_fetch_ctx *fx, struct graph_walk *w, const char *from,
                       const char *url)
{
    uint64_t h = url_hash(url), *grown;
    char path[256];

    for (size_t i = 0; i < w->nseen; i++) {
        if (w->seen[i] != h)
            continue;
        sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: GET %s: @odata.nextLink leads "
                "back to a page this window already read (a paging loop); window abandoned",
                fx->t->name, sf_fetch_url_path(from, path, sizeof(path)));
        return SF_ERR_PARSE;
    }
    if (w->nseen == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        if (!(grown = realloc(w->seen, cap * sizeof(*grown))))
            return SF_ERR_NOMEM;
        w->seen = grown;
        w->cap = cap;
    }
    w->seen[w->nseen++] = h;
    return SF_OK;
}

/* Follow next from url: a loop, or a long run of empty pages that keep
 * pointing further, is a server that would never let the window end. */
static sf_err follow(struct sf_fetch_ctx *fx, struct graph_walk *w, const char *url,
                     size_t count, const char *next)
{
    char path[256];

    w->empty_run = count ? 0 : w->empty_run + 1;
    if (w->empty_run >= GRAPH_MAX_EMPTY_RUN) {
        sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: GET %s: %d empty pages in a "
                "row, each with an @odata.nextLink (paging that does not end); window "
                "abandoned", fx->t->name, sf_fetch_url_path(url, path, sizeof(path)),
                w->empty_run);
        return SF_ERR_LIMIT;
    }
    return remember(fx, w, url, next);
}

static void note_times(json_object *alerts, struct graph_walk *w)
{
    for (size_t i = 0, n = json_object_array_length(alerts); i < n; i++) {
        const char *id;
        int64_t ms;
        if (graph_key(json_object_array_get_idx(alerts, i), &id, &ms) == 0 && ms > w->max_seen)
            w->max_seen = ms;
    }
}

/* GET one URL and deliver its alerts; *page is the parsed body (owned). */
static sf_err read_page(struct sf_fetch_ctx *fx, struct graph_walk *w, const char *url,
                        json_object **page, size_t *count)
{
    json_object *alerts;
    sf_err err;

    sf_fetch_put_page(fx, *page);
    *page = NULL;
    err = sf_fetch_get_page(fx, url, page);
    if (!err)
        err = sf_fetch_page_alerts(fx, *page, url, &alerts);
    if (err)
        return err;
    note_times(alerts, w);
    *count = json_object_array_length(alerts);
    return sf_fetch_deliver(fx, alerts);
}

/* Every alert of the 1 ms instant at w->from, by $skip pages of one small
 * query (documented for alerts_v2) from the start of the instant. If the
 * service refuses a $skip (400) or the instant holds more than
 * GRAPH_MAX_SKIP_PAGES pages, the rest of the instant is skipped and
 * w->warn says so: stopping for good would stall the tenant forever. */
static sf_err read_instant(struct sf_fetch_ctx *fx, struct graph_walk *w)
{
    int64_t end = w->from + 1 < w->until ? w->from + 1 : w->until;
    int top = fx->page_size;
    struct sf_buf url;
    json_object *page = NULL;
    size_t count = (size_t)top;
    char when[40];
    sf_err err = SF_OK;
    int k;

    sf_buf_init(&url, 64 * 1024);
    for (k = 0; k < GRAPH_MAX_SKIP_PAGES && count >= (size_t)top; k++) {
        sf_buf_reset(&url);
        err = sf_graph_url(&url, fx->api_base, w->from, end, fx->t->filter, top, k * top);
        if (!err)
            err = read_page(fx, w, url.data, &page, &count);
        if (err == SF_ERR_HTTP && k > 0 && fx->st->http_status == 400)
            break;
        if (err)
            goto out;
    }
    if (err || count >= (size_t)top) {
        err = SF_OK;
        sf_fetch_format_time(w->from, when, sizeof(when));
        snprintf(w->warn, sizeof(w->warn), "tenant %s: more than %d alerts share "
                 "lastUpdateDateTime %s and paging could not reach them all; skipped the "
                 "rest of that instant", fx->t->name, k * top, when);
    }
    w->from = end;
out:
    sf_fetch_put_page(fx, page);
    sf_buf_free(&url);
    return err;
}

/* A nextLink failed with 400 (deep paging limit, elastic/integrations
 * #20234): restart the query at the largest lastUpdateDateTime delivered,
 * with `ge` so ties at that instant are re-read (the pipeline dedups).
 * If nothing newer than the query's start was delivered, a full page of
 * alerts shares that one instant and the same failure would repeat
 * forever: read that instant alone with $skip, then go on after it. */
static sf_err restart_at_boundary(struct sf_fetch_ctx *fx, struct graph_walk *w)
{
    sf_err err = SF_OK;

    fx->st->http_status = 0;
    fx->st->msg[0] = '\0';
    w->deep = 0;
    if (w->max_seen > w->from)
        w->from = w->max_seen;
    else
        err = read_instant(fx, w);
    return err;
}

static sf_err graph_window(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms)
{
    struct graph_walk w = { .from = from_ms, .until = until_ms, .max_seen = INT64_MIN };
    struct sf_buf url;
    json_object *page = NULL;
    const char *next;
    size_t count;
    sf_err err;

    sf_buf_init(&url, 64 * 1024);
    err = sf_graph_url(&url, fx->api_base, w.from, until_ms, fx->t->filter, fx->page_size, 0);
    if (!err)
        err = remember(fx, &w, url.data, url.data);
    while (!err) {
        err = read_page(fx, &w, url.data, &page, &count);
        if (err == SF_ERR_HTTP && w.deep && fx->st->http_status == 400) {
            err = restart_at_boundary(fx, &w);
            if (err || w.from >= until_ms)
                break;
            sf_buf_reset(&url);
            err = sf_graph_url(&url, fx->api_base, w.from, until_ms, fx->t->filter,
                               fx->page_size, 0);
            if (!err)
                err = remember(fx, &w, url.data, url.data);
            continue;
        }
        if (!err)
            err = next_link(fx, page, url.data, &next);
        if (!err && next)
            err = follow(fx, &w, url.data, count, next);
        if (err || !next)
            break;
        sf_buf_reset(&url);
        err = sf_buf_adds(&url, next);   /* followed verbatim (paging.md) */
        w.deep = 1;
    }
    sf_fetch_put_page(fx, page);
    sf_buf_free(&url);
    free(w.seen);
    if (!err && w.warn[0])
        snprintf(fx->st->msg, sizeof(fx->st->msg), "%s", w.warn);
    return err;
}

const struct sf_source_type sf_source_graph = {
    .name = "graph",
    .default_api_base = GRAPH_DEFAULT_BASE,
    .default_page_size = 500,           /* defender-api.md 4.4 */
    .takes_filter = 1,
    .permission = "SecurityAlert.Read.All (Microsoft Graph, application)",
    .token_v1 = 0,
    .bare_array = 0,
    .extra_header = "Prefer: include-unknown-enum-members",
    .audience = graph_audience,
    .window = graph_window,
    .probe_url = graph_probe_url,
    .key = graph_key,
    .view = graph_view,
};
