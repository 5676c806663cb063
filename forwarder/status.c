/* status.c - the status document of sf_status.h: one row per (tenant,
 * output) pair, joined from the running pipeline (or the configuration) and
 * the cursors in the state store, classified, sorted worst first and
 * written as JSON. Reads only. Owns its row table for the length of one
 * call; borrows names from the configuration (copies names of cursors that
 * are no longer configured). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_config.h"
#include "sf_pipeline.h"
#include "sf_redact.h"
#include "sf_state_kafka.h"
#include "sf_status.h"
#include "sf_utf8.h"

struct row {
    const char *tenant, *output;
    char *own_tenant, *own_output;  /* set when the names come from the store */
    int configured;                 /* the pair is in the configuration */
    const struct sf_tenant_conf *tc;
    size_t ti, oi;                  /* pipeline indices (running only) */
    int has_cursor;
    struct sf_cursor c;
    /* cluster mode, from the cursors topic (siemfwd state --json) */
    int cluster, released;
    char owner[128];
    /* running only */
    int rt;
    int auth_failed;
    uint64_t fetched;
    size_t queued;
    char terror[256];               /* the tenant's last failed cycle */
    /* result */
    enum sf_status_state state;
    char why[160];
};

struct outsnap {
    const char *name;
    int rt, healthy, accepting, connected;
    uint64_t delivered, quarantined, retried, queued_bytes, queued_records;
    int64_t last_success_ms;
    char error[256];                /* why it is not accepting, or its last failure */
};

struct table {
    struct row *rows;
    size_t n, cap;
    size_t nsorted;                 /* rows[0..nsorted) sorted by name: bsearch */
    const char *only;               /* tenant filter or NULL */
    sf_err err;
};

static const char *const state_names[SF_STATUS_COUNT] = {
    "consent_revoked", "failing", "lagging", "pending", "flowing",
};

const char *sf_status_name(enum sf_status_state s)
{
    return (unsigned)s < SF_STATUS_COUNT ? state_names[s] : "unknown";
}

/* ------------------------------------------------------------------ */
/* classification */

static void fmt_dur(int64_t ms, char *buf, size_t n)
{
    long long s = (long long)(ms / 1000);
    if (s < 120)
        snprintf(buf, n, "%lld s", s);
    else if (s < 7200)
        snprintf(buf, n, "%lld min", s / 60);
    else if (s < 172800)
        snprintf(buf, n, "%lld h", s / 3600);
    else
        snprintf(buf, n, "%lld days", s / 86400);
}

/* "HTTP 4xx" at s, x not 29, followed by a non-digit. */
static int http_4xx_at(const char *s, int only_401_403)
{
    if (strncmp(s, "HTTP 4", 6) != 0 || s[6] < '0' || s[6] > '9' || s[7] < '0' ||
        s[7] > '9' || (s[8] >= '0' && s[8] <= '9'))
        return 0;
    if (only_401_403)
        return s[6] == '0' && (s[7] == '1' || s[7] == '3');
    return !(s[6] == '2' && s[7] == '9');
}

int sf_status_is_auth_error(const char *error)
{
    /* cycle.c notes a failed read as "fetch: " + fetch.c's sentence; output
     * failures quoting a SIEM's own 401/403 must not count. */
    if (!error || strncmp(error, "fetch: ", 7) != 0)
        return 0;
    const char *s = strstr(error, "token request refused (");
    if (s && http_4xx_at(s + 23, 0))
        return 1;
    for (s = strstr(error, ": HTTP 4"); s; s = strstr(s + 1, ": HTTP 4"))
        if (http_4xx_at(s + 2, 1))
            return 1;
    return 0;
}

