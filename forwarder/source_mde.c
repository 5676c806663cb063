/* source_mde.c - MDE /api/alerts (defender-api.md 2.2, 4.4 step 3): filter on
 * lastUpdateTime with $expand=evidence; there is no nextLink with $top, so a
 * full page (or an oversized body) bisects the window and re-reads it, down
 * to 1 ms windows, which are paged with $skip.
 * It does not dedup; pages are delivered oldest window first, sorted. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "source.h"

#define MDE_DEFAULT_BASE "https://api.securitycenter.microsoft.com"
#define MDE_MAX_TOP 10000
#define MDE_MAX_SKIP_PAGES 100   /* per 1 ms window */

/* The WindowsDefenderATP audience serves every commercial regional host
 * (1.2); US Government hosts are their own audience [CODE]. */
static void mde_audience(const char *api_base, char *buf, size_t n)
{
    static const char gov[] = ".microsoft.us";
    size_t olen = sf_fetch_origin_len(api_base);

    if (olen > sizeof(gov) - 1 &&
        strncasecmp(api_base + olen - (sizeof(gov) - 1), gov, sizeof(gov) - 1) == 0)
        snprintf(buf, n, "%.*s", (int)olen, api_base);
    else
        snprintf(buf, n, "%s", MDE_DEFAULT_BASE);
}

sf_err sf_mde_url(struct sf_buf *b, const char *api_base, int64_t from_ms,
                  int64_t until_ms, int top, int skip)
{
    /* evidence is empty unless expanded (gotcha 6). */
    return sf_fetch_window_url(b, api_base, "/api/alerts", "lastUpdateTime", from_ms,
                               until_ms, NULL, "&$expand=evidence", top, skip);
}

static int mde_key(json_object *alert, const char **id, int64_t *ms)
{
    return sf_fetch_alert_key(alert, "id", "lastUpdateTime", id, ms);
}

/* MDE /api/alerts schema (defender-api.md 3.2): one machine per alert;
 * the portal link is built from the id (the API has none). */
static void mde_view(json_object *alert, const struct sf_fetch_tenant *t,
                     struct sf_alert_view *v)
{
    (void)t;
    if (!v->tenant_id)
        v->tenant_id = sf_view_str(alert, "aadTenantId");
    v->id = sf_view_str(alert, "id");
    v->last_update = sf_view_time(alert, "lastUpdateTime", &v->last_update_ms);
    v->created = sf_view_time(alert, "alertCreationTime", NULL);
    v->severity = sf_view_str(alert, "severity");
    v->status = sf_view_str(alert, "status");
    v->category = sf_view_str(alert, "category");
    v->title = sf_view_str(alert, "title");
    v->description = sf_view_str(alert, "description");
    v->detection_source = sf_view_str(alert, "detectionSource");
    sf_view_device(v, sf_view_str(alert, "computerDnsName"));
    sf_view_finish(v, NULL, v->id);
}

static sf_err mde_probe_url(struct sf_fetch_ctx *fx, struct sf_buf *url)
{
    return sf_fetch_url_base(url, fx->api_base, "/api/alerts?$top=1");
}

/* One page of [from, until) at offset skip: *full when it held top alerts
 * (then nothing was delivered unless deliver_full). */
static sf_err mde_page(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms, int top,
                       int skip, int deliver_full, int *full)
{
    struct sf_buf url;
    json_object *page = NULL, *alerts;
    sf_err err;

    sf_buf_init(&url, 16 * 1024);
    err = sf_mde_url(&url, fx->api_base, from_ms, until_ms, top, skip);
    if (!err)
        err = sf_fetch_get_page(fx, url.data, &page);
    if (!err)
        err = sf_fetch_page_alerts(fx, page, url.data, &alerts);
    if (err)
        goto out;
    *full = json_object_array_length(alerts) >= (size_t)top;
    if (*full && !deliver_full)
        goto out;
    sf_fetch_sort(fx, alerts);
    err = sf_fetch_deliver(fx, alerts);
out:
    sf_fetch_put_page(fx, page);
    sf_buf_free(&url);
    return err;
}

/* A 1 ms window cannot be split: page through it with $skip (get-alerts.md
 * documents $skip). All its alerts share one millisecond, so time order
 * holds whatever order the pages come in. */
static sf_err mde_skip_pages(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms,
                             int top)
{
    char when[40];
    int full = 1;
    sf_err err = SF_OK;

    for (int n = 0; n < MDE_MAX_SKIP_PAGES && full && !err; n++)
        err = mde_page(fx, from_ms, until_ms, top, n * top, 1, &full);
    if (!err && full) {
        sf_fetch_format_time(from_ms, when, sizeof(when));
        sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: more than %d alerts have "
                "lastUpdateTime in the 1 ms at %s; raise page_size (max %d)", fx->t->name,
                MDE_MAX_SKIP_PAGES * top, when, MDE_MAX_TOP);
        err = SF_ERR_LIMIT;
    }
    return err;
}

static sf_err mde_range(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms)
{
    int top = fx->page_size < MDE_MAX_TOP ? fx->page_size : MDE_MAX_TOP;
    int full = 0;
    sf_err err;

    if (until_ms - from_ms <= 1)
        return mde_skip_pages(fx, from_ms, until_ms, top);
    err = mde_page(fx, from_ms, until_ms, top, 0, 0, &full);
    if (!err && full) {
        /* Possibly truncated (no nextLink with $top): the caller bisects. */
        sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: a full page of %d alerts",
                fx->t->name, top);
        err = SF_ERR_LIMIT;
    }
    return err;
}

static sf_err mde_window(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms)
{
    return sf_fetch_bisect(fx, from_ms, until_ms, 0, mde_range);
}

const struct sf_source_type sf_source_mde = {
    .name = "mde",
    .default_api_base = MDE_DEFAULT_BASE,
    .default_page_size = MDE_MAX_TOP,
    .takes_filter = 0,
    .permission = "Alert.Read.All (WindowsDefenderATP, application)",
    .token_v1 = 0,
    .bare_array = 0,
    .extra_header = NULL,
    .audience = mde_audience,
    .window = mde_window,
    .probe_url = mde_probe_url,
    .key = mde_key,
    .view = mde_view,
};
