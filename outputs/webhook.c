/* webhook.c - the `webhook` transport: one HTTPS POST per record it is
 * given, the record as the body with the configured Content-Type (default
 * application/json). Verdicts as for HEC: 2xx delivered; 408/429/5xx
 * retry; network errors reconnect; 401/403/404/405/410 and redirects fatal
 * (the configuration is wrong); other 4xx rejected. Knows no rules and
 * writes no body: the forwarder's notification policy
 * (forwarder/notify_policy.c) and the renderer (formats/notify_webhook.c)
 * do. Owns its handle and headers. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_conf.h"
#include "sf_http.h"
#include "sf_log.h"
#include "sf_output.h"
#include "sf_redact.h"

#define RESP_MAX ((size_t)64 * 1024)
#define HEADERS_MAX 32

struct webhook_conf {
    char *url;
    const struct sf_node *headers, *tmpl, *tls, *legacy_ca_file;
    long long timeout;
};

struct webhook {
    struct sf_output *o;
    struct webhook_conf c;
    struct sf_tls_conf tls;    /* owned: the bound tls: block */
    struct curl_slist *hdrs;   /* the request headers (a list of lines) */
    struct sf_http *http;      /* the shared HTTP sender, one reused handle */
    struct sf_http_resp rs;    /* its answer; the body is cut at RESP_MAX */
    char shown[300];           /* the URL as errors may print it: scheme://host/... */
};

#define C(f) offsetof(struct webhook_conf, f)
static const struct sf_conf_entry webhook_table[] = {
    /* a secret: Slack, Teams and most others put a token in the path */
    { "url", SF_CT_SECRET, NULL, C(url), 0, 0, NULL, 1,
      "https:// URL the JSON documents are POSTed to (a secret: ${ENV}, file:/path or text)" },
    { "headers", SF_CT_NODE, NULL, C(headers), 0, 0, NULL, 0,
      "extra request headers {Name: value}; values may be ${ENV} or file:/path" },
    { "template", SF_CT_NODE, NULL, C(tmpl), 0, 0, NULL, 0,
      "JSON body with ${tenant.name}, ${alert.title}, ${alert.severity}, "
      "${alert.alertWebUrl}, ${record}, ... (values JSON-escaped; $${ is a literal ${; read "
      "by the notification renderer)" },
    { "tls", SF_CT_NODE, NULL, C(tls), 0, 0, NULL, 0,
      "TLS of https URLs: ca_file, cert_file, key_file, verify (the shared tls: table)" },
    { "ca_file", SF_CT_NODE, NULL, C(legacy_ca_file), 0, 0, NULL, 0,
      "deprecated (warned) spelling of tls.ca_file, same meaning" },
    { "timeout", SF_CT_DURATION, "30s", C(timeout), 100, 600000, NULL, 0,
      "deadline of one request" },
    SF_CONF_END
};
#undef C

/* headers: {Name: value}, each value bound as a secret (${ENV}, file:). */
static sf_err bind_headers(struct webhook *w, const struct sf_node *h, const char *path,
                           struct sf_buf *errs)
{
    struct sf_conf_entry table[HEADERS_MAX + 1];
    char *vals[HEADERS_MAX] = { 0 }, kp[320];
    sf_err err;

    snprintf(kp, sizeof(kp), "%s.headers", path);
    if (h->type != SF_NODE_MAP || h->n > HEADERS_MAX) {
        sf_conf_error(errs, h, kp, "expected a mapping of at most %d headers {Name: value}",
                      HEADERS_MAX);
        return SF_ERR_CONFIG;
    }
    memset(table, 0, sizeof(table));
    for (size_t i = 0; i < h->n; i++)
        table[i] = (struct sf_conf_entry){ h->keys[i]->str, SF_CT_SECRET, NULL,
                                           i * sizeof(char *), 0, 0, NULL, 0, "header" };
    err = sf_conf_bind(h, kp, table, NULL, vals, errs);
    for (size_t i = 0; !err && i < h->n; i++) {
        const char *k = h->keys[i]->str;
        int bad = !*k || strcspn(k, ":\r\n \t") != strlen(k) || strcspn(vals[i], "\r\n") !=
                  strlen(vals[i]);
        if (bad) {
            sf_conf_error(errs, h->keys[i], kp, "header %s: names are tokens and values are "
                          "one line", k);
            err = SF_ERR_CONFIG;
            break;
        }
        size_t n = strlen(k) + strlen(vals[i]) + 3;
        char *line = malloc(n);
        struct curl_slist *l = NULL;
        if (line) {
            snprintf(line, n, "%s: %s", k, vals[i]);
            l = curl_slist_append(w->hdrs, line);
            explicit_bzero(line, n);
            free(line);
        }
        if (!l)
            err = SF_ERR_NOMEM;
        else
            w->hdrs = l;
    }
    for (size_t i = 0; i < h->n; i++) {
        if (vals[i])
            explicit_bzero(vals[i], strlen(vals[i]));
        free(vals[i]);
    }
    return err;
}