enum sf_status_state sf_status_classify(const struct sf_status_in *in, char *why,
                                        size_t whylen)
{
    char d[32], lim[32], tmp[160];
    const char *err = in->error ? in->error : "";
    int64_t poll = in->poll_interval_ms > 0 ? in->poll_interval_ms : 60000;
    enum sf_status_state s;

    if (!why) {
        why = tmp;
        whylen = sizeof(tmp);
    }
    if (in->auth_failed > 0 || (in->auth_failed < 0 && sf_status_is_auth_error(err))) {
        snprintf(why, whylen, "access refused: consent revoked or never given, or the "
                 "app's credentials are wrong");
        return SF_STATUS_CONSENT_REVOKED;
    }
    if (in->accepting == 0) {
        snprintf(why, whylen, "the output fails and takes no records");
        return SF_STATUS_FAILING;
    }
    int64_t quiet = in->last_success_ms > 0 ? in->now_ms - in->last_success_ms : -1;
    if (*err && (quiet < 0 || quiet > 2 * poll)) {
        fmt_dur(quiet, d, sizeof(d));
        if (quiet < 0)
            snprintf(why, whylen, "errors and no success yet");
        else
            snprintf(why, whylen, "errors and no success for %s", d);
        return SF_STATUS_FAILING;
    }
    if (in->watermark_ms <= 0) {
        snprintf(why, whylen, "not read yet");
        return SF_STATUS_PENDING;
    }
    int64_t lag = in->now_ms - in->watermark_ms;
    int64_t limit = 2 * poll;
    if (in->settle_ms + in->overlap_ms > limit)
        limit = in->settle_ms + in->overlap_ms;
    fmt_dur(lag > 0 ? lag : 0, d, sizeof(d));
    fmt_dur(limit, lim, sizeof(lim));
    s = lag > limit ? SF_STATUS_LAGGING : SF_STATUS_FLOWING;
    snprintf(why, whylen, "cursor %s behind (%s %s)", d, s == SF_STATUS_LAGGING ? "more than"
             : "within", lim);
    return s;
}

/* ------------------------------------------------------------------ */
/* JSON */

sf_err sf_status_json_string(struct sf_buf *out, const char *text)
{
    size_t n = text ? strlen(text) : 0, i = 0;
    sf_err err = sf_buf_addc(out, '"');

    while (!err && i < n) {
        unsigned char ch = (unsigned char)text[i];
        int valid = 1;
        size_t len = ch < 0x80 ? 1 : sf_utf8_next(text + i, n - i, &valid);
        if (!valid)
            err = sf_buf_adds(out, SF_UTF8_REPLACEMENT);
        else if (ch == '"' || ch == '\\')
            err = sf_buf_printf(out, "\\%c", ch);
        else if (ch == '\n')
            err = sf_buf_adds(out, "\\n");
        else if (ch == '\t')
            err = sf_buf_adds(out, "\\t");
        else if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>' || ch == '&')
            err = sf_buf_printf(out, "\\u%04x", ch);
        else if (len == 3 && ch == 0xE2 && (unsigned char)text[i + 1] == 0x80 &&
                 ((unsigned char)text[i + 2] == 0xA8 || (unsigned char)text[i + 2] == 0xA9))
            err = sf_buf_printf(out, "\\u%04x", (unsigned char)text[i + 2] == 0xA8 ? 0x2028
                                : 0x2029);
        else
            err = sf_buf_add(out, text + i, len);
        i += len;
    }
    return err ? err : sf_buf_addc(out, '"');
}

static void put_key(struct sf_buf *b, const char *key, int *first)
{
    sf_buf_adds(b, *first ? "{" : ",");
    *first = 0;
    sf_buf_printf(b, "\"%s\":", key);
}

static void put_str(struct sf_buf *b, const char *key, const char *v, int *first)
{
    put_key(b, key, first);
    sf_status_json_string(b, v);
}

static void put_u64(struct sf_buf *b, const char *key, uint64_t v, int *first)
{
    put_key(b, key, first);
    sf_buf_printf(b, "%llu", (unsigned long long)v);
}

static void put_bool(struct sf_buf *b, const char *key, int v, int *first)
{
    put_key(b, key, first);
    sf_buf_adds(b, v < 0 ? "null" : v ? "true" : "false");
}

/* An ISO-8601 time and its ms twin (key_ms); null for 0 / negative. */
static void put_time(struct sf_buf *b, const char *key, int64_t ms, int *first)
{
    char iso[32], kms[48];
    put_key(b, key, first);
    if (ms > 0) {
        time_t s = (time_t)(ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
        sf_buf_printf(b, "\"%s\"", iso);
    } else {
        sf_buf_adds(b, "null");
    }
    snprintf(kms, sizeof(kms), "%s_ms", key);
    put_key(b, kms, first);
    if (ms > 0)
        sf_buf_printf(b, "%lld", (long long)ms);
    else
        sf_buf_adds(b, "null");
}

/* ------------------------------------------------------------------ */
/* the row table */

static int row_cmp_name(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : strcmp(x->output, y->output);
}

static int row_cmp_state(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->state != y->state)
        return x->state < y->state ? -1 : 1;
    return row_cmp_name(a, b);
}

