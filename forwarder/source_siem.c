/* source_siem.c - the legacy SIEM API (defender-api.md 2.1): a bare JSON
 * array of detections for sinceTimeUtc..untilTimeUtc on LastProcessedTimeUtc,
 * v1 token for https://graph.windows.net. No paging exists: one response per
 * window, bisected when the body is too large; never `limit` (keeps newest N). */
#include <stdio.h>
#include <string.h>

#include "source.h"

static void siem_audience(const char *api_base, char *buf, size_t n)
{
    /* The SIEM API asks for an Azure AD Graph token (1.2, gotcha 1). */
    snprintf(buf, n, "%s", "https://graph.windows.net");
}

sf_err sf_siem_url(struct sf_buf *b, const char *api_base, int64_t from_ms,
                   int64_t until_ms)
{
    char from[40], until[40];
    sf_err err;

    if (sf_fetch_format_time(from_ms, from, sizeof(from)) ||
        sf_fetch_format_time(until_ms, until, sizeof(until)))
        return SF_ERR_RANGE;
    err = sf_fetch_url_base(b, api_base, "/api/alerts?sinceTimeUtc=");
    if (!err)
        err = sf_http_urlencode(b, from);
    if (!err)
        err = sf_buf_adds(b, "&untilTimeUtc=");
    if (!err)
        err = sf_http_urlencode(b, until);
    return err;
}

static int siem_key(json_object *alert, const char **id, int64_t *ms)
{
    /* FullId = AlertId:IocUniqueId is the detection's own id (3.1). */
    if (sf_fetch_alert_key(alert, "FullId", "LastProcessedTimeUtc", id, ms) == 0)
        return 0;
    return sf_fetch_alert_key(alert, "AlertId", "LastProcessedTimeUtc", id, ms);
}

/* SIEM API detection schema (defender-api.md 3.1). The id is the
 * dedup key's (FullId, else AlertId); the portal knows the AlertId. No
 * status: the API exports new detections only. */
static void siem_view(json_object *alert, const struct sf_fetch_tenant *t,
                      struct sf_alert_view *v)
{
    const char *alert_id = sf_view_str(alert, "AlertId"), *host;

    (void)t;
    v->id = sf_view_str(alert, "FullId");
    if (!v->id)
        v->id = alert_id;
    v->last_update = sf_view_time(alert, "LastProcessedTimeUtc", &v->last_update_ms);
    v->created = sf_view_time(alert, "AlertTime", NULL);
    v->severity = sf_view_str(alert, "Severity");
    v->category = sf_view_str(alert, "Category");
    v->title = sf_view_str(alert, "AlertTitle");
    v->description = sf_view_str(alert, "Description");
    v->detection_source = sf_view_str(alert, "Source");
    host = sf_view_str(alert, "ComputerDnsName");
    sf_view_device(v, host ? host : sf_view_str(alert, "MachineName"));
    sf_view_finish(v, sf_view_str(alert, "LinkToMTP"), alert_id);
}

static sf_err siem_probe_url(struct sf_fetch_ctx *fx, struct sf_buf *url)
{
    /* Default window is the last 2 hours; limit=1 keeps the probe small. */
    return sf_fetch_url_base(url, fx->api_base, "/api/alerts?limit=1");
}

/* Whether the bounds are inclusive is not documented: keep [from, until)
 * here. Records without a usable key stay, for the pipeline to report. */
static sf_err in_window(json_object *all, int64_t from_ms, int64_t until_ms,
                        json_object **out)
{
    json_object *keep = json_object_new_array();

    if (!keep)
        return SF_ERR_NOMEM;
    for (size_t i = 0, n = json_object_array_length(all); i < n; i++) {
        json_object *a = json_object_array_get_idx(all, i);
        const char *id;
        int64_t ms;
        if (siem_key(a, &id, &ms) == 0 && (ms < from_ms || ms >= until_ms))
            continue;
        if (json_object_array_add(keep, json_object_get(a)) != 0) {
            json_object_put(a);
            json_object_put(keep);
            return SF_ERR_NOMEM;
        }
    }
    *out = keep;
    return SF_OK;
}

static sf_err siem_range(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms)
{
    struct sf_buf url;
    json_object *page = NULL, *alerts, *keep = NULL;
    sf_err err;

    sf_buf_init(&url, 16 * 1024);
    err = sf_siem_url(&url, fx->api_base, from_ms, until_ms);
    if (!err)
        err = sf_fetch_get_page(fx, url.data, &page);
    if (!err)
        err = sf_fetch_page_alerts(fx, page, url.data, &alerts);
    if (!err)
        err = in_window(alerts, from_ms, until_ms, &keep);
    if (err)
        goto out;
    sf_fetch_sort(fx, keep);
    err = sf_fetch_deliver(fx, keep);
out:
    json_object_put(keep);
    sf_fetch_put_page(fx, page);
    sf_buf_free(&url);
    return err;
}

static sf_err siem_window(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms)
{
    return sf_fetch_bisect(fx, from_ms, until_ms, 0, siem_range);
}

const struct sf_source_type sf_source_siem = {
    .name = "siem",
    /* Regional, and the region is the customer's: no host is right for all */
    .default_api_base = NULL,
    .api_base_hint = "the customer's regional exporter, https://wdatp-alertexporter-eu."
                     "windows.com (or -us, -uk; defender-api.md 2.1)",
    .default_page_size = 0,             /* no paging */
    .takes_filter = 0,
    .permission = "the SIEM API authorization in the customer's Defender portal "
                  "(Settings > Endpoints > APIs > SIEM > MSSP)",
    .token_v1 = 1,
    .bare_array = 1,
    .extra_header = NULL,
    .audience = siem_audience,
    .window = siem_window,
    .probe_url = siem_probe_url,
    .key = siem_key,
    .view = siem_view,
};
