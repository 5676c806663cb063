/* source.h - internals shared by the fetch stage's files (fetch.c, auth.c,
 * source_*.c): the client struct, one sf_source_type per API, time and
 * base64url helpers. Not for other stages: they use sf_fetch.h only. */
#ifndef SF_SOURCE_H
#define SF_SOURCE_H

#include <stdint.h>
#include <json-c/json.h>
#include "sf_alert_view.h"
#include "sf_buf.h"
#include "sf_fetch.h"
#include "sf_http.h"

#define SF_TOKEN_RENEW_MS ((int64_t)5 * 60 * 1000)

struct sf_api_client {
    struct sf_http *http;
    struct sf_http_resp resp;     /* reused for every call */
    struct sf_token_cache *tc;    /* borrowed, shared */
    unsigned int seed;            /* backoff jitter */
    long timeout_ms;
    const _Atomic int *abort_flag; /* borrowed (sf_fetch_opts); NULL: never */
    int64_t max_retry_after_ms;   /* > 0 */
    struct sf_gate *page_gate;    /* borrowed (sf_fetch_opts); NULL: none */
};

struct sf_source_type;

/* One sf_fetch_window call in progress. get_json is the transport: the real
 * one authenticates, retries and parses; unit tests put a fake here. */
struct sf_fetch_ctx {
    struct sf_api_client *c;
    const struct sf_fetch_tenant *t;
    const struct sf_source_type *type;
    struct sf_fetch_status *st;
    sf_page_fn on_page;
    void *opaque;
    const char *api_base;         /* t->api_base or the source default */
    int page_size;                /* t->page_size or the source default */
    int max_split_depth;          /* bound on window bisection */
    const _Atomic int *abort_flag; /* c->abort_flag; tests set their own */
    int max_pages;                /* SF_FETCH_MAX_PAGES; tests lower it */
    int pages;                    /* requests made by this window so far */
    int gated;                    /* pages held through c->page_gate */
    sf_err (*get_json)(struct sf_fetch_ctx *fx, const char *url, json_object **out);
    void *test;                   /* for fake transports */
};

/* One alert API (a member of the registry in sources.c). Its config rules
 * and defaults live here and nowhere else (sf_sources_apply checks a
 * tenant's keys against them). */
struct sf_source_type {
    const char *name;             /* value of a tenant's `source:` */
    const char *default_api_base; /* NULL: api_base is required */
    const char *api_base_hint;    /* said when a required api_base is missing */
    int default_page_size;        /* $top; 0: no paging, page_size is refused */
    int takes_filter;             /* accepts the tenant's OData `filter` */
    const char *permission;       /* what the app needs, in words (check, tenant add) */
    int token_v1;                 /* v1 endpoint with resource= (SIEM) */
    int bare_array;               /* body is a JSON array, not {"value": [...]} */
    const char *extra_header;     /* sent on every API call, or NULL */
    /* Token audience for this API host (v1 resource; v2 scope minus /.default). */
    void (*audience)(const char *api_base, char *buf, size_t n);
    sf_err (*window)(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms);
    sf_err (*probe_url)(struct sf_fetch_ctx *fx, struct sf_buf *url);
    /* id and last-update time only (paging, sorting): the same fields view
     * reads; -1 if either is missing or malformed. */
    int (*key)(json_object *alert, const char **id, int64_t *ms);
    /* Fill v (begun by sf_view_begin: tenant from t) from this API's
     * schema; alert is a JSON object, untrusted. Ends with sf_view_finish. */
    void (*view)(json_object *alert, const struct sf_fetch_tenant *t, struct sf_alert_view *v);
};

extern const struct sf_source_type sf_source_graph;
extern const struct sf_source_type sf_source_mde;
extern const struct sf_source_type sf_source_siem;

/* sources.c: the registry. The type named name (any case), or NULL. */
const struct sf_source_type *sf_source_type_of(const char *name);
/* The API host a tenant uses: configured, else the type's default; NULL
 * when the type has none (then api_base is required). */
