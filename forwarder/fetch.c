/* fetch.c - the fetch stage's public entry points (sf_fetch.h): clients,
 * authenticated GETs with one token renewal on 401, bounded 5xx retries,
 * status classification, page checks, alert keys, consent URL.
 * Which source a tenant reads is looked up by name (sources.c).
 * Per-API URL building and paging live in source_*.c; tokens in auth.c. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sf_log.h"
#include "sf_time.h"
#include "source.h"

#define SEND_TRIES 3
#define BACKOFF_BASE_MS 300
#define BACKOFF_CAP_MS 1000
#define DEFAULT_THROTTLE_MS 60000
#define MAX_SPLIT_DEPTH 48     /* 2^48 ms is ~8900 years: every window fits */
#define SLEEP_SLICE_MS 50      /* backoff sleeps watch the abort flag this often */

sf_err sf_api_client_new(const struct sf_fetch_opts *o, struct sf_token_cache *tc,
                         struct sf_api_client **out)
{
    struct sf_api_client *c = calloc(1, sizeof(*c));
    struct sf_http_opts ho = { .tls = o->tls, .timeout_ms = o->timeout_ms,
                               .max_response = o->max_response,
                               .abort_flag = o->abort_flag };
    char ua[160];
    sf_err err = SF_ERR_NOMEM;

    *out = NULL;
    if (!c)
        goto out;
    if (sf_http_user_agent(o->organization, SIEMFWD_VERSION, ua, sizeof(ua)) < 0)
        sf_http_user_agent(NULL, SIEMFWD_VERSION, ua, sizeof(ua));
    ho.user_agent = ua;
    err = sf_http_new(&ho, &c->http, NULL, 0);
    if (err)
        goto out;
    sf_http_resp_init(&c->resp);
    c->tc = tc;
    c->timeout_ms = o->timeout_ms;
    c->abort_flag = o->abort_flag;
    c->page_gate = o->page_gate;
    c->max_retry_after_ms = o->max_retry_after_ms > 0 ? o->max_retry_after_ms
                                                      : SF_FETCH_MAX_RETRY_AFTER_MS;
    c->seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)c;
    *out = c;
    c = NULL;   /* handed to the caller */
out:
    sf_api_client_free(c);
    return err;
}

void sf_api_client_free(struct sf_api_client *c)
{
    if (!c)
        return;
    sf_http_free(c->http);
    sf_http_resp_free(&c->resp);
    free(c);
}

sf_err sf_fetch_url_base(struct sf_buf *b, const char *api_base, const char *path)
{
    size_t len = strlen(api_base);
    sf_err err;

    while (len && api_base[len - 1] == '/')
        len--;
    err = sf_buf_add(b, api_base, len);
    return err ? err : sf_buf_adds(b, path);
}

size_t sf_fetch_origin_len(const char *url)
{
    const char *p = strstr(url, "://");

    if (!p || p == url)
        return 0;
    p += 3;
    return (size_t)(p - url) + strcspn(p, "/?#");
}

const char *sf_fetch_url_path(const char *url, char *buf, size_t n)
{
    const char *p = strstr(url, "://");

    p = p ? strchr(p + 3, '/') : url;
    if (!p)
        p = "/";
    snprintf(buf, n, "%.*s", (int)strcspn(p, "?"), p);
    return buf;
}

int sf_fetch_stopped(const _Atomic int *abort_flag, const struct sf_fetch_tenant *t,
                     struct sf_fetch_status *st)
{
    if (!abort_flag || atomic_load(abort_flag) == 0)
        return 0;
    sf_errf(st->msg, sizeof(st->msg), "tenant %s: stopped (shutdown or reload)", t->name);
    return 1;
}

