/* sf_http.h - a thin blocking HTTP client over one CURL easy handle
 * (outputs/http_send.c), used by the fetch stage and in the layer the HTTP
 * outputs see: bounded bodies, timeouts, a tls: block, Retry-After.
 * It does not retry, authenticate or interpret statuses (fetch.c does).
 * One sf_http per thread; the response owns its body buffer. */
#ifndef SF_HTTP_H
#define SF_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "sf_buf.h"
#include "sf_err.h"
#include "sf_tls_conf.h"

struct sf_http_opts {
    const char *user_agent;   /* borrowed, copied by curl */
    const struct sf_tls_conf *tls; /* borrowed, copied; NULL: verify against
                                    * the system store */
    long timeout_ms;          /* whole transfer; <= 0 means 30 s */
    size_t max_response;      /* body limit in bytes; 0 means SF_BUF_DEFAULT_MAX */
    const _Atomic int *abort_flag; /* borrowed; nonzero cancels the transfer in
                                    * flight (SF_ERR_STOPPED); NULL: never */
    int allow_http;           /* also plain http:// (the caller warned); else https only */
    int cut_body;             /* a body past max_response is cut there (SF_OK), not
                               * SF_ERR_LIMIT */
    const char *shown;        /* borrowed, copied; what errors call the URL (webhook:
                               * its path holds tokens); NULL: each request's path */
};

struct sf_http_req {
    const char *method;       /* "GET" or "POST" */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
    const char *body;         /* POST body (form-encoded), or NULL */
    size_t body_len;
    size_t max_response;      /* tighter body limit for this call; 0: the client's */
};

struct sf_http_resp {
    long status;              /* HTTP status, 0 when no response arrived */
    int64_t retry_after_ms;   /* parsed Retry-After, -1 when absent or bad */
    struct sf_buf body;       /* owned; reset at every request */
};

struct sf_http;

sf_err sf_http_new(const struct sf_http_opts *o, struct sf_http **out,
                   char *errbuf, size_t errlen);
void sf_http_free(struct sf_http *h);

void sf_http_resp_init(struct sf_http_resp *rs);
void sf_http_resp_free(struct sf_http_resp *rs);

/* Perform one request. SF_OK when a complete response (any status) was
 * received; SF_ERR_TIMEOUT, SF_ERR_NETWORK, SF_ERR_LIMIT (body larger than
 * max_response) or SF_ERR_STOPPED ("stopped": the abort flag was set before
 * or during the call; noticed within about a second, libcurl's progress
 * interval when idle) otherwise. rs->status is set whenever a status line
 * came. */
sf_err sf_http_do(struct sf_http *h, const struct sf_http_req *rq,
                  struct sf_http_resp *rs, char *errbuf, size_t errlen);

/* Retry-After value (RFC 9110 10.2.3: delay-seconds or HTTP-date) in ms
 * relative to now; -1 if unparsable. Capped at one day. */
int64_t sf_http_parse_retry_after(const char *value, time_t now);

/* "MdatpPartner-<org>-siemfwd/<version>" with org reduced to [A-Za-z0-9._]
 * ("Unknown" when nothing is left). Returns the length, or -1 if n is short. */
int sf_http_user_agent(const char *org, const char *version, char *buf, size_t n);

/* Append s percent-encoded (everything but RFC 3986 unreserved). */
sf_err sf_http_urlencode(struct sf_buf *b, const char *s);

#endif
