/* http_send.c - the HTTP sender: blocking HTTPS requests over one reused
 * CURL easy handle (keep-alive, HTTP/2 when the server offers it), bounded
 * bodies, timeouts, TLS as its tls: block says (sf_curl_tls.h), Retry-After.
 * It does not retry or authenticate; callers own request strings. It lives
 * in outputs/ so that the fetch stage and the HTTP outputs can share it. */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include <curl/curl.h>
#include "sf_curl_tls.h"
#include "sf_http.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define MAX_CONNECT_MS 10000L
#define RETRY_AFTER_CAP_MS ((int64_t)24 * 3600 * 1000)

struct sf_http {
    CURL *curl;
    struct sf_tls_conf tls;      /* owned copy: curl reads it per connection */
    size_t max_response;
    int cut_body;                /* keep the start of a long body, no error */
    char *shown;                 /* owned copy, or NULL: the request's path */
    const _Atomic int *abort_flag; /* borrowed; NULL: never abort */
    struct sf_http_resp *cur;    /* response being filled; borrowed */
    int over_limit;              /* the body hit max_response */
    int aborted;                 /* the abort flag cancelled this transfer */
    char cerr[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_global(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int ascii_alnum(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sf_http *h = ud;
    size_t n = size * nmemb;
    struct sf_buf *b = &h->cur->body;

    if (h->cut_body) {
        size_t room = b->max > b->len ? b->max - b->len : 0;
        if (room && sf_buf_add(b, p, n < room ? n : room) != SF_OK)
            h->over_limit = 1;   /* out of memory: reported like a long body */
        return h->over_limit ? 0 : n;
    }
    if (sf_buf_add(b, p, n) != SF_OK) {
        h->over_limit = 1;
        return 0;   /* curl aborts with CURLE_WRITE_ERROR */
    }
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sf_http *h = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    char val[128];

    /* A new status line (e.g. after 100-continue) starts a new header set. */
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        h->cur->retry_after_ms = -1;
    } else if (n > sizeof(name) - 1 && n - (sizeof(name) - 1) < sizeof(val) &&
               strncasecmp(p, name, sizeof(name) - 1) == 0) {
        size_t vlen = n - (sizeof(name) - 1);
        memcpy(val, p + sizeof(name) - 1, vlen);
        val[vlen] = '\0';
        h->cur->retry_after_ms = sf_http_parse_retry_after(val, time(NULL));
    }
    return n;
}

/* libcurl calls this during every phase (resolve, connect, TLS, waiting
 * for an answer), at least about once a second when nothing moves: a hung
 * peer cannot hold a stop or reload for a whole http.timeout. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct sf_http *h = ud;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (atomic_load(h->abort_flag) == 0)
        return 0;
    h->aborted = 1;
    return 1;   /* curl aborts with CURLE_ABORTED_BY_CALLBACK */
}

static sf_err setup_handle(struct sf_http *h, const struct sf_http_opts *o,
                           char *errbuf, size_t errlen)
{
    CURL *e = h->curl;
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    CURLcode rc = CURLE_OK;

    rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->cerr);
    rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, o->allow_http ? "http,https" : "https");
    rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L); /* never replay the bearer */
    rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    rc |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                           timeout < MAX_CONNECT_MS ? timeout : MAX_CONNECT_MS);
    rc |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    rc |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    rc |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    rc |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                           (curl_off_t)(h->cut_body ? 0 : h->max_response));
    rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    if (o->user_agent)
        rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, o->user_agent);
    if (h->abort_flag) {
        rc |= curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
        rc |= curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
        rc |= curl_easy_setopt(e, CURLOPT_XFERINFODATA, h);
    }
    if (rc != CURLE_OK) {
        sf_errf(errbuf, errlen, "libcurl lacks a needed option (HTTPS, OpenSSL)");
        return SF_ERR_INTERNAL;
    }
    return sf_curl_tls_apply(e, &h->tls, errbuf, errlen);
}

sf_err sf_http_new(const struct sf_http_opts *o, struct sf_http **out,
                   char *errbuf, size_t errlen)
{
    sf_err err = SF_ERR_NOMEM;
    struct sf_http *h = NULL;

    *out = NULL;
    pthread_once(&curl_once, curl_global);
    if (curl_init_rc != CURLE_OK) {
        sf_errf(errbuf, errlen, "curl_global_init failed");
        return SF_ERR_INTERNAL;
    }
    h = calloc(1, sizeof(*h));
    if (!h)
        goto out;
    h->max_response = o->max_response ? o->max_response : SF_BUF_DEFAULT_MAX;
    h->abort_flag = o->abort_flag;
    h->cut_body = o->cut_body;
    if (o->shown && !(h->shown = strdup(o->shown)))
        goto out;
    if (sf_tls_copy(&h->tls, o->tls) != SF_OK)
        goto out;
    h->curl = curl_easy_init();
    if (!h->curl)
        goto out;
    err = setup_handle(h, o, errbuf, errlen);
    if (err != SF_OK)
        goto out;
    *out = h;
    h = NULL;   /* handed to the caller */
out:
    if (err == SF_ERR_NOMEM)
        sf_errf(errbuf, errlen, "out of memory creating the HTTP client");
    sf_http_free(h);
    return err;
}

void sf_http_free(struct sf_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    sf_tls_release(&h->tls);
    free(h->shown);
    free(h);
}