/* Sleep ms in slices; 1 as soon as the abort flag is set. */
static int sleep_unless_stopped(const _Atomic int *abort_flag, long ms)
{
    struct timespec ts;

    while (ms > 0) {
        long slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
        if (abort_flag && atomic_load(abort_flag))
            return 1;
        ts.tv_sec = slice / 1000;
        ts.tv_nsec = (slice % 1000) * 1000000L;
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return abort_flag && atomic_load(abort_flag);
}

static int backoff(struct sf_api_client *c, int attempt)
{
    long base = BACKOFF_BASE_MS << attempt;
    long ms;

    if (base > BACKOFF_CAP_MS)
        base = BACKOFF_CAP_MS;
    ms = base / 2 + rand_r(&c->seed) % (base / 2 + 1);   /* "equal jitter" */
    return sleep_unless_stopped(c->abort_flag, ms);
}

sf_err sf_fetch_send(struct sf_api_client *c, const struct sf_http_req *rq,
                     const struct sf_fetch_tenant *t, struct sf_fetch_status *st)
{
    char why[300];
    sf_err err = SF_OK;

    /* Two more tries for 5xx, timeouts and network errors; backoff sleeps
     * total at most 150+300 .. 300+600 ms, well under 2 s. */
    for (int attempt = 0; attempt < SEND_TRIES; attempt++) {
        if ((attempt && backoff(c, attempt - 1)) || sf_fetch_stopped(c->abort_flag, t, st))
            return SF_ERR_STOPPED;
        why[0] = '\0';
        err = sf_http_do(c->http, rq, &c->resp, why, sizeof(why));
        st->http_status = c->resp.status;
        if (err == SF_OK && c->resp.status < 500)
            return SF_OK;
        if (err != SF_OK && err != SF_ERR_TIMEOUT && err != SF_ERR_NETWORK)
            break;
    }
    if (err == SF_OK)
        return SF_OK;   /* a 5xx after all tries: the caller classifies it */
    sf_errf(st->msg, sizeof(st->msg), "tenant %s: %s %s", t->name, rq->method, why);
    return err;
}

void sf_fetch_cap_retry_after(const struct sf_api_client *c, const struct sf_fetch_tenant *t,
                              struct sf_fetch_status *st)
{
    int64_t cap = c ? c->max_retry_after_ms : SF_FETCH_MAX_RETRY_AFTER_MS;
    long long asked = (long long)((st->retry_after_ms + 999) / 1000);
    size_t len = strlen(st->msg);

    /* One hostile or broken answer must not park a tenant for a day
     * (sf_http_parse_retry_after's own bound). */
    if (st->retry_after_ms <= cap)
        return;
    sf_warn(t->name, NULL, "Retry-After of %lld s capped to %lld s (http.max_retry_after)",
            asked, (long long)(cap / 1000));
    snprintf(st->msg + len, sizeof(st->msg) - len, " (Retry-After %lld s capped to %lld s)",
             asked, (long long)(cap / 1000));
    st->retry_after_ms = cap;
}

/* "code: first sentence" from {"error": {"code", "message"}} (common-errors.md). */
static void api_error_text(const struct sf_http_resp *rs, char *buf, size_t n)
{
    json_object *doc = rs->body.data ? json_tokener_parse(rs->body.data) : NULL;
    json_object *e = NULL, *code = NULL, *msg = NULL;
    char sentence[200] = "";

    if (doc && json_object_object_get_ex(doc, "error", &e) &&
        json_object_is_type(e, json_type_object)) {
        json_object_object_get_ex(e, "code", &code);
        json_object_object_get_ex(e, "message", &msg);
    }
    if (msg && json_object_is_type(msg, json_type_string))
        sf_auth_error_sentence(json_object_get_string(msg), NULL, sentence, sizeof(sentence));
    snprintf(buf, n, "%.60s%s%s", code && json_object_is_type(code, json_type_string)
             ? json_object_get_string(code) : "no error details", *sentence ? ": " : "",
             sentence);
    json_object_put(doc);
}

static sf_err api_status(struct sf_fetch_ctx *fx, const char *url)
{
    const struct sf_http_resp *rs = &fx->c->resp;
    struct sf_fetch_status *st = fx->st;
    char path[256], text[300];
    sf_err err = SF_ERR_HTTP;

    if (rs->status >= 200 && rs->status < 300)
        return SF_OK;
    api_error_text(rs, text, sizeof(text));
    if (rs->status == 401 || rs->status == 403) {
        /* 401 twice (fresh token refused) or 403 (permission missing or
         * consent revoked): an operator must act (common-errors.md). */
        st->auth_failed = 1;
        err = SF_ERR_AUTH;
    } else if (rs->status == 429) {
        st->retry_after_ms = rs->retry_after_ms >= 0 ? rs->retry_after_ms : DEFAULT_THROTTLE_MS;
        err = SF_ERR_THROTTLED;
    } else if (rs->retry_after_ms >= 0) {
        st->retry_after_ms = rs->retry_after_ms;
    }
    sf_errf(st->msg, sizeof(st->msg), "tenant %s: GET %s: HTTP %ld%s: %s", fx->t->name,
            sf_fetch_url_path(url, path, sizeof(path)), rs->status,
            rs->status == 401 ? " with a fresh token" : "", text);
    sf_fetch_cap_retry_after(fx->c, fx->t, st);
    return err;
}

static sf_err parse_body(struct sf_fetch_ctx *fx, const char *url, json_object **out)
{
    const struct sf_buf *b = &fx->c->resp.body;
    struct json_tokener *tok = json_tokener_new();
    enum json_tokener_error jerr = json_tokener_error_parse_eof;
    json_object *doc = NULL;
    size_t end = 0;
    char path[256];

    if (!tok)
        return SF_ERR_NOMEM;
    if (b->len) {
        doc = json_tokener_parse_ex(tok, b->data, (int)b->len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        while (doc && end < b->len && strchr(" \t\r\n", b->data[end]))
            end++;
    }
    json_tokener_free(tok);
    if (doc && jerr == json_tokener_success && end == b->len) {
        *out = doc;
        return SF_OK;
    }
    json_object_put(doc);
    sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: GET %s: malformed JSON (%s at byte %zu of %zu)",
            fx->t->name, sf_fetch_url_path(url, path, sizeof(path)),
            doc ? "trailing data" : json_tokener_error_desc(jerr), end, b->len);
    return SF_ERR_PARSE;
}

/* The real transport: token, GET, one renewal after 401, classify, parse. */
static sf_err api_get_json(struct sf_fetch_ctx *fx, const char *url, json_object **out)
{
    struct sf_api_client *c = fx->c;
    struct sf_buf authz;
    char aud[256], *token = NULL;
    sf_err err = SF_OK;

    *out = NULL;
    sf_buf_init(&authz, 64 * 1024);
    fx->type->audience(fx->api_base, aud, sizeof(aud));
    for (int tries = 0; tries < 2; tries++) {
        err = sf_auth_get(c, fx->t, aud, fx->type->token_v1, &token, fx->st);
        if (!err && sf_buf_printf(&authz, "Authorization: Bearer %s", token) != SF_OK) {
            /* not reached with sf_auth's token bound; never an empty message */
            sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: access token of %zu "
                    "bytes does not fit the Authorization header", fx->t->name, strlen(token));
            err = SF_ERR_PARSE;
        }
        if (err)
            goto out;
        const char *headers[] = { authz.data, "Accept: application/json",
                                  fx->type->extra_header, NULL };
        struct sf_http_req rq = { .method = "GET", .url = url, .headers = headers };
        err = sf_fetch_send(c, &rq, fx->t, fx->st);
        explicit_bzero(authz.data, authz.len);
        sf_buf_reset(&authz);
        if (err || c->resp.status != 401)
            break;
        /* Expired or revoked token: drop it and try once with a new one. */
        sf_auth_invalidate(c->tc, fx->t, aud, token);
        sf_auth_token_free(token);
        token = NULL;
    }
    if (!err)
        err = api_status(fx, url);
    /* the parsed page is many times its text: hold the gate until it is freed */
    if (!err && c->page_gate) {
        if (sf_gate_enter(c->page_gate, c->abort_flag) != 0) {
            sf_fetch_stopped(c->abort_flag, fx->t, fx->st);
            err = SF_ERR_STOPPED;
        } else {
            err = parse_body(fx, url, out);
            if (err)
                sf_gate_leave(c->page_gate);
            else
                fx->gated++;
        }
    } else if (!err) {
        err = parse_body(fx, url, out);
    }
out:
    sf_auth_token_free(token);
    sf_buf_free(&authz);
    return err;
}