static int has_header(const struct curl_slist *l, const char *name)
{
    for (; l; l = l->next)
        if (strncasecmp(l->data, name, strlen(name)) == 0 && l->data[strlen(name)] == ':')
            return 1;
    return 0;
}

static sf_err check_conf(struct webhook *w, const struct sf_node *cfg, const char *path,
                         struct sf_buf *errs)
{
    sf_err err = SF_OK;
    char kp[320];

    if (strncmp(w->c.url, "https://", 8) != 0 && strncmp(w->c.url, "http://", 7) != 0) {
        const struct sf_node *at = sf_node_get(cfg, "url");
        snprintf(kp, sizeof(kp), "%s.url", path);
        sf_conf_error(errs, at ? at : cfg, kp, "must start with https:// (or http://)");
        err = SF_ERR_CONFIG;
    }
    if (w->c.headers && !sf_node_is_null(w->c.headers)) {
        sf_err e = bind_headers(w, w->c.headers, path, errs);
        err = err ? err : e;
    }
    struct curl_slist *l;
    if (!err && !has_header(w->hdrs, "Content-Type")) {
        if (!(l = curl_slist_append(w->hdrs, "Content-Type: application/json")))
            return SF_ERR_NOMEM;
        w->hdrs = l;
    }
    if (!err && !(l = curl_slist_append(w->hdrs, "Expect:")))
        return SF_ERR_NOMEM;   /* no 100-continue round trip */
    if (!err)
        w->hdrs = l;
    return err;
}

/* scheme://host[:port]/ and "***" for messages, and the path and query (where
 * the token usually is) known to the redactor apart from the whole URL,
 * which the config binder registered as a secret. */
static sf_err hide_url(struct webhook *w)
{
    const char *u = w->c.url, *host = strstr(u, "://");
    size_t hl;

    host = host ? host + 3 : u;
    hl = strcspn(host, "/?#");
    if (strchr(host, '@') && (size_t)(strchr(host, '@') - host) < hl) {
        /* user:password@host: keep only the host */
        hl -= (size_t)(strchr(host, '@') + 1 - host);
        host = strchr(host, '@') + 1;
    }
    snprintf(w->shown, sizeof(w->shown), "%.*s%.*s/***", (int)(host - u > 16 ? 0 : host - u),
             u, (int)(hl < 200 ? hl : 200), host);
    return host[hl] && sf_redact_add(host + hl) == SF_ERR_NOMEM ? SF_ERR_NOMEM : SF_OK;
}

static void webhook_destroy(struct sf_output *o);

static sf_err webhook_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                           struct sf_buf *errs)
{
    struct webhook *w = calloc(1, sizeof(*w));
    sf_err err;

    if (!w)
        return SF_ERR_NOMEM;
    w->o = o;
    o->ctx = w;
    sf_http_resp_init(&w->rs);
    err = sf_conf_bind(cfg, path, webhook_table, sf_output_common_keys, &w->c, errs);
    if (!err)
        err = check_conf(w, cfg, path, errs);
    if (!err)
        err = hide_url(w);
    if (!err) {
        struct sf_tls_bind_opts to = { .who = o->name, .legacy_ca_file = "ca_file",
                                       .no_server_name = 1,
                                       .quiet = strncmp(w->c.url, "http://", 7) == 0 };
        err = sf_tls_bind(cfg, path, &to, &w->tls, errs);
    }
    if (!err && strncmp(w->c.url, "http://", 7) == 0)
        sf_warn(NULL, o->name, "url %s is http://: alerts, and the token in the URL or"
                " headers, travel unencrypted", w->shown);
    /* borrowed from the document: not kept */
    w->c.headers = w->c.tmpl = w->c.tls = w->c.legacy_ca_file = NULL;
    if (err) {
        webhook_destroy(o);
        o->ctx = NULL;
    }
    return err;
}

static sf_err setup_http(struct webhook *w)
{
    struct sf_http_opts ho = { .user_agent = "siemfwd/" SIEMFWD_VERSION, .tls = &w->tls,
                               .timeout_ms = (long)w->c.timeout, .max_response = RESP_MAX,
                               .cut_body = 1,       /* keep the start; the rest is not needed */
                               .allow_http = 1,     /* http:// is warned at init */
                               .shown = w->shown }; /* the URL path holds tokens */
    char why[256];

    return sf_http_new(&ho, &w->http, why, sizeof(why));
}

