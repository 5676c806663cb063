/* hec.c - the Splunk HTTP Event Collector output (`type: hec`): config,
 * one keep-alive connection through the shared HTTP sender (sf_http.h),
 * batching, POST /services/collector/event.
 * Envelopes and gzip are in hec_batch.c; verdicts per reply (reference
 * §4.6), batch splitting and indexer acks in hec_ack.c. Retry policy is the pipeline's:
 * this file only reports verdicts. The ctx owns every batch it holds. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sf_clock.h"
#include "hec.h"
#include "sf_conf.h"
#include "sf_log.h"

#define RESP_MAX ((size_t)1024 * 1024)


#define C(f) offsetof(struct hec_conf, f)
static const struct sf_conf_entry hec_table[] = {
    { "url", SF_CT_STRING, NULL, C(url), 0, 0, NULL, 1,
      "HEC base URL, e.g. https://splunk.example:8088 (paths are appended)" },
    { "token", SF_CT_SECRET, NULL, C(token), 0, 0, NULL, 1,
      "HEC token: ${ENV} or file:/path; sent as Authorization: Splunk <token>" },
    { "index", SF_CT_STRING, NULL, C(index), 0, 0, NULL, 0,
      "index of every event (default: the token's default index)" },
    { "sourcetype", SF_CT_STRING, "siemfwd:alert", C(sourcetype), 0, 0, NULL, 0,
      "sourcetype of every event" },
    { "source", SF_CT_STRING, "siemfwd", C(source), 0, 0, NULL, 0, "source of every event" },
    { "host", SF_CT_STRING, NULL, C(host), 0, 0, NULL, 0,
      "host of every event (default: this machine's hostname)" },
    { "ack", SF_CT_BOOL, "false", C(ack), 0, 0, NULL, 0,
      "use indexer acknowledgement (the token must have it enabled)" },
    { "ack_timeout", SF_CT_DURATION, "300s", C(ack_timeout), 100, 3600000, NULL, 0,
      "records whose ack is not true after this are handed back for resending" },
    { "ack_poll_interval", SF_CT_DURATION, "2s", C(ack_poll_interval), 10, 600000, NULL, 0,
      "how often pending ackIds are queried" },
    { "batch_max_bytes", SF_CT_SIZE, "1000000", C(batch_max_bytes), 1024, 838860800, NULL, 0,
      "most uncompressed bytes in one POST (Splunk Cloud accepts 1 MB)" },
    { "batch_max_events", SF_CT_INT, "1000", C(batch_max_events), 1, 1000000, NULL, 0,
      "most events in one POST" },
    { "batch_timeout", SF_CT_DURATION, "1s", C(batch_timeout), 0, 600000, NULL, 0,
      "a partly filled batch is sent after this long" },
    { "gzip", SF_CT_BOOL, "true", C(gzip), 0, 0, NULL, 0, "gzip request bodies" },
    { "channel", SF_CT_STRING, NULL, C(channel), 0, 0, NULL, 0,
      "channel GUID for acks (default: a random one per instance)" },
    { "tls", SF_CT_NODE, NULL, C(tls), 0, 0, NULL, 0,
      "TLS of https URLs: ca_file, cert_file, key_file, verify (the shared tls: table)" },
    { "timeout", SF_CT_DURATION, "30s", C(timeout), 100, 600000, NULL, 0,
      "deadline of one HTTP request" },
    SF_CONF_END
};
#undef C


int64_t sf_hec_now_ms(void)
{
    return sf_mono_ms();
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    if (ms > 0)
        nanosleep(&ts, NULL);
}

void sf_hec_report(struct hec *h, const struct hec_batch *b, size_t from, size_t to,
                   enum sf_verdict v, const char *reason)
{
    for (size_t i = from; i < to; i++) {
        h->reported++;
        if (h->o->verdict)
            h->o->verdict(h->o->verdict_opaque, b->ids[i], v, reason);
    }
}

static int is_guid(const char *s)
{
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

    if (strlen(s) != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++) {
        int hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')
                  || (s[i] >= 'A' && s[i] <= 'F');
        if (shape[i] == '-' ? s[i] != '-' : !hex)
            return 0;
    }
    return 1;
}

/* A random RFC 4122 version 4 GUID (§4.5: the client makes the channel up). */
static sf_err random_guid(char out[40])
{
    unsigned char r[16];

    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return SF_ERR_IO;
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 40, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
             r[12], r[13], r[14], r[15]);
    return SF_OK;
}