sf_err sf_fetch_page_alerts(struct sf_fetch_ctx *fx, json_object *page, const char *url,
                            json_object **alerts)
{
    json_object *arr = page;
    char path[256];

    if (!fx->type->bare_array &&
        !(json_object_is_type(page, json_type_object) &&
          json_object_object_get_ex(page, "value", &arr)))
        arr = NULL;
    if (arr && json_object_is_type(arr, json_type_array)) {
        size_t n = json_object_array_length(arr);
        size_t i = 0;
        while (i < n && json_object_is_type(json_object_array_get_idx(arr, i), json_type_object))
            i++;
        if (i == n) {
            *alerts = arr;
            return SF_OK;
        }
    }
    sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: GET %s: response is not %s",
            fx->t->name, sf_fetch_url_path(url, path, sizeof(path)),
            fx->type->bare_array ? "a JSON array of alert objects"
                                 : "an object with a \"value\" array of alert objects");
    return SF_ERR_PARSE;
}

sf_err sf_fetch_get_page(struct sf_fetch_ctx *fx, const char *url, json_object **page)
{
    char path[256];

    *page = NULL;
    if (sf_fetch_stopped(fx->abort_flag, fx->t, fx->st))
        return SF_ERR_STOPPED;
    if (fx->pages >= fx->max_pages) {
        sf_errf(fx->st->msg, sizeof(fx->st->msg), "tenant %s: GET %s: more than %d requests "
                "for one window; the API's paging does not end, window abandoned",
                fx->t->name, sf_fetch_url_path(url, path, sizeof(path)), fx->max_pages);
        return SF_ERR_LIMIT;
    }
    fx->pages++;
    return fx->get_json(fx, url, page);
}