/* err and why: what sf_http_do said; http: the status when one came. */
static enum sf_verdict judge(struct webhook *w, sf_err err, const char *why, long http,
                             char *answer, size_t len)
{
    char text[200];
    /* the whole answer is redacted before the cut to text (a server may
     * quote the URL or a header); without memory, cut then redacted */
    const struct sf_buf *resp = &w->rs.body;
    char *full = malloc(resp->len + 1);
    char *to = full ? full : text;
    size_t n = full ? resp->len : resp->len < sizeof(text) - 1 ? resp->len : sizeof(text) - 1;

    for (size_t i = 0; i < n; i++)
        to[i] = (unsigned char)resp->data[i] < 0x20 ? ' ' : resp->data[i];
    to[n] = '\0';
    if (full)
        sf_redact_copy(text, sizeof(text), full);
    else
        sf_redact(text, sizeof(text));
    free(full);
    n = strlen(text);
    if (err != SF_OK) {
        snprintf(answer, len, "POST %s", why);   /* why: "<shown URL>: <curl's reason>" */
        return SF_V_RECONNECT;
    }
    snprintf(answer, len, "HTTP %ld%s%s", http, n ? ": " : "", text);
    if (http >= 200 && http < 300)
        return SF_V_DELIVERED;
    if (http == 408 || http == 429 || http >= 500)
        return SF_V_RETRY;
    if (http < 400 || http == 401 || http == 403 || http == 404 || http == 405 || http == 410) {
        snprintf(answer, len, "POST %s: HTTP %ld%s%s: check `url` and `headers`", w->shown,
                 http, n ? ": " : "", text);
        return SF_V_FATAL;
    }
    return SF_V_REJECTED;
}

static enum sf_verdict post(struct webhook *w, const struct sf_msg *m, char *answer,
                            size_t len)
{
    const char *hv[HEADERS_MAX + 3];
    size_t k = 0;
    char why[CURL_ERROR_SIZE + 320];
    sf_err err;

    if (!w->http && setup_http(w) != SF_OK) {
        snprintf(answer, len, "cannot set up the HTTP client");
        return SF_V_RETRY;
    }
    for (const struct curl_slist *l = w->hdrs; l && k < HEADERS_MAX + 2; l = l->next)
        hv[k++] = l->data;
    hv[k] = NULL;
    struct sf_http_req rq = { .method = "POST", .url = w->c.url, .headers = hv,
                              .body = m->data, .body_len = m->len };
    err = sf_http_do(w->http, &rq, &w->rs, why, sizeof(why));
    return judge(w, err, why, w->rs.status, answer, len);
}

static sf_err webhook_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct webhook *w = o->ctx;

    if (!w->http && setup_http(w) != SF_OK) {
        sf_errf(errbuf, errlen, "cannot set up the HTTP client");
        return SF_ERR_NOMEM;
    }
    return SF_OK;
}

static sf_err webhook_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct webhook *w = o->ctx;
    char answer[512];

    for (size_t i = 0; i < n; i++) {
        answer[0] = '\0';
        enum sf_verdict v = post(w, &msgs[i], answer, sizeof(answer));
        o->verdict(o->verdict_opaque, msgs[i].id, v, answer);
    }
    return SF_OK;
}

static void webhook_poll(struct sf_output *o, int timeout_ms)
{
    (void)o;
    (void)timeout_ms;
}

static size_t webhook_flush(struct sf_output *o, int timeout_ms)
{
    (void)o;
    (void)timeout_ms;
    return 0; /* send() reports every verdict before it returns */
}

static void webhook_destroy(struct sf_output *o)
{
    struct webhook *w = o->ctx;

    if (!w)
        return;
    sf_http_free(w->http);
    sf_http_resp_free(&w->rs);
    for (struct curl_slist *l = w->hdrs; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(w->hdrs);
    sf_conf_release(webhook_table, &w->c);
    sf_tls_release(&w->tls);
    free(w);
    o->ctx = NULL;
}

static const struct sf_notify_cap webhook_notify = { SF_NOTIFY_WEBHOOK, NULL };

const struct sf_output_type sf_output_webhook = {
    .name = "webhook",
    .init = webhook_init,
    .start = webhook_start,
    .send = webhook_send,
    .poll = webhook_poll,
    .flush = webhook_flush,
    .destroy = webhook_destroy,
    .notify = &webhook_notify,
};
