/* cycle.c - one poll cycle of one tenant: read the window behind the
 * slowest active output's cursor, and per page: dedup per output on
 * (alert id, lastUpdate), render with the output's format, hand the records
 * to every output at once, wait for verdicts, record what was acknowledged.
 * A cursor moves only when the whole window was acknowledged by its output
 * (DESIGN §2). Borrows everything from the worker and pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_log.h"
#include "sf_pipeline.h"
#include "sf_quarantine.h"
#include "sf_rules.h"

struct out_cycle {
    struct sf_outrun *r;
    struct sf_format *fmt;       /* the worker's instance; NULL: no records */
    int64_t w;                   /* effective watermark (backfill applied) */
    int active, failed;
    struct sf_buf buf;           /* rendered records of the page */
    struct sf_msg *msgs;
    struct sf_seen *seen;
    enum sf_verdict *verdicts;
    size_t n, cap;
    struct sf_seen *qseen;       /* unrenderable records, quarantined already */
    size_t nq, qcap;
    struct sf_outjob job;
    int recorded;                /* this page's verdicts are in the state store */
};

struct cycle {
    struct sf_worker *w;
    struct sf_tenant_rt *t;
    struct out_cycle *oc;
    size_t noc;
    int64_t overlap;
    struct sf_tenant_info info;
    int all_failed;
    int stopped;                 /* shutdown cut the window short: no commit */
};

/* A window is read and acknowledged as a whole before cursors move; a long
 * backlog (first backfill, an output back after days) goes in slices so one
 * error does not send the whole backlog back to the start. */
#define MAX_WINDOW_MS ((int64_t)6 * 3600 * 1000)

static int grow(struct out_cycle *o)
{
    if (o->n < o->cap)
        return 0;
    size_t cap = o->cap ? o->cap * 2 : 64;
    struct sf_msg *m = realloc(o->msgs, cap * sizeof(*m));
    if (m)
        o->msgs = m;
    struct sf_seen *s = realloc(o->seen, cap * sizeof(*s));
    if (s)
        o->seen = s;
    enum sf_verdict *v = realloc(o->verdicts, cap * sizeof(*v));
    if (v)
        o->verdicts = v;
    if (!m || !s || !v)
        return -1;
    o->cap = cap;
    return 0;
}

/* Keep a record an output can never take in state_dir/quarantine. Returns 0
 * when it is safely there; otherwise the output's cursor is held (the record
 * is in neither the SIEM nor the quarantine, so it must be read again). */
static int quarantine(struct cycle *c, struct out_cycle *o, json_object *alert,
                      const char *id, const char *reason)
{
    const char *raw = json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN);
    sf_warn(c->t->tc->name, o->r->out.name, "alert %s quarantined: %s", id, reason);
    if (sf_quarantine_write(c->w->p->cfg->state_dir, o->r->out.name, c->t->tc->name, id,
                            reason, raw, strlen(raw)) != SF_OK) {
        sf_error(c->t->tc->name, o->r->out.name, "cannot write the quarantine file in %s; "
                 "cursor held", c->w->p->cfg->state_dir);
        o->failed = 1;
        return -1;
    }
    o->r->stats.quarantined++;
    return 0;
}

/* Render alert for one output and queue it in the page batch. */
static sf_err add_record(struct cycle *c, struct out_cycle *o, json_object *alert,
                         const char *id, int64_t lu)
{
    char errbuf[256];
    size_t off = o->buf.len;

    if (grow(o) != 0)
        return SF_ERR_NOMEM;
    sf_err err = sf_format_render(o->fmt, alert, &c->info, &o->buf, errbuf, sizeof(errbuf));
    if (err) {
        sf_buf_truncate(&o->buf, off);
        if (err == SF_ERR_NOMEM)
            return err;
        /* unrenderable: quarantined now, so it never blocks the cursor */
        if (quarantine(c, o, alert, id, errbuf) != 0)
            return SF_OK;
        if (o->nq == o->qcap) {
            size_t cap = o->qcap ? o->qcap * 2 : 16;
            struct sf_seen *q = realloc(o->qseen, cap * sizeof(*q));
            if (!q)
                return SF_ERR_NOMEM;
            o->qseen = q;
            o->qcap = cap;
        }
        o->qseen[o->nq++] = (struct sf_seen){ id, lu, 1 };
        return SF_OK;
    }
    if (sf_buf_addc(&o->buf, '\0') != SF_OK) /* records are NUL-separated in buf */
        return SF_ERR_NOMEM;
    /* data is set in deliver(); until then len holds the offset in buf */
    o->msgs[o->n] = (struct sf_msg){ NULL, off, c->t->tc->name, c->t->tc->tenant_id, id,
                                     lu, 0 };
    o->seen[o->n] = (struct sf_seen){ id, lu, 0 };
    o->n++;
    return SF_OK;
}

