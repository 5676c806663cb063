/* sf_fetch.h - the fetch stage: OAuth2 client-credentials tokens per
 * (tenant, API) and paged, windowed reads of one tenant's alerts from Graph
 * alerts_v2, MDE /api/alerts or the legacy SIEM API.
 * It does not dedup, render or keep cursors (the pipeline does); it never
 * sleeps for Retry-After (it reports it). Calls are blocking: the pipeline
 * runs one tenant per worker thread, each with its own sf_api_client. */
#ifndef SF_FETCH_H
#define SF_FETCH_H

#include <stdint.h>
#include <json-c/json.h>
#include "sf_err.h"
#include "sf_gate.h"
#include "sf_tls_conf.h"

/* Everything the fetch stage needs to know of a tenant. All borrowed
 * (from the loaded config); must outlive every call that uses it. */
struct sf_fetch_tenant {
    const char *name;          /* configured name, for logs */
    const char *tenant_id;     /* Entra tenant GUID */
    const char *source;        /* source type name: "graph", "mde", "siem" (sf_sources.h) */
    const char *client_id;
    const char *client_secret; /* NULL when certificate auth is used */
    const char *cert_file;     /* PEM certificate (certificate auth) */
    const char *key_file;      /* PEM private key */
    const char *key_password;  /* NULL if the key is not encrypted */
    const char *authority;     /* https://login.microsoftonline.com */
    const char *api_base;      /* NULL: the source's default (if it has one) */
    const char *filter;        /* extra OData filter (sources that take one), or NULL */
    int page_size;             /* $top; <= 0: the source's default */
};

/* Process-wide settings shared by every client. Borrowed strings. */
struct sf_fetch_opts {
    const char *organization;  /* User-Agent: MdatpPartner-<org>-siemfwd/<ver> */
    const struct sf_tls_conf *tls; /* http.tls; borrowed, copied per client;
                                * NULL: verify against the system store */
    long timeout_ms;           /* per HTTP call */
    size_t max_response;       /* bytes; larger bodies are an error */
    /* Borrowed (e.g. &pipeline->stop), read by every worker; must outlive
     * the clients. Once nonzero, calls in flight (token or API) are
     * cancelled within about a second and paging ends before the next page:
     * sf_fetch_window and sf_fetch_probe return SF_ERR_STOPPED, st->msg
     * "tenant NAME: stopped ...". NULL: never. */
    const _Atomic int *abort_flag;
    /* Cap on a server's Retry-After (http.max_retry_after); a longer one is
     * cut to this and logged. <= 0: SF_FETCH_MAX_RETRY_AFTER_MS. */
    int64_t max_retry_after_ms;
    /* Borrowed; NULL: none. Held from parsing a page until it is released,
     * so parsed pages in memory are bounded by it (sf_gate.h). */
    struct sf_gate *page_gate;
};

#define SF_FETCH_MAX_RETRY_AFTER_MS ((int64_t)10 * 60 * 1000)
/* Requests one sf_fetch_window may make (pages, window splits, retried
 * boundaries): a paging link that never ends fails the window instead. */
#define SF_FETCH_MAX_PAGES 10000

/* Token cache shared by all worker threads (internally locked). Holds the
 * secrets' products (tokens); never logs them. */
struct sf_token_cache;
sf_err sf_token_cache_new(struct sf_token_cache **out);
void sf_token_cache_free(struct sf_token_cache *tc);
/* Number of tokens fetched so far (metrics). */
uint64_t sf_token_cache_renewals(const struct sf_token_cache *tc);

/* One per worker thread: a CURL easy handle (connection reuse) + buffers. */
struct sf_api_client;
sf_err sf_api_client_new(const struct sf_fetch_opts *o, struct sf_token_cache *tc,
                         struct sf_api_client **out);
void sf_api_client_free(struct sf_api_client *c);

/* Outcome details of a failed call. */
struct sf_fetch_status {
    long http_status;          /* last HTTP status seen, 0 if none */
    int64_t retry_after_ms;    /* from 429/503 Retry-After, else 0 */
    int auth_failed;           /* 1 if consent/permission/credentials refused */
    char msg[512];             /* human sentence, no secrets */
};

/* Called once per page, in order. alerts is a json array, borrowed for the
 * duration of the call. Return SF_OK to continue, anything else stops the
 * fetch, which then returns that error. */
typedef sf_err (*sf_page_fn)(void *opaque, json_object *alerts);

/* Read every alert whose last-update time t satisfies from_ms <= t < until_ms
 * (Graph lastUpdateDateTime, MDE lastUpdateTime, SIEM LastProcessedTimeUtc),
 * page by page. Handles token renewal (a 401 renews once), nextLink paging
 * with fallback to time-boundary paging, MDE window splitting when a page is
 * full. Returns SF_OK, SF_ERR_THROTTLED (st->retry_after_ms), SF_ERR_AUTH,
 * SF_ERR_HTTP, SF_ERR_NETWORK, SF_ERR_TIMEOUT, SF_ERR_PARSE (malformed page or
 * token, a nextLink loop), SF_ERR_LIMIT (response too large, or more than
 * SF_FETCH_MAX_PAGES requests), SF_ERR_STOPPED (the abort flag), or the page
 * callback's error. Pages already handed to on_page stay delivered. */
sf_err sf_fetch_window(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                       int64_t from_ms, int64_t until_ms,
                       sf_page_fn on_page, void *opaque, struct sf_fetch_status *st);

/* Get a token and make one minimal API call ($top=1): `siemfwd check --online`. */
sf_err sf_fetch_probe(struct sf_api_client *c, const struct sf_fetch_tenant *t,
                      struct sf_fetch_status *st);

/* Admin-consent URL a customer opens to onboard (writes into buf). */
int sf_consent_url(const char *authority, const char *client_id, const char *tenant,
                   const char *redirect_uri, char *buf, size_t n);

#endif
