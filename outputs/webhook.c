/* webhook.c - the `webhook` output: one HTTPS POST of a JSON document per
 * alert (and per flood digest), either siemfwd's own document or a body
 * template for Teams/Slack-style payloads. Verdicts as for HEC: 2xx
 * delivered; 408/429/5xx retry; network errors reconnect; 401/403/404/405/
 * 410 and redirects fatal (the configuration is wrong); other 4xx rejected.
 * Templates are filled by webhook_tmpl.c; rules, memory and flood control
 * are notify_common.c's. Owns its handle, headers and template copy. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_conf.h"
#include "sf_http.h"
#include "sf_log.h"
#include "sf_notify.h"
#include "sf_redact.h"

#define RESP_MAX ((size_t)64 * 1024)
#define HEADERS_MAX 32

struct webhook_conf {
    char *url;
    const struct sf_node *headers, *tmpl, *tls, *legacy_ca_file;
    long long timeout;
};

struct webhook {
    struct sf_notify n;        /* first: sf_notify_test reads o->ctx as one */
    struct sf_output *o;
    struct webhook_conf c;
    struct sf_tls_conf tls;    /* owned: the bound tls: block */
    char *tmpl;                /* owned copy of the template text, or NULL */
    struct curl_slist *hdrs;   /* the request headers (a list of lines) */
    struct sf_http *http;      /* the shared HTTP sender, one reused handle */
    struct sf_http_resp rs;    /* its answer; the body is cut at RESP_MAX */
    struct sf_buf body;
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
      "${alert.alertWebUrl}, ${record}, ... (values JSON-escaped; $${ is a literal ${)" },
    { "tls", SF_CT_NODE, NULL, C(tls), 0, 0, NULL, 0,
      "TLS of https URLs: ca_file, cert_file, key_file, verify (the shared tls: table)" },
    { "ca_file", SF_CT_NODE, NULL, C(legacy_ca_file), 0, 0, NULL, 0,
      "deprecated (warned) spelling of tls.ca_file, same meaning" },
    { "timeout", SF_CT_DURATION, "30s", C(timeout), 100, 600000, NULL, 0,
      "deadline of one request" },
    SF_CONF_END
};
#undef C

static int valid_json(const char *s, size_t len, char *why, size_t whylen)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj;
    int ok;

    if (!tok)
        return 0;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, s, (int)len);
    ok = obj && json_tokener_get_error(tok) == json_tokener_success
         && json_tokener_get_parse_end(tok) == len;
    if (!ok)
        snprintf(why, whylen, "%s", obj ? "trailing bytes after the document"
                 : json_tokener_error_desc(json_tokener_get_error(tok)));
    json_object_put(obj);
    json_tokener_free(tok);
    return ok;
}

/* Fill the template with sample values: names and JSON shape must hold. */
static int check_template(const char *tmpl, const struct sf_node *at, const char *path,
                          struct sf_buf *errs)
{
    struct sf_notify_alert a = { .tenant = "t\"1", .tenant_id = "x", .id = "x",
                                 .title = "a \"quoted\"\ntitle", .severity = "high",
                                 .record_text = "{\"k\":\"v\"}" };
    struct sf_buf b;
    char why[256], kp[320];
    int ok;

    snprintf(kp, sizeof(kp), "%s.template", path);
    sf_buf_init(&b, 0);
    ok = sf_webhook_expand(tmpl, &a, &b, why, sizeof(why)) == SF_OK;
    if (ok && !valid_json(b.data ? b.data : "", b.len, why, sizeof(why))) {
        ok = 0;
        snprintf(why + strlen(why), sizeof(why) - strlen(why), ": the template is not JSON "
                 "once filled in (placeholders go inside \"...\")");
    }
    if (!ok)
        sf_conf_error(errs, at, kp, "%s", why);
    sf_buf_free(&b);
    return ok;
}

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
    if (w->c.tmpl && !sf_node_is_null(w->c.tmpl)) {
        snprintf(kp, sizeof(kp), "%s.template", path);
        if (w->c.tmpl->type != SF_NODE_SCALAR) {
            sf_conf_error(errs, w->c.tmpl, kp, "expected the JSON body as text (a YAML block "
                          "scalar: template: |), got %s", sf_node_type_name(w->c.tmpl));
            err = SF_ERR_CONFIG;
        } else if (!check_template(w->c.tmpl->str, w->c.tmpl, path, errs)) {
            err = SF_ERR_CONFIG;
        } else if (!(w->tmpl = strdup(w->c.tmpl->str))) {
            err = SF_ERR_NOMEM;
        }
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
static const struct sf_notify_ops webhook_ops;

static sf_err webhook_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                           struct sf_buf *errs)
{
    struct webhook *w = calloc(1, sizeof(*w));
    sf_err err, nerr;

    if (!w)
        return SF_ERR_NOMEM;
    w->o = o;
    o->ctx = w;
    sf_buf_init(&w->body, 0);
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
    nerr = sf_notify_init(&w->n, o, cfg, path, &webhook_ops, w, errs);
    if (!err)
        err = nerr;
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

static enum sf_verdict post(struct webhook *w, char *answer, size_t len)
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
                              .body = w->body.data ? w->body.data : "",
                              .body_len = w->body.len };
    err = sf_http_do(w->http, &rq, &w->rs, why, sizeof(why));
    return judge(w, err, why, w->rs.status, answer, len);
}