const char *sf_source_api_base(const struct sf_source_type *type, const char *configured);

/* source_view.c: what the view() functions share. */
/* A non-empty string member of obj without a NUL inside, or NULL. */
const char *sf_view_str(json_object *obj, const char *key);
/* Empty view: NULLs, last_update_ms -1, source and tenant (t may be NULL). */
void sf_view_begin(struct sf_alert_view *v, const struct sf_source_type *type,
                   const struct sf_fetch_tenant *t);
/* The member key if it is an ISO-8601 time (its ms in *ms), else NULL. */
const char *sf_view_time(json_object *alert, const char *key, int64_t *ms);
/* Add a host name unless empty, already there (any case) or the list is full. */
void sf_view_device(struct sf_alert_view *v, const char *name);
/* Severity rank and the portal link (url: the API's own link, or NULL;
 * link_id: the alert id the portal knows). */
void sf_view_finish(struct sf_alert_view *v, const char *url, const char *link_id);

/* fetch.c: shared by the sources. */
/* Fill fx for t (defaults applied, real transport); resets st. */
sf_err sf_fetch_ctx_init(struct sf_fetch_ctx *fx, struct sf_api_client *c,
                         const struct sf_fetch_tenant *t, struct sf_fetch_status *st);
/* The alerts array of a page (borrowed from page); SF_ERR_PARSE naming the
 * tenant and URL path when the page has the wrong shape. */
sf_err sf_fetch_page_alerts(struct sf_fetch_ctx *fx, json_object *page, const char *url,
                            json_object **alerts);
/* GET one page through fx->get_json, after checking the abort flag and
 * the window's request budget: every source reads every page through this,
 * so an endless run of empty pages still notices a stop. SF_ERR_STOPPED or
 * SF_ERR_LIMIT (naming the tenant) without a request, else get_json's. */
sf_err sf_fetch_get_page(struct sf_fetch_ctx *fx, const char *url, json_object **page);
/* 1 (with st->msg "tenant NAME: stopped ...") if the abort flag is set. */
int sf_fetch_stopped(const _Atomic int *abort_flag, const struct sf_fetch_tenant *t,
                     struct sf_fetch_status *st);
/* Cut st->retry_after_ms to c's cap, logging and noting it in st->msg. */
void sf_fetch_cap_retry_after(const struct sf_api_client *c, const struct sf_fetch_tenant *t,
                              struct sf_fetch_status *st);
/* Hand a non-empty array to on_page; empty arrays are skipped. */
sf_err sf_fetch_deliver(struct sf_fetch_ctx *fx, json_object *alerts);
/* Free a page from sf_fetch_get_page (NULL is fine) and leave the page gate
 * it held; sources call it before their next request. */
void sf_fetch_put_page(struct sf_fetch_ctx *fx, json_object *page);
/* Sort an alerts array by the source's last-update time, ascending. */
void sf_fetch_sort(struct sf_fetch_ctx *fx, json_object *alerts);
/* Read one window; SF_ERR_LIMIT (with st->msg) asks the caller to split. */
typedef sf_err (*sf_range_fn)(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms);
/* read_range over [from, until); on SF_ERR_LIMIT bisect and recurse, up to
 * fx->max_split_depth levels and down to 1 ms windows, then give up with
 * read_range's SF_ERR_LIMIT. */
sf_err sf_fetch_bisect(struct sf_fetch_ctx *fx, int64_t from_ms, int64_t until_ms,
                       int depth, sf_range_fn read_range);
/* Send with retries of 5xx, timeouts and network errors (3 tries, backoff
 * with jitter under 2 s in total, slept in slices that watch the abort
 * flag). SF_OK with c->resp filled otherwise; SF_ERR_STOPPED on abort. */
sf_err sf_fetch_send(struct sf_api_client *c, const struct sf_http_req *rq,
                     const struct sf_fetch_tenant *t, struct sf_fetch_status *st);