void sf_fetch_put_page(struct sf_fetch_ctx *fx, json_object *page)
{
    json_object_put(page);
    if (page && fx->gated > 0) {
        fx->gated--;
        sf_gate_leave(fx->c->page_gate);
    }
}

/* Leave whatever a source still holds (it should hold nothing by now). */
static sf_err ungate(struct sf_fetch_ctx *fx, sf_err err)
{
    for (; fx->gated > 0; fx->gated--)
        sf_gate_leave(fx->c->page_gate);
    return err;
}

sf_err sf_fetch_deliver(struct sf_fetch_ctx *fx, json_object *alerts)
{
    if (json_object_array_length(alerts) == 0)
        return SF_OK;
    return fx->on_page(fx->opaque, alerts);
}

static _Thread_local int (*sort_key)(json_object *, const char **, int64_t *);

static int64_t time_of(json_object *alert)
{
    const char *id;
    int64_t ms;

    return sort_key(alert, &id, &ms) == 0 ? ms : INT64_MIN;
}

static int by_time(const void *a, const void *b)
{
    int64_t ta = time_of(*(json_object *const *)a), tb = time_of(*(json_object *const *)b);

    return ta < tb ? -1 : ta > tb;
}

void sf_fetch_sort(struct sf_fetch_ctx *fx, json_object *alerts)
{
    sort_key = fx->type->key;
    json_object_array_sort(alerts, by_time);
}