static void add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

/* siemfwd's own document for one alert (no template configured). */
static sf_err default_alert(const struct sf_notify_alert *a, struct sf_buf *out)
{
    json_object *o = json_object_new_object(), *t = json_object_new_object();
    json_object *dev = json_object_new_array();
    sf_err err = SF_ERR_NOMEM;

    if (o && t && dev) {
        /* operational events (outputs[].events) carry siemfwd_event */
        add_str(o, "type", a->record && json_object_object_get_ex(a->record, "siemfwd_event",
                                                                  NULL) ? "event" : "alert");
        add_str(o, "rule", a->rule);
        add_str(t, "name", a->tenant);
        add_str(t, "id", a->tenant_id);
        json_object_object_add(o, "tenant", json_object_get(t));
        add_str(o, "id", a->id);
        add_str(o, "title", a->title);
        add_str(o, "severity", a->severity);
        add_str(o, "status", a->status);
        add_str(o, "category", a->category);
        add_str(o, "link", a->link[0] ? a->link : NULL);
        for (size_t i = 0; i < a->ndevices; i++)
            json_object_array_add(dev, json_object_new_string(a->devices[i]));
        json_object_object_add(o, "devices", json_object_get(dev));
        json_object_object_add(o, "alert", a->record ? json_object_get(a->record) : NULL);
        err = sf_buf_adds(out, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    json_object_put(o);
    json_object_put(t);
    json_object_put(dev);
    return err;
}

static enum sf_verdict webhook_alert(void *tctx, const struct sf_notify_alert *a,
                                     char *answer, size_t len)
{
    struct webhook *w = tctx;
    sf_err err;

    sf_buf_reset(&w->body);
    err = w->tmpl ? sf_webhook_expand(w->tmpl, a, &w->body, answer, len)
                  : default_alert(a, &w->body);
    if (err) {
        if (!w->tmpl)
            snprintf(answer, len, "cannot build the document: %s", sf_strerror(err));
        return SF_V_RETRY;
    }
    return post(w, answer, len);
}

static json_object *digest_doc(const struct sf_notify_digest *d, char *title, size_t tlen)
{
    static const char *const words[] = { "Unknown", "Informational", "Low", "Medium", "High" };
    json_object *o = json_object_new_object(), *items = json_object_new_array();
    char from[64], until[64];

    if (!o || !items) {
        json_object_put(o);
        json_object_put(items);
        return NULL;
    }
    sf_email_date(d->from_ms, from, sizeof(from));
    sf_email_date(d->until_ms, until, sizeof(until));
    snprintf(title, tlen, "Digest: %zu alert%s held by flood control (highest: %s)", d->n,
             d->n == 1 ? "" : "s", words[d->max_rank >= 0 && d->max_rank <= 4 ? d->max_rank : 0]);
    add_str(o, "type", "digest");
    add_str(o, "title", title);
    add_str(o, "rule", d->rule);
    add_str(o, "limit", d->limit);
    add_str(o, "from", from);
    add_str(o, "until", until);
    json_object_object_add(o, "count", json_object_new_int64((int64_t)d->n));
    for (size_t i = 0; i < d->n; i++) {
        const struct sf_notify_item *it = &d->items[i];
        json_object *x = json_object_new_object();
        if (!x)
            break;
        add_str(x, "tenant", it->tenant);
        add_str(x, "tenantId", it->tenant_id);
        add_str(x, "id", it->alert_id);
        add_str(x, "severity", it->severity);
        add_str(x, "title", it->title);
        add_str(x, "link", it->link);
        json_object_array_add(items, x);
    }
    json_object_object_add(o, "alerts", items);
    return o;
}

/* With a template the digest fills it as one "alert": the title says how
 * many, the description lists them, ${record} is the digest document. */
static sf_err templated_digest(struct webhook *w, const struct sf_notify_digest *d,
                               json_object *doc, const char *title, char *answer, size_t len)
{
    static const char *const sevs[] = { "", "informational", "low", "medium", "high" };
    struct sf_notify_alert a = { .title = title, .rule = d->rule, .record = doc };
    struct sf_buf list, tenants;
    sf_err err;

    sf_buf_init(&list, 0);
    sf_buf_init(&tenants, 0);
    for (size_t i = 0; i < d->n; i++) {
        const struct sf_notify_item *it = &d->items[i];
        const char *t = it->tenant ? it->tenant : "";
        size_t k = 0;
        sf_buf_printf(&list, "%s[%s] %s: %s", i ? "\n" : "", t,
                      it->severity ? it->severity : "", it->title ? it->title : "");
        while (k < i && strcmp(d->items[k].tenant ? d->items[k].tenant : "", t) != 0)
            k++;
        if (k == i)   /* first item of this tenant */
            sf_buf_printf(&tenants, "%s%s", tenants.len ? ", " : "", t);
    }
    const char *sev = sevs[d->max_rank >= 0 && d->max_rank <= 4 ? d->max_rank : 0];
    a.severity = sev;
    a.sev_rank = d->max_rank;
    a.tenant = tenants.data ? tenants.data : "";
    a.description = list.data ? list.data : "";
    a.record_text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    a.record_len = strlen(a.record_text);
    err = sf_webhook_expand(w->tmpl, &a, &w->body, answer, len);
    sf_buf_free(&list);
    sf_buf_free(&tenants);
    return err;
}

static enum sf_verdict webhook_digest(void *tctx, const struct sf_notify_digest *d,
                                      char *answer, size_t len)
{
    struct webhook *w = tctx;
    char title[160];
    json_object *doc = digest_doc(d, title, sizeof(title));
    sf_err err = doc ? SF_OK : SF_ERR_NOMEM;

    sf_buf_reset(&w->body);
    if (!err && w->tmpl)
        err = templated_digest(w, d, doc, title, answer, len);
    else if (!err)
        err = sf_buf_adds(&w->body, json_object_to_json_string_ext(
                              doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(doc);
    if (err) {
        snprintf(answer, len, "cannot build the digest: %s", sf_strerror(err));
        return SF_V_RETRY;
    }
    return post(w, answer, len);
}

static const struct sf_notify_ops webhook_ops = { webhook_alert, webhook_digest };

static sf_err webhook_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct webhook *w = o->ctx;

    if (!w->http && setup_http(w) != SF_OK) {
        sf_errf(errbuf, errlen, "cannot set up the HTTP client");
        return SF_ERR_NOMEM;
    }
    return sf_notify_start(&w->n, errbuf, errlen);
}

static sf_err webhook_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct webhook *w = o->ctx;

    sf_notify_send(&w->n, msgs, n);
    return SF_OK;
}

static void webhook_poll(struct sf_output *o, int timeout_ms)
{
    struct webhook *w = o->ctx;

    sf_notify_service(&w->n, 0);
}

static size_t webhook_flush(struct sf_output *o, int timeout_ms)
{
    struct webhook *w = o->ctx;

    sf_notify_service(&w->n, 0);
    return 0; /* send() reports every verdict before it returns */
}

static void webhook_destroy(struct sf_output *o)
{
    struct webhook *w = o->ctx;

    if (!w)
        return;
    sf_notify_fini(&w->n);   /* may still send digests: before the handle goes */
    sf_http_free(w->http);
    sf_http_resp_free(&w->rs);
    for (struct curl_slist *l = w->hdrs; l; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(w->hdrs);
    free(w->tmpl);
    sf_buf_free(&w->body);
    sf_conf_release(webhook_table, &w->c);
    sf_tls_release(&w->tls);
    free(w);
    o->ctx = NULL;
}

const struct sf_output_type sf_output_webhook = {
    .name = "webhook",
    .init = webhook_init,
    .start = webhook_start,
    .send = webhook_send,
    .poll = webhook_poll,
    .flush = webhook_flush,
    .destroy = webhook_destroy,
};
