/* metrics.c - a minimal HTTP/1.0 server for Prometheus scrapes: GET /metrics
 * (text format 0.0.4) and GET /healthz. One connection at a time, requests
 * bounded in size and time; everything else gets 404. Owns its socket and
 * thread; borrows the pipeline between attach calls. */
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
#include "sf_log.h"
#include "sf_metrics.h"
#include "sf_pipeline.h"

#define REQ_MAX 4096
#define REQ_TIMEOUT_MS 2000

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
        cursor_metrics_all(b, p->state);
    }
    pthread_mutex_unlock(&m->mu);
}

static void serve(struct sf_metrics *m, int c)
{
    char req[REQ_MAX + 1];
    size_t n = 0;
    struct sf_buf body, resp;
    const char *status = "200 OK";

    int64_t deadline = sf_now_ms() + REQ_TIMEOUT_MS; /* for the whole request */
    while (n < REQ_MAX && !memmem(req, n, "\r\n\r\n", 4)) {
        struct pollfd pfd = { c, POLLIN, 0 };
        int64_t left = deadline - sf_now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
            return;
        ssize_t r = read(c, req + n, REQ_MAX - n);
        if (r <= 0)
            return;
        n += (size_t)r;
    }
    req[n] = '\0';
    sf_buf_init(&body, 0);
    sf_buf_init(&resp, 0);
    if (strncmp(req, "GET /metrics ", 13) == 0 || strncmp(req, "GET /metrics?", 13) == 0) {
        render(m, &body);
    } else if (strncmp(req, "GET /healthz ", 13) == 0) {
        sf_buf_adds(&body, m->p ? "ok\n" : "starting\n");
        if (!m->p)
            status = "503 Service Unavailable";
    } else {
        status = "404 Not Found";
        sf_buf_adds(&body, "not found: try /metrics or /healthz\n");
    }
    sf_buf_printf(&resp, "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, body.len);
    if (body.len)
        sf_buf_add(&resp, body.data, body.len);
    for (size_t off = 0; resp.data && off < resp.len;) {
        ssize_t w = write(c, resp.data + off, resp.len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    sf_buf_free(&body);
    sf_buf_free(&resp);
}

static void *metrics_main(void *arg)
{
    struct sf_metrics *m = arg;
    for (;;) {
        struct pollfd pfd[2] = { { m->fd, POLLIN, 0 }, { m->stop_pipe[0], POLLIN, 0 } };
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            break;
        if (pfd[1].revents)
            break;
        if (!(pfd[0].revents & POLLIN))
            continue;
        int c = accept(m->fd, NULL, NULL);
        if (c < 0)
            continue;
        /* a scraper that stops reading must not hold shutdown hostage */
        struct timeval tv = { REQ_TIMEOUT_MS / 1000, (REQ_TIMEOUT_MS % 1000) * 1000 };
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        serve(m, c);
        close(c);
    }
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