void sf_http_resp_init(struct sf_http_resp *rs)
{
    rs->status = 0;
    rs->retry_after_ms = -1;
    sf_buf_init(&rs->body, SF_BUF_DEFAULT_MAX);
}

void sf_http_resp_free(struct sf_http_resp *rs)
{
    sf_buf_free(&rs->body);
}

static sf_err map_curl_error(struct sf_http *h, CURLcode rc, const char *url,
                             size_t max_response, char *errbuf, size_t errlen)
{
    const char *why = h->cerr[0] ? h->cerr : curl_easy_strerror(rc);
    const char *path = strstr(url, "://");

    path = path ? strchr(path + 3, '/') : NULL;
    if (!path)
        path = "/";
    if (h->shown)
        path = h->shown;   /* printed up to a '?', as a path is */
    if (h->aborted) {
        sf_errf(errbuf, errlen, "%.*s: stopped", (int)strcspn(path, "?"), path);
        return SF_ERR_STOPPED;
    }
    if (h->over_limit || rc == CURLE_FILESIZE_EXCEEDED) {
        sf_errf(errbuf, errlen, "%.*s: response larger than %zu bytes",
                (int)strcspn(path, "?"), path, max_response);
        return SF_ERR_LIMIT;
    }
    sf_errf(errbuf, errlen, "%.*s: %s", (int)strcspn(path, "?"), path, why);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return SF_ERR_TIMEOUT;
    return SF_ERR_NETWORK;
}

sf_err sf_http_do(struct sf_http *h, const struct sf_http_req *rq,
                  struct sf_http_resp *rs, char *errbuf, size_t errlen)
{
    struct curl_slist *hl = NULL, *tmp;
    CURL *e = h->curl;
    size_t max = rq->max_response && rq->max_response < h->max_response ? rq->max_response
                                                                        : h->max_response;
    CURLcode rc;
    sf_err err = SF_OK;

    rs->status = 0;
    rs->retry_after_ms = -1;
    sf_buf_reset(&rs->body);
    rs->body.max = max;
    h->cur = rs;
    h->over_limit = 0;
    h->aborted = 0;
    h->cerr[0] = '\0';
    if (h->abort_flag && atomic_load(h->abort_flag)) {
        h->aborted = 1;
        err = map_curl_error(h, CURLE_ABORTED_BY_CALLBACK, rq->url, max, errbuf, errlen);
        goto out;
    }
    for (size_t i = 0; rq->headers && rq->headers[i]; i++) {
        tmp = curl_slist_append(hl, rq->headers[i]);
        if (!tmp) {
            err = SF_ERR_NOMEM;
            sf_errf(errbuf, errlen, "out of memory building request headers");
            goto out;
        }
        hl = tmp;
    }
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(h->cut_body ? 0 : max));
    if (strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &rs->status);
    if (rc != CURLE_OK)
        err = map_curl_error(h, rc, rq->url, max, errbuf, errlen);
out:
    /* Headers carry bearer tokens: wipe curl's copies before freeing. */
    for (tmp = hl; tmp; tmp = tmp->next)
        explicit_bzero(tmp->data, strlen(tmp->data));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hl);
    h->cur = NULL;
    return err;
}

int64_t sf_http_parse_retry_after(const char *value, time_t now)
{
    const char *p = value, *end;
    int64_t ms = 0;
    time_t when;

    if (!value)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    end = p + strlen(p);
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (end == p)
        return -1;
    if (isdigit((unsigned char)*p)) {
        for (const char *q = p; q < end; q++) {
            if (!isdigit((unsigned char)*q))
                return -1;
            if (ms < RETRY_AFTER_CAP_MS)
                ms = ms * 10 + (*q - '0');
        }
        ms *= 1000;
        return ms < RETRY_AFTER_CAP_MS ? ms : RETRY_AFTER_CAP_MS;
    }
    /* HTTP-date (IMF-fixdate; curl_getdate also takes the obsolete forms). */
    char tmp[128];
    if ((size_t)(end - p) >= sizeof(tmp))
        return -1;
    memcpy(tmp, p, (size_t)(end - p));
    tmp[end - p] = '\0';
    when = curl_getdate(tmp, NULL);
    if (when == (time_t)-1)
        return -1;
    if (when <= now)
        return 0;
    ms = ((int64_t)when - (int64_t)now) * 1000;
    return ms < RETRY_AFTER_CAP_MS ? ms : RETRY_AFTER_CAP_MS;
}

int sf_http_user_agent(const char *org, const char *version, char *buf, size_t n)
{
    char clean[64];
    size_t k = 0;
    int len;

    for (const char *p = org ? org : ""; *p && k < sizeof(clean) - 1; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ascii_alnum(ch) || ch == '.' || ch == '_')
            clean[k++] = (char)ch;
    }
    clean[k] = '\0';
    len = snprintf(buf, n, "MdatpPartner-%s-siemfwd/%s", k ? clean : "Unknown",
                   version ? version : "0");
    if (len < 0 || (size_t)len >= n)
        return -1;
    return len;
}

sf_err sf_http_urlencode(struct sf_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    sf_err err = SF_OK;

    for (const unsigned char *p = (const unsigned char *)s; *p && !err; p++) {
        if (ascii_alnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            err = sf_buf_addc(b, (char)*p);
        } else {
            char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            err = sf_buf_add(b, enc, 3);
        }
    }
    return err;
}