static void conf_err(struct sf_buf *errs, const struct sf_node *cfg, const char *path,
                     const char *key, const char *msg)
{
    char kp[320];
    const struct sf_node *n = sf_node_get(cfg, key);

    snprintf(kp, sizeof(kp), "%s.%s", path, key);
    sf_conf_error(errs, n ? n : cfg, kp, "%s", msg);
}

/* Checks sf_conf_bind cannot express; binds the tls sub-map. */
static sf_err check_conf(struct hec *h, const struct sf_node *cfg, const char *path,
                         struct sf_buf *errs)
{
    struct hec_conf *c = &h->conf;
    struct sf_tls_bind_opts to = { .no_server_name = 1 };
    sf_err err = SF_OK;

    if (strncmp(c->url, "https://", 8) != 0 && strncmp(c->url, "http://", 7) != 0) {
        conf_err(errs, cfg, path, "url", "must start with https:// (or http://)");
        err = SF_ERR_CONFIG;
    }
    if (c->channel && !is_guid(c->channel)) {
        conf_err(errs, cfg, path, "channel", "must be a GUID like 8-4-4-4-12 hex digits");
        err = SF_ERR_CONFIG;
    }
    if (err)
        return err;
    /* said once per load (run, reload, check), as the operator chose it;
     * plain http:// is warned by hec_init, tls: does not apply to it */
    to.who = h->o->name;
    to.quiet = strncmp(c->url, "http://", 7) == 0;
    return sf_tls_bind(cfg, path, &to, &h->tls, errs);
}

static char *join_url(const char *base, const char *suffix)
{
    size_t n = strlen(base);
    char *s;

    while (n > 0 && base[n - 1] == '/')
        n--;
    s = malloc(n + strlen(suffix) + 1);
    if (s) {
        memcpy(s, base, n);
        strcpy(s + n, suffix);
    }
    return s;
}

/* Defaults that need the machine (host name, channel) and derived URLs. */
static sf_err fill_ctx(struct hec *h)
{
    char name[256];

    if (!h->conf.host) {
        if (gethostname(name, sizeof(name)) != 0)
            snprintf(name, sizeof(name), "localhost");
        name[sizeof(name) - 1] = '\0';
        h->conf.host = strdup(name);
        if (!h->conf.host)
            return SF_ERR_NOMEM;
    }
    if (h->conf.channel)
        snprintf(h->channel, sizeof(h->channel), "%s", h->conf.channel);
    else if (random_guid(h->channel))
        return SF_ERR_IO;
    h->url_event = join_url(h->conf.url, "/services/collector/event");
    h->url_ack = join_url(h->conf.url, "/services/collector/ack");
    h->url_health = join_url(h->conf.url, "/services/collector/health");
    if (!h->url_event || !h->url_ack || !h->url_health)
        return SF_ERR_NOMEM;
    h->work_tail = &h->work;
    h->acks_tail = &h->acks;
    sf_http_resp_init(&h->rs);
    sf_buf_init(&h->gz, SF_BUF_DEFAULT_MAX);
    sf_buf_init(&h->env, SF_BUF_DEFAULT_MAX);
    return SF_OK;
}

static void hec_destroy(struct sf_output *o);

