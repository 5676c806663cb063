/* metrics.c - a minimal HTTP/1.0 server for Prometheus scrapes: GET /metrics
 * (text format 0.0.4) and GET /healthz, and the status page: GET / (HTML,
 * status_page.c) and GET /status.json (status.c). Up to MAX_CONNS clients
 * at once on one poll loop, each request and answer bounded in size and
 * time; everything else gets 404. Owns its socket and thread; borrows the
 * pipeline between attach calls. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "sf_buf.h"
#include "sf_cluster.h"
#include "sf_log.h"
#include "sf_metrics.h"
#include "sf_pipeline.h"
#include "sf_status.h"

#define REQ_MAX 4096
#define REQ_TIMEOUT_MS 2000
#define MAX_CONNS 64        /* clients served at once; past it the most idle goes */

struct sf_metrics {
    int fd;
    int stop_pipe[2];
    pthread_t thread;
    pthread_mutex_t mu;     /* guards p */
    struct sf_pipeline *p;
};

static void esc_label(struct sf_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            sf_buf_addc(b, '\\');
        if (*s == '\n') {
            sf_buf_adds(b, "\\n");
            continue;
        }
        sf_buf_addc(b, *s);
    }
}

static void metric(struct sf_buf *b, const char *name, const char *tenant,
                   const char *output, double v)
{
    sf_buf_adds(b, name);
    if (tenant || output) {
        sf_buf_addc(b, '{');
        if (tenant) {
            sf_buf_adds(b, "tenant=\"");
            esc_label(b, tenant);
            sf_buf_addc(b, '"');
        }
        if (output) {
            sf_buf_adds(b, tenant ? ",output=\"" : "output=\"");
            esc_label(b, output);
            sf_buf_addc(b, '"');
        }
        sf_buf_addc(b, '}');
    }
    sf_buf_printf(b, " %.15g\n", v);
}