static struct row *table_add(struct table *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct row *r = realloc(t->rows, cap * sizeof(*r));
        if (!r) {
            t->err = SF_ERR_NOMEM;
            return NULL;
        }
        t->rows = r;
        t->cap = cap;
    }
    struct row *r = &t->rows[t->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].own_tenant);
        free(t->rows[i].own_output);
    }
    free(t->rows);
}

/* sf_state_each callback: attach a cursor to its configured row, or add a
 * row for a cursor whose tenant or output is no longer configured. */
static void add_cursor(void *opaque, const char *tenant, const char *output,
                       const struct sf_cursor *c)
{
    struct table *t = opaque;
    struct row key = { .tenant = tenant, .output = output };
    struct row *r;

    if (t->err || (t->only && strcmp(t->only, tenant) != 0))
        return;
    r = t->nsorted ? bsearch(&key, t->rows, t->nsorted, sizeof(key), row_cmp_name) : NULL;
    if (!r) {
        if (!(r = table_add(t)))
            return;
        r->own_tenant = strdup(tenant);
        r->own_output = strdup(output);
        if (!r->own_tenant || !r->own_output) {
            t->err = SF_ERR_NOMEM;
            r->tenant = r->output = "";
            return;
        }
        r->tenant = r->own_tenant;
        r->output = r->own_output;
    }
    r->has_cursor = 1;
    r->c = *c;
}

static void table_cursors(struct table *t, const struct sf_config *cfg, struct sf_state *st)
{
    if (t->n)
        qsort(t->rows, t->n, sizeof(*t->rows), row_cmp_name);
    t->nsorted = t->n;
    if (st && !t->err)
        sf_state_each(st, add_cursor, t);
    /* a cursor of a tenant still configured (its output is not) keeps the
     * tenant's settle and overlap */
    for (size_t i = t->nsorted; i < t->n && !t->err; i++)
        t->rows[i].tc = sf_config_tenant(cfg, t->rows[i].tenant);
}

/* The error a row shows: the tenant's failed read, then the output's
 * trouble, then what the store noted for the pair. Redacted into buf. */
static const char *row_error(const struct row *r, const struct outsnap *o, char *buf,
                             size_t n)
{
    const char *e = "";
    if (r->rt && r->terror[0])
        e = r->terror;
    else if (o && o->rt && (!o->accepting || !o->healthy) && o->error[0])
        e = o->error;
    else if (r->has_cursor)
        e = r->c.last_error;
    /* rows stored before the redactor existed may still quote a secret */
    sf_redact_copy(buf, n, e);
    return buf;
}

static void classify_rows(struct table *t, const struct sf_config *cfg,
                          const struct outsnap *outs, int64_t now)
{
    char err[512];
    for (size_t i = 0; i < t->n; i++) {
        struct row *r = &t->rows[i];
        const struct outsnap *o = r->rt ? &outs[r->oi] : NULL;
        struct sf_status_in in = {
            .now_ms = now,
            .poll_interval_ms = cfg->poll_interval_ms,
            .settle_ms = r->tc ? r->tc->settle_ms : 0,
            .overlap_ms = r->tc ? r->tc->overlap_ms : 0,
            .auth_failed = r->rt ? r->auth_failed : -1,
            /* a full queue on a healthy output is back-pressure, not failure */
            .accepting = o && o->rt ? o->accepting || o->healthy : -1,
            .error = row_error(r, o, err, sizeof(err)),
            .last_success_ms = r->has_cursor ? r->c.last_success_ms : 0,
            .watermark_ms = r->has_cursor ? r->c.watermark_ms : -1,
        };
        r->state = sf_status_classify(&in, r->why, sizeof(r->why));
    }
    if (t->n)
        qsort(t->rows, t->n, sizeof(*t->rows), row_cmp_state);
}

/* ------------------------------------------------------------------ */
/* the document */

static void write_output(struct sf_buf *b, const struct sf_config *cfg,
                         const struct outsnap *o)
{
    const struct sf_output_conf *oc = sf_config_output(cfg, o->name);
    int first = 1;
    put_str(b, "name", o->name, &first);
    put_str(b, "type", oc && oc->type ? oc->type : "", &first);
    put_bool(b, "running", o->rt, &first);
    if (o->rt) {
        put_bool(b, "healthy", o->healthy, &first);
        put_bool(b, "accepting", o->accepting, &first);
        put_bool(b, "connected", o->connected, &first);
        put_u64(b, "delivered", o->delivered, &first);
        put_u64(b, "quarantined", o->quarantined, &first);
        put_u64(b, "retried", o->retried, &first);
        put_u64(b, "queued_bytes", o->queued_bytes, &first);
        put_u64(b, "queued_records", o->queued_records, &first);
        put_time(b, "last_success", o->last_success_ms, &first);
        char err[512];
        sf_redact_copy(err, sizeof(err), o->error);
        put_str(b, "last_error", err, &first);
    }
    sf_buf_addc(b, '}');
}