/* Append api_base without trailing slashes, then path. */
sf_err sf_fetch_url_base(struct sf_buf *b, const char *api_base, const char *path);
/* Length of "scheme://host[:port]" at the start of url (0 if none). */
size_t sf_fetch_origin_len(const char *url);
/* "/path" of a URL without query, for messages (into buf). */
const char *sf_fetch_url_path(const char *url, char *buf, size_t n);

/* Times: NUL-terminated ISO-8601 (sf_time.h rules: 0-7 fraction digits,
 * Z / offset / none = UTC) to epoch ms, floored; 0 or -1. Formatting writes
 * the 'o'-style literal "2021-01-26T20:33:59.7220000Z" (28 chars + NUL). */
int sf_fetch_parse_time(const char *s, int64_t *ms);
/* {api_base}{path}?$filter=<time_field> ge FROM and <time_field> lt UNTIL
 * [and (filter)]{extra}&$top=TOP[&$skip=SKIP], the filter URL-encoded and
 * the times as unquoted OData datetime literals (defender-api.md 4.4). */
sf_err sf_fetch_window_url(struct sf_buf *b, const char *api_base, const char *path,
                           const char *time_field, int64_t from_ms, int64_t until_ms,
                           const char *filter, const char *extra, int top, int skip);
/* Dedup key from two string members: a non-empty id (borrowed) and an
 * ISO-8601 last-update time. -1 when either is missing or malformed. */
int sf_fetch_alert_key(json_object *alert, const char *id_key, const char *time_key,
                       const char **id, int64_t *ms);
int sf_fetch_format_time(int64_t ms, char *buf, size_t n);

/* URL builders (appending to b), exposed for tests. */
sf_err sf_graph_url(struct sf_buf *b, const char *api_base, int64_t from_ms,
                    int64_t until_ms, const char *filter, int top, int skip);
sf_err sf_mde_url(struct sf_buf *b, const char *api_base, int64_t from_ms,
                  int64_t until_ms, int top, int skip);   /* skip 0: none */
sf_err sf_siem_url(struct sf_buf *b, const char *api_base, int64_t from_ms,
                   int64_t until_ms);

/* auth.c */
/* Token endpoint: {authority}/{tenant}/oauth2/token (v1) or /oauth2/v2.0/token. */
sf_err sf_auth_token_url(struct sf_buf *b, const char *authority, const char *tenant_id,
                         int v1);
/* Signed RS256 client assertion for aud (certificate-credentials.md). */
sf_err sf_auth_assertion(const char *cert_file, const char *key_file,
                         const char *key_password, const char *client_id,
                         const char *aud, int64_t now_s, struct sf_buf *out,
                         char *errbuf, size_t errlen);
/* A valid token for (t, audience): from the cache or fetched. *token is a
 * malloc'd copy the caller wipes and frees (sf_auth_token_free). */
sf_err sf_auth_get(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                   const char *audience, int v1, char **token, struct sf_fetch_status *st);
/* Drop the cached token if it is still the one given (after a 401). */
void sf_auth_invalidate(struct sf_token_cache *tc, const struct sf_fetch_tenant *t,
                        const char *audience, const char *token);
void sf_auth_token_free(char *token);
/* The token endpoint's answer: 200 -> *token (caller frees with
 * sf_auth_token_free) and its lifetime; anything else -> the error class
 * with Entra's code and first sentence in st->msg. Untrusted input. */
sf_err sf_auth_parse_response(const struct sf_fetch_tenant *t, const struct sf_http_resp *rs,
                              char **token, int64_t *lifetime_ms, struct sf_fetch_status *st);
/* First sentence of an Entra / API error description into buf, with any
 * occurrence of secret replaced by "***". */
void sf_auth_error_sentence(const char *desc, const char *secret, char *buf, size_t n);

/* b64url.c: base64url without padding. */
sf_err sf_b64url_encode(struct sf_buf *b, const void *data, size_t n);
sf_err sf_b64url_decode(struct sf_buf *b, const char *s, size_t n);

#endif