static void help(struct sf_buf *b, const char *name, const char *type, const char *text)
{
    sf_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* Per (tenant, output) values from the state store. The text format wants
 * every sample of one metric in one group, so one pass per metric. */
enum cursor_metric { CM_DELIVERED, CM_QUARANTINED, CM_LAG, CM_LAST_SUCCESS, CM_COUNT };

static const struct {
    const char *name, *type, *text;
} cursor_metrics[CM_COUNT] = {
    { "siemfwd_delivered_total", "counter", "records acknowledged per tenant and output (all time)" },
    { "siemfwd_quarantined_total", "counter", "records refused for good, kept in state_dir/quarantine" },
    { "siemfwd_cursor_lag_seconds", "gauge", "age of the cursor: now minus its last-update watermark" },
    { "siemfwd_last_success_timestamp_seconds", "gauge", "when a window last completed" },
};

struct cursor_pass {
    struct sf_buf *b;
    enum cursor_metric which;
    int64_t now;
};

static void cursor_row(void *opaque, const char *tenant, const char *output,
                       const struct sf_cursor *c)
{
    struct cursor_pass *cp = opaque;
    const char *name = cursor_metrics[cp->which].name;
    switch (cp->which) {
    case CM_DELIVERED:
        metric(cp->b, name, tenant, output, (double)c->delivered);
        break;
    case CM_QUARANTINED:
        metric(cp->b, name, tenant, output, (double)c->quarantined);
        break;
    case CM_LAG:
        if (c->watermark_ms > 0)
            metric(cp->b, name, tenant, output, (double)(cp->now - c->watermark_ms) / 1000.0);
        break;
    default:
        metric(cp->b, name, tenant, output, (double)c->last_success_ms / 1000.0);
        break;
    }
}

static void cursor_metrics_all(struct sf_buf *b, struct sf_state *st)
{
    struct cursor_pass cp = { b, CM_DELIVERED, sf_now_ms() };
    for (int k = 0; k < CM_COUNT; k++) {
        cp.which = (enum cursor_metric)k;
        help(b, cursor_metrics[k].name, cursor_metrics[k].type, cursor_metrics[k].text);
        sf_state_each(st, cursor_row, &cp);
    }
}

static void tenant_metrics(struct sf_buf *b, struct sf_pipeline *p)
{
    static const struct { const char *name, *type, *text; } h[] = {
        { "siemfwd_alerts_fetched_total", "counter", "alerts read from the API" },
        { "siemfwd_records_rendered_total", "counter", "records rendered for outputs" },
        { "siemfwd_api_throttled_total", "counter", "HTTP 429 answers from the API" },
        { "siemfwd_tenant_auth_failed", "gauge", "1 while consent or credentials are refused" },
    };
    for (size_t k = 0; k < 4; k++) {
        help(b, h[k].name, h[k].type, h[k].text);
        for (size_t i = 0; i < p->ntenants; i++) {
            struct sf_tenant_rt *t = &p->tenants[i];
            double v = k == 0 ? (double)t->fetched : k == 1 ? (double)t->rendered
                     : k == 2 ? (double)t->throttled : (double)t->auth_failed;
            metric(b, h[k].name, t->tc->name, NULL, v);
        }
    }
}

static void output_metrics(struct sf_buf *b, struct sf_pipeline *p)
{
    help(b, "siemfwd_output_retried_total", "counter", "records an output must resend");
    for (size_t i = 0; i < p->nouts; i++)
        metric(b, "siemfwd_output_retried_total", NULL, p->outs[i].out.name,
               (double)p->outs[i].stats.retried);
    help(b, "siemfwd_output_connected", "gauge", "1 when the last delivery succeeded");
    for (size_t i = 0; i < p->nouts; i++)
        metric(b, "siemfwd_output_connected", NULL, p->outs[i].out.name,
               (double)p->outs[i].stats.connected);
    help(b, "siemfwd_output_batches_total", "counter", "send rounds");
    for (size_t i = 0; i < p->nouts; i++)
        metric(b, "siemfwd_output_batches_total", NULL, p->outs[i].out.name,
               (double)p->outs[i].stats.batches);
    help(b, "siemfwd_output_queued_bytes", "gauge",
         "memory held by records waiting for this output (budget: queue_max_bytes)");
    for (size_t i = 0; i < p->nouts; i++)
        metric(b, "siemfwd_output_queued_bytes", NULL, p->outs[i].out.name,
               (double)p->outs[i].stats.queued_bytes);
    help(b, "siemfwd_output_queued_records", "gauge",
         "records waiting to be sent or resent to this output");
    for (size_t i = 0; i < p->nouts; i++)
        metric(b, "siemfwd_output_queued_records", NULL, p->outs[i].out.name,
               (double)p->outs[i].stats.queued_records);
}

/* Cluster mode only (sf_cluster.h): absent when running alone. */
static void cluster_metrics(struct sf_buf *b, struct sf_pipeline *p)
{
    struct sf_cluster_stats cs;
    if (!p->cluster)
        return;
    sf_cluster_stats(p->cluster, &cs);
    help(b, "siemfwd_cluster_owned_tenants", "gauge",
         "tenants assigned to this instance and polled by it");
    metric(b, "siemfwd_cluster_owned_tenants", NULL, NULL, (double)cs.owned_tenants);
    help(b, "siemfwd_cluster_rebalances_total", "counter",
         "assignment changes seen (assigned, revoked, lost)");
    metric(b, "siemfwd_cluster_rebalances_total", NULL, NULL, (double)cs.rebalances);
    help(b, "siemfwd_cluster_takeover_seconds", "gauge",
         "the last assignment: from the group's answer until its tenants were polled "
         "(cursors read, unclean-takeover wait)");
    metric(b, "siemfwd_cluster_takeover_seconds", NULL, NULL, cs.takeover_seconds);
    help(b, "siemfwd_cluster_config_drift", "gauge",
         "1 while a live instance of the group has another tenant list");
    metric(b, "siemfwd_cluster_config_drift", NULL, NULL, (double)cs.drift);
    help(b, "siemfwd_cluster_alive", "gauge",
         "1 while the consumer loop runs and its assignment is trusted (zombie guard)");
    metric(b, "siemfwd_cluster_alive", NULL, NULL, (double)cs.alive);
}

static void render(struct sf_metrics *m, struct sf_buf *b)
{
    pthread_mutex_lock(&m->mu);
    struct sf_pipeline *p = m->p;
    if (p) {
        pthread_mutex_lock(&p->mu);
        tenant_metrics(b, p);
        output_metrics(b, p);
        pthread_mutex_unlock(&p->mu);
        help(b, "siemfwd_token_renewals_total", "counter", "OAuth2 tokens fetched");
        metric(b, "siemfwd_token_renewals_total", NULL, NULL,
               (double)sf_token_cache_renewals(p->tokens));
        cluster_metrics(b, p);
        cursor_metrics_all(b, p->state);
    }
    pthread_mutex_unlock(&m->mu);
}

/* The page runs only its own inline script and talks only to us; data
 * from status.json can never load anything (an injected <img> included). */
#define PAGE_HEADERS                                                               \
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "   \
    "style-src 'unsafe-inline'; connect-src 'self'; img-src 'none'; "             \
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"           \
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"      \
    "Cache-Control: no-store\r\n"

struct reply {
    const char *status;
    const char *type;       /* Content-Type */
    const char *headers;    /* extra header lines, each ending in CRLF */
};

static int is_get(const char *req, const char *path)
{
    size_t n = strlen(path);
    return strncmp(req, "GET ", 4) == 0 && strncmp(req + 4, path, n) == 0 &&
           (req[4 + n] == ' ' || req[4 + n] == '?');
}

/* GET /status.json: the running pipeline's status document. */
static void status_json(struct sf_metrics *m, struct sf_buf *body, struct reply *rp)
{
    sf_err err = SF_OK;
    rp->type = "application/json; charset=utf-8";
    rp->headers = "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n";
    pthread_mutex_lock(&m->mu);
    if (m->p)
        err = sf_status_pipeline_json(m->p, NULL, sf_now_ms(), body);
    pthread_mutex_unlock(&m->mu);
    if (!body->len && !err) {
        rp->status = "503 Service Unavailable";
        sf_buf_adds(body, "{\"error\":\"starting\"}\n");
    } else if (err) {
        rp->status = "500 Internal Server Error";
        sf_buf_reset(body);
        sf_buf_printf(body, "{\"error\":\"%s\"}\n", sf_strerror(err));
    }
}

static void route(struct sf_metrics *m, const char *req, struct sf_buf *body,
                  struct reply *rp)
{
    if (is_get(req, "/metrics")) {
        render(m, body);
    } else if (is_get(req, "/healthz")) {
        pthread_mutex_lock(&m->mu);
        int up = m->p != NULL;
        pthread_mutex_unlock(&m->mu);
        sf_buf_adds(body, up ? "ok\n" : "starting\n");
        if (!up)
            rp->status = "503 Service Unavailable";
    } else if (is_get(req, "/")) {
        rp->type = "text/html; charset=utf-8";
        rp->headers = PAGE_HEADERS;
        sf_buf_adds(body, sf_status_page_html);
    } else if (is_get(req, "/status.json")) {
        status_json(m, body, rp);
    } else {
        rp->status = "404 Not Found";
        sf_buf_adds(body, "not found: try /, /status.json, /metrics or /healthz\n");
    }
}

/* The answer to one complete (or REQ_MAX-long) request, headers included. */
static void answer(struct sf_metrics *m, const char *req, struct sf_buf *resp)
{
    struct sf_buf body;
    struct reply rp = { "200 OK", "text/plain; version=0.0.4", "" };

    sf_buf_init(&body, 0);
    route(m, req, &body, &rp);
    sf_buf_printf(resp, "HTTP/1.0 %s\r\nContent-Type: %s\r\n%s"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n", rp.status, rp.type,
                  rp.headers, body.len);
    if (body.len)
        sf_buf_add(resp, body.data, body.len);
    sf_buf_free(&body);
}

/* One client. Every socket is non-blocking and has its own deadline, so
 * clients that connect and say nothing (or stop reading) cost a slot each,
 * never the other clients' time: a scrape is answered at once whatever
 * else is connected (issue 10: 12 idle connections delayed it by 24 s). */
struct conn {
    int fd;                 /* -1: free slot */
    int writing;            /* 0 reading the request, 1 sending resp */
    int64_t deadline;       /* REQ_TIMEOUT_MS for the request, again for the answer */
    size_t n, off;
    struct sf_buf resp;
    char req[REQ_MAX + 1];
};

static void conn_close(struct conn *k)
{
    if (k->fd >= 0)
        close(k->fd);
    sf_buf_free(&k->resp);
    k->fd = -1;
    k->writing = 0;
    k->n = k->off = 0;
}

/* Sends what the socket takes; 1 when the connection is finished. A reader
 * that keeps taking bytes keeps its connection: the deadline is pushed on
 * by every write that made progress (a 1 MB /status.json over a slow VPN),
 * while a client that takes nothing for REQ_TIMEOUT_MS is dropped. */
static int conn_write(struct conn *k)
{
    while (k->off < k->resp.len) {
        ssize_t w = write(k->fd, k->resp.data + k->off, k->resp.len - k->off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (w <= 0)
            return 1;
        k->off += (size_t)w;
        k->deadline = sf_now_ms() + REQ_TIMEOUT_MS;
    }
    return 1;
}

/* Reads what has arrived; 1 when the connection is finished. */
static int conn_read(struct sf_metrics *m, struct conn *k)
{
    for (;;) {
        ssize_t r = read(k->fd, k->req + k->n, REQ_MAX - k->n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r <= 0)
            return 1;
        k->n += (size_t)r;
        if (k->n == REQ_MAX || memmem(k->req, k->n, "\r\n\r\n", 4))
            break;
    }
    k->req[k->n] = '\0';
    sf_buf_init(&k->resp, 0);
    answer(m, k->req, &k->resp);
    k->writing = 1;
    k->deadline = sf_now_ms() + REQ_TIMEOUT_MS;
    return conn_write(k);
}

/* A free slot, or the slot of the client that has been silent longest. */
static struct conn *conn_slot(struct conn *ks)
{
    struct conn *old = NULL;

    for (size_t i = 0; i < MAX_CONNS; i++) {
        if (ks[i].fd < 0)
            return &ks[i];
        if (!old || ks[i].deadline < old->deadline)
            old = &ks[i];
    }
    conn_close(old);
    return old;
}

static void *metrics_main(void *arg)
{
    struct sf_metrics *m = arg;
    struct conn *ks = calloc(MAX_CONNS, sizeof(*ks));
    struct pollfd pfd[MAX_CONNS + 2];
    size_t who[MAX_CONNS + 2];

    if (!ks) {
        sf_error(NULL, NULL, "metrics: out of memory; the endpoint is down");
        return NULL;
    }
    for (size_t i = 0; i < MAX_CONNS; i++)
        ks[i].fd = -1;
    for (;;) {
        int64_t now = sf_now_ms(), next = -1;
        nfds_t np = 2;
        pfd[0] = (struct pollfd){ m->fd, POLLIN, 0 };
        pfd[1] = (struct pollfd){ m->stop_pipe[0], POLLIN, 0 };
        for (size_t i = 0; i < MAX_CONNS; i++) {
            if (ks[i].fd < 0)
                continue;
            if (ks[i].deadline <= now) {
                conn_close(&ks[i]);
                continue;
            }
            if (next < 0 || ks[i].deadline < next)
                next = ks[i].deadline;
            who[np] = i;
            pfd[np++] = (struct pollfd){ ks[i].fd, ks[i].writing ? POLLOUT : POLLIN, 0 };
        }
        if (poll(pfd, np, next < 0 ? -1 : (int)(next - now)) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        for (nfds_t j = 2; j < np; j++) {
            struct conn *k = &ks[who[j]];
            if (!pfd[j].revents)
                continue;
            if ((k->writing ? conn_write(k) : conn_read(m, k)) != 0)
                conn_close(k);
        }
        if (!(pfd[0].revents & POLLIN))
            continue;
        int c = accept4(m->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
            continue;
        struct conn *k = conn_slot(ks);
        k->fd = c;
        k->deadline = sf_now_ms() + REQ_TIMEOUT_MS;
    }
    for (size_t i = 0; i < MAX_CONNS; i++)
        conn_close(&ks[i]);
    free(ks);
    return NULL;
}

static int listen_on(const char *listen_addr, char *errbuf, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(listen_addr, ':');
    struct addrinfo hints = { 0 }, *ai = NULL;
    int fd = -1, one = 1;

    if (!colon || (size_t)(colon - listen_addr) >= sizeof(host)) {
        sf_errf(errbuf, errlen, "metrics.listen %s: expected HOST:PORT", listen_addr);
        return -1;
    }
    memcpy(host, listen_addr, (size_t)(colon - listen_addr));
    host[colon - listen_addr] = '\0';
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai);
    if (rc != 0) {
        sf_errf(errbuf, errlen, "metrics.listen %s: %s", listen_addr, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        sf_errf(errbuf, errlen, "metrics.listen %s: %s", listen_addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

sf_err sf_metrics_start(const char *listen_addr, struct sf_metrics **out, char *errbuf,
                        size_t errlen)
{
    struct sf_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return SF_ERR_NOMEM;
    m->fd = listen_on(listen_addr, errbuf, errlen);
    if (m->fd < 0 || pipe(m->stop_pipe) != 0) {
        if (m->fd >= 0)
            close(m->fd);
        free(m);
        return SF_ERR_NETWORK;
    }
    pthread_mutex_init(&m->mu, NULL);
    if (pthread_create(&m->thread, NULL, metrics_main, m) != 0) {
        close(m->fd);
        close(m->stop_pipe[0]);
        close(m->stop_pipe[1]);
        free(m);
        return SF_ERR_INTERNAL;
    }
    sf_info(NULL, NULL, "metrics on http://%s/metrics", listen_addr);
    *out = m;
    return SF_OK;
}

void sf_metrics_attach(struct sf_metrics *m, struct sf_pipeline *p)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->p = p;
    pthread_mutex_unlock(&m->mu);
}

void sf_metrics_stop(struct sf_metrics *m)
{
    if (!m)
        return;
    ssize_t w = write(m->stop_pipe[1], "x", 1);
    (void)w;
    pthread_join(m->thread, NULL);
    close(m->fd);
    close(m->stop_pipe[0]);
    close(m->stop_pipe[1]);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