/* The verdicts of one output's page: acknowledged and quarantined records
 * go to the state store in one transaction; anything else holds its cursor. */
static void record(struct cycle *c, struct out_cycle *o)
{
    size_t ok = 0;
    for (size_t i = 0; i < o->n; i++) {
        if (o->verdicts[i] == SF_V_DELIVERED || o->verdicts[i] == SF_V_REJECTED) {
            o->seen[ok] = o->seen[i];
            o->seen[ok].quarantined = o->verdicts[i] == SF_V_REJECTED;
            ok++;
        } else {
            o->failed = 1;
        }
    }
    if (sf_state_mark(c->w->p->state, c->t->tc->name, o->r->out.name, o->seen, ok) ||
        sf_state_mark(c->w->p->state, c->t->tc->name, o->r->out.name, o->qseen, o->nq)) {
        o->failed = 1;
        sf_error(c->t->tc->name, o->r->out.name, "cannot record delivery in the state store");
    }
    if (o->failed && o->n > ok) {
        char why[256];
        sf_outrun_last_error(o->r, why, sizeof(why));
        sf_warn(c->t->tc->name, o->r->out.name,
                "%zu of %zu records not acknowledged (%s); cursor held", o->n - ok, o->n, why);
    }
}

/* Hand the page to every output at once, then collect verdicts. */
static void deliver(struct cycle *c)
{
    for (size_t k = 0; k < c->noc; k++) {
        struct out_cycle *o = &c->oc[k];
        if (!o->active || o->failed || !o->n)
            continue;
        /* the buffer stopped moving: offsets (kept in data's place) -> pointers */
        for (size_t i = 0; i < o->n; i++) {
            o->msgs[i].data = o->buf.data + o->msgs[i].len;
            o->msgs[i].len = strlen(o->msgs[i].data);
        }
        o->job = (struct sf_outjob){ o->msgs, o->n, o->verdicts, 0, NULL };
        sf_outrun_enqueue(o->r, &o->job);
    }
    /* Record each output as soon as its own round is done, not in config
     * order: a fast output must not wait behind a slow one (HEC acks) with
     * acknowledged records unrecorded, which a crash would resend. */
    size_t pending = 0;
    for (size_t k = 0; k < c->noc; k++)
        pending += c->oc[k].active && !c->oc[k].failed;
    while (pending) {
        for (size_t k = 0; k < c->noc; k++) {
            struct out_cycle *o = &c->oc[k];
            if (!o->active || o->failed || o->recorded)
                continue;
            if (o->n && !sf_outrun_wait(o->r, &o->job, pending > 1 ? 20 : -1))
                continue;
            record(c, o);
            o->recorded = 1;
            pending--;
        }
    }
}

static sf_err on_page(void *opaque, json_object *alerts)
{
    struct cycle *c = opaque;
    size_t n = json_object_array_length(alerts);
    sf_err err = SF_OK;

    for (size_t k = 0; k < c->noc; k++) {
        sf_buf_reset(&c->oc[k].buf);
        c->oc[k].n = 0;
        c->oc[k].nq = 0;
        c->oc[k].recorded = 0;
    }
    c->t->fetched += n;
    for (size_t i = 0; i < n && !err; i++) {
        json_object *alert = json_object_array_get_idx(alerts, i);
        const char *id;
        int64_t lu;
        if (sf_alert_key(c->t->ft.source, alert, &id, &lu) != 0) {
            /* no dedup key: it cannot be tracked, so it is quarantined */
            for (size_t k = 0; k < c->noc; k++)
                if (c->oc[k].active && !c->oc[k].failed)
                    quarantine(c, &c->oc[k], alert, "",
                               "alert without a usable id or last-update time");
            continue;
        }
        for (size_t k = 0; k < c->noc && !err; k++) {
            struct out_cycle *o = &c->oc[k];
            if (!o->active || o->failed || lu < o->w - c->overlap)
                continue;
            /* rules: an alert no rule selects is not for this output */
            if (o->r->rules && sf_rules_match(o->r->rules, alert, c->t->tc->name) < 0)
                continue;
            if (sf_state_seen(c->w->p->state, c->t->tc->name, o->r->out.name, id, lu))
                continue;
            err = add_record(c, o, alert, id, lu);
            c->t->rendered++;
        }
    }
    if (err)
        return err;
    deliver(c);
    if (c->w->p->stop) {
        c->stopped = 1;
        return SF_ERR_TIMEOUT; /* shutting down: this page is committed, stop reading */
    }
    c->all_failed = 1;
    for (size_t k = 0; k < c->noc; k++)
        if (c->oc[k].active && !c->oc[k].failed)
            c->all_failed = 0;
    return c->all_failed ? SF_ERR_NETWORK : SF_OK;
}