static sf_err hec_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                       struct sf_buf *errs)
{
    struct hec *h = calloc(1, sizeof(*h));
    sf_err err;

    if (!h)
        return SF_ERR_NOMEM;
    h->o = o;
    o->ctx = h;
    err = sf_conf_bind(cfg, path, hec_table, sf_output_common_keys, &h->conf, errs);
    if (!err)
        err = check_conf(h, cfg, path, errs);
    if (!err)
        err = fill_ctx(h);
    /* said once per load (run, reload, check), as the operator chose it */
    if (!err && strncmp(h->conf.url, "http://", 7) == 0)
        sf_warn(NULL, o->name, "url %s is http://: alerts and the HEC token travel"
                " unencrypted", h->conf.url);
    h->conf.tls = NULL; /* borrowed from the document: not kept past init */
    if (err) {
        hec_destroy(o);
        o->ctx = NULL;
    }
    return err;
}

static int add_header(struct curl_slist **l, const char *line)
{
    struct curl_slist *t = curl_slist_append(*l, line);
    if (t)
        *l = t;
    return t != NULL;
}

static sf_err build_headers(struct hec *h)
{
    char chan[128];
    char *auth;
    size_t n = strlen(h->conf.token) + 32;
    sf_err err = SF_ERR_NOMEM;

    auth = malloc(n);
    if (!auth)
        return SF_ERR_NOMEM;
    snprintf(auth, n, "Authorization: Splunk %s", h->conf.token);
    snprintf(chan, sizeof(chan), "X-Splunk-Request-Channel: %s", h->channel);
    for (int i = 0; i < 2; i++) {
        struct curl_slist **l = i ? &h->hdr_data : &h->hdr_plain;
        /* "Expect:" off: no 100-continue round trip before each body. */
        if (!add_header(l, auth) || !add_header(l, "Content-Type: application/json")
            || !add_header(l, "Expect:"))
            goto out;
        if (h->conf.ack && !add_header(l, chan))
            goto out;
        if (i && h->conf.gzip && !add_header(l, "Content-Encoding: gzip"))
            goto out;
    }
    err = SF_OK;
out:
    explicit_bzero(auth, n);
    free(auth);
    return err;
}

static sf_err setup_http(struct hec *h)
{
    struct sf_http_opts ho = { .user_agent = "siemfwd/" SIEMFWD_VERSION, .tls = &h->tls,
                               .timeout_ms = (long)h->conf.timeout,
                               .max_response = RESP_MAX,
                               .allow_http = 1 };   /* http:// is warned at init */
    char why[256];
    sf_err err = build_headers(h);

    if (!err)
        err = sf_http_new(&ho, &h->http, why, sizeof(why));
    if (err) {
        curl_slist_free_all(h->hdr_data);
        curl_slist_free_all(h->hdr_plain);
        h->hdr_data = h->hdr_plain = NULL;
    }
    return err;
}

/* The header lines of l as the NULL-terminated list sf_http takes. */
static void header_list(const struct curl_slist *l, const char **v, size_t max)
{
    size_t k = 0;

    for (; l && k + 1 < max; l = l->next)
        v[k++] = l->data;
    v[k] = NULL;
}

void sf_hec_exchange(struct hec *h, const char *url, const char *body, size_t len,
                     int data_headers, struct hec_reply *r)
{
    const char *hv[16];
    char why[CURL_ERROR_SIZE + 300];
    sf_err err;

    header_list(data_headers ? h->hdr_data : h->hdr_plain, hv, sizeof(hv) / sizeof(hv[0]));
    struct sf_http_req rq = { .method = body ? "POST" : "GET", .url = url, .headers = hv,
                              .body = body, .body_len = len };
    err = sf_http_do(h->http, &rq, &h->rs, why, sizeof(why));
    if (err != SF_OK) {
        /* sf_http says "<path>: <reason>"; callers add the URL themselves */
        const char *reason = strstr(why, ": ");
        r->http = 0;
        r->code = -1;
        r->ack_id = -1;
        r->invalid_event = -1;
        snprintf(r->text, sizeof(r->text), "%s", reason ? reason + 2 : why);
        return;
    }
    r->http = h->rs.status;
    sf_hec_parse_reply(h->rs.body.data, h->rs.body.len, r);
}

/* POST an empty body: Splunk checks the token before the data (code 5
 * "No data" means the token is good), so a bad token shows at start. */