sf_err sf_fetch_bisect(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms,
                       int depth, sf_range_fn read_range)
{
    sf_err err = read_range(fx, from_ms, until_ms);
    int64_t mid;

    if (err != SF_ERR_LIMIT || until_ms - from_ms <= 1 || depth >= fx->max_split_depth ||
        fx->pages >= fx->max_pages)
        return err;
    /* Too much for one response: re-read the halves, older half first so
     * pages stay in time order. */
    fx->st->http_status = 0;
    fx->st->msg[0] = '\0';
    mid = from_ms + (until_ms - from_ms) / 2;
    err = sf_fetch_bisect(fx, from_ms, mid, depth + 1, read_range);
    if (!err)
        err = sf_fetch_bisect(fx, mid, until_ms, depth + 1, read_range);
    return err;
}

sf_err sf_fetch_ctx_init(struct sf_fetch_ctx *fx, struct sf_api_client *c,
                       const struct sf_fetch_tenant *t, struct sf_fetch_status *st)
{
    memset(st, 0, sizeof(*st));
    memset(fx, 0, sizeof(*fx));
    fx->c = c;
    fx->t = t;
    fx->st = st;
    fx->type = sf_source_type_of(t->source);
    fx->get_json = api_get_json;
    fx->max_split_depth = MAX_SPLIT_DEPTH;
    fx->abort_flag = c ? c->abort_flag : NULL;
    fx->max_pages = SF_FETCH_MAX_PAGES;
    if (!fx->type && t->source) {
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: unknown source '%s'",
                t->name ? t->name : "?", t->source);
        return SF_ERR_CONFIG;
    }
    if (!fx->type || !t->tenant_id || !t->client_id) {
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: source, tenant_id and client_id are required",
                t->name ? t->name : "?");
        return SF_ERR_CONFIG;
    }
    fx->api_base = sf_source_api_base(fx->type, t->api_base);
    fx->page_size = t->page_size > 0 ? t->page_size : fx->type->default_page_size;
    if (!fx->api_base) {
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: source %s needs api_base", t->name,
                fx->type->name);
        return SF_ERR_CONFIG;
    }
    return SF_OK;
}

sf_err sf_fetch_window(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                       int64_t from_ms, int64_t until_ms,
                       sf_page_fn on_page, void *opaque, struct sf_fetch_status *st)
{
    struct sf_fetch_ctx fx;
    sf_err err = sf_fetch_ctx_init(&fx, c, t, st);

    if (err)
        return err;
    if (from_ms > until_ms || !on_page) {
        sf_errf(st->msg, sizeof(st->msg), "tenant %s: window start after its end", t->name);
        return SF_ERR_INVALID;
    }
    if (from_ms == until_ms)
        return SF_OK;
    fx.on_page = on_page;
    fx.opaque = opaque;
    return ungate(&fx, fx.type->window(&fx, from_ms, until_ms));
}

sf_err sf_fetch_probe(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                      struct sf_fetch_status *st)
{
    struct sf_fetch_ctx fx;
    struct sf_buf url;
    json_object *page = NULL, *alerts;
    sf_err err = sf_fetch_ctx_init(&fx, c, t, st);

    sf_buf_init(&url, 64 * 1024);
    if (!err)
        err = fx.type->probe_url(&fx, &url);
    if (!err)
        err = sf_fetch_get_page(&fx, url.data, &page);
    if (!err)
        err = sf_fetch_page_alerts(&fx, page, url.data, &alerts);
    sf_fetch_put_page(&fx, page);
    sf_buf_free(&url);
    return ungate(&fx, err);
}