/* Cursors of the tenant's outputs; returns the window start (ms). */
static int64_t plan(struct cycle *c, int64_t now)
{
    const struct sf_tenant_conf *tc = c->t->tc;
    int64_t from = INT64_MAX, lag = 0;
    for (size_t k = 0; k < c->noc; k++) {
        struct out_cycle *o = &c->oc[k];
        struct sf_cursor cur;
        o->active = 0;
        if (sf_state_cursor(c->w->p->state, tc->name, o->r->out.name, &cur) != SF_OK) {
            sf_error(tc->name, o->r->out.name, "cannot read the cursor; output skipped");
            continue;
        }
        if (cur.watermark_ms < 0) {
            cur.watermark_ms = now - tc->start_from_ms;
            if (sf_state_start(c->w->p->state, tc->name, o->r->out.name,
                               cur.watermark_ms) != SF_OK) {
                sf_error(tc->name, o->r->out.name, "cannot store the cursor; output skipped");
                continue;
            }
        }
        o->w = cur.watermark_ms;
        o->active = !sf_outrun_is_down(o->r, now);
        if (now - o->w > lag)
            lag = now - o->w;
        if (o->active && o->w - c->overlap < from)
            from = o->w - c->overlap;
    }
    c->t->lag_ms = lag;
    return from < 0 ? 0 : from;
}

static void commit(struct cycle *c, int64_t until, int64_t now, sf_err err,
                   const struct sf_fetch_status *st)
{
    for (size_t k = 0; k < c->noc; k++) {
        struct out_cycle *o = &c->oc[k];
        const char *out = o->r->out.name;
        if (!o->active) {
            char why[256];
            sf_outrun_last_error(o->r, why, sizeof(why));
            sf_state_note(c->w->p->state, c->t->tc->name, out, why, now);
        } else if (!err && !o->failed) {
            if (sf_state_advance(c->w->p->state, c->t->tc->name, out, until,
                                 until - c->overlap, now) != SF_OK)
                sf_error(c->t->tc->name, out, "cannot move the cursor in the state store");
        } else {
            char why[256];
            if (err && !c->all_failed)
                snprintf(why, sizeof(why), "fetch: %s", st->msg);
            else
                sf_outrun_last_error(o->r, why, sizeof(why));
            sf_state_note(c->w->p->state, c->t->tc->name, out, why, now);
        }
    }
}

sf_err sf_cycle_run(struct sf_worker *w, struct sf_tenant_rt *t, struct sf_fetch_status *st)
{
    struct cycle c = { .w = w, .t = t, .overlap = t->tc->overlap_ms,
                       .info = { t->tc->name, t->tc->tenant_id } };
    int64_t now = sf_now_ms(), until = now - t->tc->settle_ms;
    sf_err err = SF_OK;

    memset(st, 0, sizeof(*st));
    c.noc = t->nouts;
    c.oc = calloc(c.noc ? c.noc : 1, sizeof(*c.oc));
    if (!c.oc)
        return SF_ERR_NOMEM;
    for (size_t k = 0; k < c.noc; k++) {
        c.oc[k].r = &w->p->outs[t->outs[k]];
        c.oc[k].fmt = w->fmts[t->outs[k]];
        sf_buf_init(&c.oc[k].buf, 0);
    }
    int64_t from = plan(&c, now);
    t->more = 0;
    t->no_output = from == INT64_MAX;
    if (from == INT64_MAX || from >= until) {
        if (from == INT64_MAX)
            sf_debug(t->tc->name, NULL, "every output is down; nothing fetched");
        goto out;
    }
    if (until - from > MAX_WINDOW_MS) {
        until = from + MAX_WINDOW_MS;
        t->more = 1; /* the pipeline runs the next slice at once */
    }
    sf_debug(t->tc->name, NULL, "window %lld..%lld", (long long)from, (long long)until);
    err = sf_fetch_window(w->api, &t->ft, from, until, on_page, &c, st);
    if (c.all_failed) {
        err = SF_OK; /* not a fetch problem: outputs hold their own cursors */
        t->no_output = 1;
    }
    if (!c.stopped) /* a cut window moves no cursor; its pages are recorded */
        commit(&c, until, now, err, st);
out:
    for (size_t k = 0; k < c.noc; k++) {
        sf_buf_free(&c.oc[k].buf);
        free(c.oc[k].msgs);
        free(c.oc[k].seen);
        free(c.oc[k].verdicts);
        free(c.oc[k].qseen);
    }
    free(c.oc);
    return err;
}