static sf_err probe_token(struct hec *h, char *errbuf, size_t errlen)
{
    struct hec_reply r;

    sf_hec_exchange(h, h->url_event, "", 0, 0, &r);
    if (r.http == 0) {
        sf_errf(errbuf, errlen, "%s: %s", h->url_event, r.text);
        return SF_ERR_NETWORK;
    }
    if (sf_hec_is_auth_code(r.code)) {
        sf_errf(errbuf, errlen, "%s: token refused: HTTP %ld code %d (%s)", h->url_event,
                r.http, r.code, r.text);
        return SF_ERR_AUTH;
    }
    if (r.code == 10 || r.code == 11) {
        sf_errf(errbuf, errlen, "%s: the token has indexer acknowledgement enabled: set "
                "ack: true (HTTP %ld code %d: %s)", h->url_event, r.http, r.code, r.text);
        return SF_ERR_CONFIG;
    }
    if (r.http == 404 || r.http == 405) {
        sf_errf(errbuf, errlen, "%s: no HEC endpoint there (HTTP %ld)", h->url_event, r.http);
        return SF_ERR_CONFIG;
    }
    return SF_OK;
}

static sf_err hec_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct hec *h = o->ctx;
    struct hec_reply r;
    sf_err err;

    if (!h->http) {
        err = setup_http(h);
        if (err) {
            sf_errf(errbuf, errlen, "%s: cannot set up the HTTP client: %s", h->conf.url,
                    sf_strerror(err));
            return err;
        }
    }
    sf_hec_exchange(h, h->url_health, NULL, 0, 0, &r);
    if (r.http == 0) {
        sf_errf(errbuf, errlen, "%s: %s", h->url_health, r.text);
        return SF_ERR_NETWORK;
    }
    if (r.http != 200 || r.code != 17) {
        sf_errf(errbuf, errlen, "%s: HEC is not healthy: HTTP %ld code %d (%s)",
                h->url_health, r.http, r.code, r.text);
        return SF_ERR_HTTP;
    }
    return probe_token(h, errbuf, errlen);
}

static void post_batch(struct hec *h, struct hec_batch *b)
{
    struct hec_reply r;
    const char *body = b->body.data;
    size_t len = b->body.len;

    if (h->conf.gzip) {
        sf_err err = sf_hec_gzip(h, body, len);
        if (err) {
            sf_hec_report(h, b, 0, b->n, SF_V_RETRY, "HEC output cannot gzip the batch");
            sf_hec_batch_free(b);
            return;
        }
        body = h->gz.data;
        len = h->gz.len;
    }
    sf_hec_exchange(h, h->url_event, body, len, 1, &r);
    if (!sf_hec_judge(h, b, &r))
        sf_hec_batch_free(b);
}

static void run_work(struct hec *h)
{
    while (h->work) {
        struct hec_batch *b = h->work;
        h->work = b->next;
        if (!h->work)
            h->work_tail = &h->work;
        b->next = NULL;
        post_batch(h, b);
    }
}

/* Close the filling batch and POST everything queued. */
static void send_open(struct hec *h)
{
    if (h->open) {
        *h->work_tail = h->open;
        h->work_tail = &h->open->next;
        h->open = NULL;
    }
    run_work(h);
}