sf_err sf_fetch_window_url(struct sf_buf *b, const char *api_base, const char *path,
                           const char *time_field, int64_t from_ms, int64_t until_ms,
                           const char *filter, const char *extra, int top, int skip)
{
    char from[40], until[40];
    struct sf_buf f;
    sf_err err;

    if (sf_fetch_format_time(from_ms, from, sizeof(from)) ||
        sf_fetch_format_time(until_ms, until, sizeof(until)))
        return SF_ERR_RANGE;
    sf_buf_init(&f, 16 * 1024);
    err = sf_buf_printf(&f, "%s ge %s and %s lt %s", time_field, from, time_field, until);
    if (!err && filter && *filter)
        err = sf_buf_printf(&f, " and (%s)", filter);
    if (!err)
        err = sf_fetch_url_base(b, api_base, path);
    if (!err)
        err = sf_buf_adds(b, "?$filter=");
    if (!err)
        err = sf_http_urlencode(b, f.data);
    if (!err)
        err = sf_buf_printf(b, "%s&$top=%d", extra, top);
    if (!err && skip > 0)
        err = sf_buf_printf(b, "&$skip=%d", skip);
    sf_buf_free(&f);
    return err;
}

int sf_fetch_alert_key(json_object *alert, const char *id_key, const char *time_key,
                       const char **id, int64_t *ms)
{
    json_object *vid, *vt;

    /* An id with a NUL (JSON "\u0000") would compare, dedup and store as
     * its C-string prefix: two alerts differing past it became one and the
     * other was silently dropped. Refused, so the pipeline quarantines it. */
    if (!json_object_object_get_ex(alert, id_key, &vid) ||
        !json_object_is_type(vid, json_type_string) || json_object_get_string_len(vid) == 0 ||
        strlen(json_object_get_string(vid)) != (size_t)json_object_get_string_len(vid) ||
        !json_object_object_get_ex(alert, time_key, &vt) ||
        !json_object_is_type(vt, json_type_string) ||
        sf_fetch_parse_time(json_object_get_string(vt), ms) != 0)
        return -1;
    *id = json_object_get_string(vid);
    return 0;
}

int sf_consent_url(const char *authority, const char *client_id, const char *tenant,
                   const char *redirect_uri, char *buf, size_t n)
{
    struct sf_buf b;
    const char *auth = authority ? authority : "https://login.microsoftonline.com";
    size_t alen = strlen(auth);
    sf_err err;
    int rc = -1;

    if (!client_id || !*client_id || !n)
        return -1;
    while (alen && auth[alen - 1] == '/')
        alen--;
    sf_buf_init(&b, n - 1);
    /* Entra admin-consent endpoint (defender-api.md 1.6). */
    err = sf_buf_add(&b, auth, alen);
    if (!err)
        err = sf_buf_addc(&b, '/');
    if (!err)
        err = sf_http_urlencode(&b, tenant && *tenant ? tenant : "common");
    if (!err)
        err = sf_buf_adds(&b, "/adminconsent?client_id=");
    if (!err)
        err = sf_http_urlencode(&b, client_id);
    if (!err && redirect_uri) {
        err = sf_buf_adds(&b, "&redirect_uri=");
        if (!err)
            err = sf_http_urlencode(&b, redirect_uri);
    }
    if (!err) {
        memcpy(buf, b.data, b.len + 1);
        rc = 0;
    }
    sf_buf_free(&b);
    return rc;
}

/* ---- times (Defender emits 0-7 fraction digits, 4.4 step 7) ---- */

int sf_fetch_parse_time(const char *s, int64_t *ms)
{
    return s ? sf_time_parse_iso8601(s, strlen(s), ms) : -1;
}

int sf_fetch_format_time(int64_t ms, char *buf, size_t n)
{
    struct tm tm;
    int msec, len;

    if (sf_time_gmtime_ms(ms, &tm, &msec) != 0 || tm.tm_year + 1900 > 9999 ||
        tm.tm_year + 1900 < 0)
        return -1;
    /* The 'o' round-trip form with 7 fraction digits, as Defender emits. */
    len = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03d0000Z", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec);
    return len > 0 && (size_t)len < n ? 0 : -1;
}