static void write_row(struct sf_buf *b, const struct row *r, const struct outsnap *outs,
                      int64_t now)
{
    char err[512];
    int first = 1;
    const struct outsnap *o = r->rt ? &outs[r->oi] : NULL;

    put_str(b, "tenant", r->tenant, &first);
    put_str(b, "output", r->output, &first);
    put_str(b, "state", sf_status_name(r->state), &first);
    put_str(b, "why", r->why, &first);
    put_bool(b, "configured", r->configured, &first);
    put_str(b, "source", r->tc && r->tc->source_name ? r->tc->source_name : "", &first);
    put_key(b, "lag_s", &first);
    if (r->has_cursor && r->c.watermark_ms > 0)
        sf_buf_printf(b, "%lld", (long long)(now - r->c.watermark_ms) / 1000);
    else
        sf_buf_adds(b, "null");
    put_time(b, "cursor", r->has_cursor ? r->c.watermark_ms : 0, &first);
    put_time(b, "last_success", r->has_cursor ? r->c.last_success_ms : 0, &first);
    put_time(b, "last_attempt", r->has_cursor ? r->c.last_attempt_ms : 0, &first);
    put_str(b, "last_error", row_error(r, o, err, sizeof(err)), &first);
    put_u64(b, "delivered", r->has_cursor ? r->c.delivered : 0, &first);
    put_u64(b, "quarantined", r->has_cursor ? r->c.quarantined : 0, &first);
    put_key(b, "queued", &first);
    sf_buf_printf(b, r->rt ? "%zu" : "null", r->queued);
    put_key(b, "fetched", &first);
    if (r->rt)
        sf_buf_printf(b, "%llu", (unsigned long long)r->fetched);
    else
        sf_buf_adds(b, "null");
    if (r->cluster) { /* who wrote the cursor last, and whether it let go */
        put_key(b, "owner", &first);
        if (r->owner[0])
            sf_status_json_string(b, r->owner);
        else
            sf_buf_adds(b, "null");
        put_bool(b, "released", r->released, &first);
    }
    sf_buf_addc(b, '}');
}

static sf_err write_doc(struct sf_buf *b, const struct sf_config *cfg, const char *source,
                        const struct table *t, const struct outsnap *outs, size_t nouts,
                        int64_t now)
{
    size_t counts[SF_STATUS_COUNT] = { 0 };
    int first = 1;

    for (size_t i = 0; i < t->n; i++)
        counts[t->rows[i].state]++;
    put_str(b, "siemfwd", SIEMFWD_VERSION, &first);
    put_str(b, "source", source, &first);
    put_time(b, "generated", now, &first);
    put_u64(b, "poll_interval_s", (uint64_t)cfg->poll_interval_ms / 1000, &first);
    put_key(b, "counts", &first);
    int cf = 1;
    put_u64(b, "total", t->n, &cf);
    for (int s = 0; s < SF_STATUS_COUNT; s++)
        put_u64(b, state_names[s], counts[s], &cf);
    sf_buf_addc(b, '}');
    put_key(b, "outputs", &first);
    sf_buf_addc(b, '[');
    for (size_t i = 0; i < nouts; i++) {
        if (i)
            sf_buf_addc(b, ',');
        write_output(b, cfg, &outs[i]);
    }
    sf_buf_addc(b, ']');
    put_key(b, "pairs", &first);
    sf_buf_addc(b, '[');
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            sf_buf_adds(b, ",\n");
        write_row(b, &t->rows[i], outs, now);
    }
    /* one check at the end: sf_buf keeps failing once it hit its limit */
    return sf_buf_adds(b, "]}\n");
}

/* ------------------------------------------------------------------ */
/* from the running pipeline */

/* Tenant rows under p->mu. Returns 1 when a worker has taken a tenant,
 * which happens only after the output runners started (their mutexes and
 * pair tables exist): before that only their atomic stats may be read. */