static void send_one(struct hec *h, const struct sf_msg *m)
{
    struct sf_output *o = h->o;
    struct hec_batch one = { .ids = (uint64_t *)&m->id, .n = 1 };
    char why[160];
    sf_err err;

    if (o->max_record && m->len > o->max_record) {
        snprintf(why, sizeof(why), "record of %zu bytes exceeds the limit of %zu", m->len,
                 o->max_record);
        sf_hec_report(h, &one, 0, 1, SF_V_REJECTED, why);
        return;
    }
    sf_buf_reset(&h->env);
    err = sf_hec_envelope(h, &h->env, m);
    if (err) {
        snprintf(why, sizeof(why), "cannot build the HEC envelope: %s", sf_strerror(err));
        sf_hec_report(h, &one, 0, 1, err == SF_ERR_NOMEM ? SF_V_RETRY : SF_V_REJECTED, why);
        return;
    }
    if (h->open && h->open->body.len + h->env.len > (size_t)h->conf.batch_max_bytes)
        send_open(h);
    if (!h->open && !(h->open = sf_hec_batch_new())) {
        sf_hec_report(h, &one, 0, 1, SF_V_RETRY, "HEC output out of memory");
        return;
    }
    if (sf_hec_batch_add(h->open, h->env.data, h->env.len, m->id)) {
        sf_hec_report(h, &one, 0, 1, SF_V_RETRY, "HEC output out of memory");
        return;
    }
    if (h->open->n >= (size_t)h->conf.batch_max_events
        || h->open->body.len >= (size_t)h->conf.batch_max_bytes)
        send_open(h);
}

static sf_err hec_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct hec *h = o->ctx;

    if (!h->http)
        return SF_ERR_INTERNAL; /* send before start */
    for (size_t i = 0; i < n; i++)
        send_one(h, &msgs[i]);
    return SF_OK;
}

/* Due work: an expired partial batch, queued splits, acks. */
static void service(struct hec *h)
{
    if (h->open && sf_hec_now_ms() - h->open->opened_ms >= h->conf.batch_timeout)
        send_open(h);
    else
        run_work(h);
    sf_hec_ack_service(h, 0);
}

static int64_t next_due(const struct hec *h)
{
    int64_t due = sf_hec_ack_next_due(h);

    if (h->open) {
        int64_t t = h->open->opened_ms + h->conf.batch_timeout;
        if (!due || t < due)
            due = t;
    }
    return due;
}

static void hec_poll(struct sf_output *o, int timeout_ms)
{
    struct hec *h = o->ctx;
    int64_t deadline = sf_hec_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    uint64_t before = h->reported;

    if (!h->http)
        return;
    for (;;) {
        service(h);
        int64_t now = sf_hec_now_ms();
        int64_t due = next_due(h);
        if (h->reported != before || !due || now >= deadline)
            return;
        sleep_ms((due < deadline ? due : deadline) - now);
    }
}

static size_t hec_flush(struct sf_output *o, int timeout_ms)
{
    struct hec *h = o->ctx;
    int64_t deadline = sf_hec_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    if (!h->http)
        return h->open ? h->open->n : 0;
    send_open(h);
    while (h->acks) {
        sf_hec_ack_service(h, 0);
        int64_t now = sf_hec_now_ms();
        int64_t due = sf_hec_ack_next_due(h);
        if (!due || now >= deadline)
            break;
        sleep_ms((due < deadline ? due : deadline) - now);
    }
    return sf_hec_ack_pending(h);
}

static void free_list(struct hec_batch *b)
{
    while (b) {
        struct hec_batch *next = b->next;
        sf_hec_batch_free(b);
        b = next;
    }
}

static void hec_destroy(struct sf_output *o)
{
    struct hec *h = o->ctx;

    if (!h)
        return;
    sf_hec_batch_free(h->open);
    free_list(h->work);
    free_list(h->acks);
    sf_http_free(h->http);
    curl_slist_free_all(h->hdr_data);
    curl_slist_free_all(h->hdr_plain);
    if (h->zs_ready)
        deflateEnd(&h->zs);
    sf_http_resp_free(&h->rs);
    sf_buf_free(&h->gz);
    sf_buf_free(&h->env);
    free(h->url_event);
    free(h->url_ack);
    free(h->url_health);
    if (h->conf.token)
        explicit_bzero(h->conf.token, strlen(h->conf.token));
    sf_conf_release(hec_table, &h->conf);
    sf_tls_release(&h->tls);
    free(h);
    o->ctx = NULL;
}

const struct sf_output_type sf_output_hec = {
    .name = "hec",
    .init = hec_init,
    .start = hec_start,
    .send = hec_send,
    .poll = hec_poll,
    .flush = hec_flush,
    .destroy = hec_destroy,
};