static int pipeline_rows(struct sf_pipeline *p, struct table *t)
{
    int started = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->ntenants && !t->err; i++) {
        const struct sf_tenant_rt *trt = &p->tenants[i];
        started |= trt->busy || trt->runs > 0;
        if (t->only && strcmp(t->only, trt->tc->name) != 0)
            continue;
        for (size_t k = 0; k < trt->nouts; k++) {
            struct row *r = table_add(t);
            if (!r)
                break;
            r->tenant = trt->tc->name;
            r->output = p->outs[trt->outs[k]].out.name;
            r->configured = 1;
            r->tc = trt->tc;
            r->ti = i;
            r->oi = trt->outs[k];
            r->rt = 1;
            r->auth_failed = trt->auth_failed;
            r->fetched = trt->fetched;
            snprintf(r->terror, sizeof(r->terror), "%s", trt->last_error);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return started;
}

static void snap_output(struct sf_outrun *r, int started, int64_t now, struct outsnap *o)
{
    o->name = r->out.name;
    o->rt = 1;
    o->delivered = r->stats.delivered;
    o->quarantined = r->stats.quarantined;
    o->retried = r->stats.retried;
    o->queued_bytes = r->stats.queued_bytes;
    o->queued_records = r->stats.queued_records;
    o->connected = r->stats.connected;
    o->last_success_ms = r->stats.last_success_ms;
    o->healthy = o->accepting = 1;
    if (!started)
        return;
    o->accepting = sf_outrun_accepting(r, now, o->error, sizeof(o->error));
    o->healthy = sf_outrun_healthy(r);
    if (o->accepting)
        sf_outrun_last_error(r, o->error, sizeof(o->error));
}

sf_err sf_status_pipeline_json(struct sf_pipeline *p, const char *tenant, int64_t now_ms,
                               struct sf_buf *out)
{
    struct table t = { .only = tenant };
    struct outsnap *outs = calloc(p->nouts ? p->nouts : 1, sizeof(*outs));
    sf_err err = SF_OK;

    if (!outs)
        return SF_ERR_NOMEM;
    int started = pipeline_rows(p, &t);
    for (size_t i = 0; i < p->nouts; i++)
        snap_output(&p->outs[i], started, now_ms, &outs[i]);
    for (size_t i = 0; started && i < t.n; i++) {
        struct sf_outpair_view v;
        sf_outrun_pair(&p->outs[t.rows[i].oi], t.rows[i].ti, &v);
        t.rows[i].queued = v.open;
    }
    table_cursors(&t, p->cfg, p->state);
    if (t.err) {
        err = t.err;
        goto out;
    }
    classify_rows(&t, p->cfg, outs, now_ms);
    err = write_doc(out, p->cfg, "running", &t, outs, p->nouts, now_ms);
out:
    table_free(&t);
    free(outs);
    return err;
}

/* ------------------------------------------------------------------ */
/* from the configuration and the state store */

sf_err sf_status_store_json(const struct sf_config *cfg, struct sf_state *st,
                            const char *tenant, int64_t now_ms, struct sf_buf *out,
                            size_t *nrows)
{
    struct table t = { .only = tenant };
    struct outsnap *outs = calloc(cfg->n_outputs ? cfg->n_outputs : 1, sizeof(*outs));
    sf_err err = SF_OK;

    if (!outs)
        return SF_ERR_NOMEM;
    for (size_t i = 0; i < cfg->n_outputs; i++)
        outs[i].name = cfg->outputs[i].name;
    for (size_t i = 0; i < cfg->n_tenants && !t.err; i++) {
        const struct sf_tenant_conf *tc = &cfg->tenants[i];
        if (!tc->enabled || (tenant && strcmp(tenant, tc->name) != 0))
            continue;
        size_t n = tc->outputs.n ? tc->outputs.n : cfg->n_outputs;
        for (size_t k = 0; k < n; k++) {
            struct row *r = table_add(&t);
            if (!r)
                break;
            r->tenant = tc->name;
            r->output = tc->outputs.n ? tc->outputs.v[k] : cfg->outputs[k].name;
            r->configured = 1;
            r->tc = tc;
        }
    }
    table_cursors(&t, cfg, st);
    if (t.err) {
        err = t.err;
        goto out;
    }
    for (size_t i = 0; cfg->cluster.enabled && st && i < t.n; i++) {
        struct row *r = &t.rows[i];
        r->cluster = 1; /* not found: owner stays "" (null in the JSON) */
        sf_state_kafka_owner(st, r->tenant, r->output, r->owner, sizeof(r->owner),
                             &r->released, NULL);
    }
    classify_rows(&t, cfg, outs, now_ms);
    err = write_doc(out, cfg, "state_store", &t, outs, cfg->n_outputs, now_ms);
    if (nrows)
        *nrows = t.n;
out:
    table_free(&t);
    free(outs);
    return err;
}
