/* cycle.c - one poll cycle of one tenant: read the window behind the
 * slowest accepting output's position, and per page: the alert's view
 * (sf_sources.h) once per alert, dedup per output on its (id, last update)
 * against the state store and what is in flight,
 * render with the output's format, and hand each output its records; then
 * move on. Fetch never waits for an output: each output's runner delivers,
 * retries and moves its own cursor page by page (DESIGN §2, sf_outrun.h).
 * Borrows everything from the worker and pipeline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_log.h"
#include "sf_notify_policy.h"
#include "sf_pipeline.h"
#include "sf_quarantine.h"
#include "sf_rules.h"
#include "sf_sources.h"

struct out_cycle {
    struct sf_outrun *r;
    struct sf_format *fmt;       /* the worker's instance */
    int64_t w;                   /* where this output's reading resumes */
    int active;                  /* handed every page of this window so far */
    const struct sf_notify_policy *np; /* a notification output's policy, or NULL */
    struct sf_buf buf;           /* rendered records of the page, NUL-separated */
    struct sf_buf rec;           /* notification outputs: the JSON record of one alert */
    struct sf_msg *msgs;         /* data unused; len = offset in buf */
    struct sf_ledger_item *items;
    size_t n, cap;
    struct sf_seen *qseen;       /* unrenderable records, quarantined already */
    size_t nq, qcap;
    char why[256];               /* why it was not fed */
};

struct cycle {
    struct sf_worker *w;
    struct sf_tenant_rt *t;
    size_t ti;                   /* the tenant's pipeline index */
    struct out_cycle *oc;
    size_t noc;
    int64_t overlap;
    struct sf_tenant_info info;
    const char *source;          /* the tenant's source type name */
    int starved;                 /* every output stopped taking records mid-window */
    int stopped;                 /* shutdown cut the window short */
};

static int grow(struct out_cycle *o)
{
    if (o->n < o->cap)
        return 0;
    size_t cap = o->cap ? o->cap * 2 : 64;
    struct sf_msg *m = realloc(o->msgs, cap * sizeof(*m));
    if (m)
        o->msgs = m;
    struct sf_ledger_item *it = realloc(o->items, cap * sizeof(*it));
    if (it)
        o->items = it;
    if (!m || !it)
        return -1;
    o->cap = cap;
    return 0;
}

/* Keep a record an output can never take in state_dir/quarantine. Returns 0
 * when it is safely there; otherwise the record is left out of this page
 * and the output stops being fed this window (its position stays before it,
 * so it is read again). */
static int quarantine(struct cycle *c, struct out_cycle *o, json_object *alert,
                      const char *id, const char *reason)
{
    const char *raw = json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN);
    sf_warn(c->t->tc->name, o->r->out.name, "alert %s quarantined: %s", id, reason);
    if (sf_quarantine_write(c->w->p->cfg->state_dir, o->r->out.name, c->t->tc->name, id,
                            reason, raw, strlen(raw)) != SF_OK) {
        sf_error(c->t->tc->name, o->r->out.name, "cannot write the quarantine file in %s; "
                 "cursor held", c->w->p->cfg->state_dir);
        snprintf(o->why, sizeof(o->why), "quarantine file not writable");
        o->active = 0;
        return -1;
    }
    o->r->stats.quarantined++;
    return 0;
}

static sf_err note_quarantined(struct out_cycle *o, const char *id, int64_t lu)
{
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

/* Notices of records not handed over (the queue owns handed ones). */
static void drop_notices(struct out_cycle *o)
{
    for (size_t i = 0; i < o->n; i++)
        free((void *)o->msgs[i].notice);
    o->n = 0;
}

/* A notification output's message of alert: the JSON record, then the
 * message the policy renders from the view and it, and its notice. */
static sf_err render_notice(struct cycle *c, struct out_cycle *o, json_object *alert,
                            const struct sf_alert_view *v, size_t rule,
                            struct sf_notice **nt, char *errbuf, size_t errlen)
{
    sf_buf_reset(&o->rec);
    sf_err err = sf_format_render(o->fmt, alert, &c->info, &o->rec, errbuf, errlen);
    if (!err)
        err = sf_notify_render_alert(o->np, alert, v, rule, o->rec.data, o->rec.len, &o->buf,
                                     nt, errbuf, errlen);
    return err;
}

/* Render alert for one output (view v matched its rule) and add it to the page. */
static sf_err add_record(struct cycle *c, struct out_cycle *o, json_object *alert,
                         const struct sf_alert_view *v, size_t rule, const char *id,
                         int64_t lu)
{
    char errbuf[256];
    size_t off = o->buf.len;
    struct sf_notice *nt = NULL;

    if (grow(o) != 0)
        return SF_ERR_NOMEM;
    sf_err err = o->np ? render_notice(c, o, alert, v, rule, &nt, errbuf, sizeof(errbuf))
                       : sf_format_render(o->fmt, alert, &c->info, &o->buf, errbuf,
                                          sizeof(errbuf));
    if (err) {
        sf_buf_truncate(&o->buf, off);
        if (err == SF_ERR_NOMEM)
            return err;
        /* unrenderable: quarantined now, so it never blocks the cursor */
        if (quarantine(c, o, alert, id, errbuf) != 0)
            return SF_OK;
        return note_quarantined(o, id, lu);
    }
    if (sf_buf_addc(&o->buf, '\0') != SF_OK) { /* records are NUL-separated in buf */
        free(nt);
        return SF_ERR_NOMEM;
    }
    o->msgs[o->n] = (struct sf_msg){ NULL, off, c->t->tc->name, c->t->tc->tenant_id, id,
                                     lu, 0, SF_MSG_ALERT, nt };
    o->items[o->n] = (struct sf_ledger_item){ id, lu };
    o->n++;
    c->t->rendered++;
    return SF_OK;
}

/* Hand the page to one output. until: its cursor target. */
static void hand(struct cycle *c, struct out_cycle *o, int64_t until)
{
    const char *tn = c->t->tc->name, *on = o->r->out.name;
    /* unrenderable records first: their marks precede the page's advance */
    if (o->nq && sf_state_mark(c->w->p->state, tn, on, o->qseen, o->nq) != SF_OK) {
        sf_error(tn, on, "cannot record quarantined records in the state store");
        snprintf(o->why, sizeof(o->why), "state store not writable");
        o->active = 0;
        return;
    }
    sf_err err = sf_outrun_submit(o->r, c->ti, until, &o->buf, o->msgs, o->items, o->n);
    if (!err)
        o->n = 0;  /* the queue owns them now, notices included */
    if (err) {
        drop_notices(o);
        sf_error(tn, on, "cannot queue %zu records: %s; read again later", o->n,
                 sf_strerror(err));
        snprintf(o->why, sizeof(o->why), "cannot queue records: %s", sf_strerror(err));
        o->active = 0;
    }
}

static void page_reset(struct cycle *c, int64_t now)
{
    for (size_t k = 0; k < c->noc; k++) {
        struct out_cycle *o = &c->oc[k];
        sf_buf_reset(&o->buf);
        drop_notices(o);
        o->nq = 0;
        /* a budget that filled up stops feeding for the rest of the window */
        if (o->active && !sf_outrun_accepting(o->r, now, o->why, sizeof(o->why))) {
            sf_info(c->t->tc->name, o->r->out.name, "not fed from here: %s", o->why);
            o->active = 0;
        }
    }
}

/* The records of one alert for every output that should get it. */
static sf_err route(struct cycle *c, json_object *alert, const struct sf_alert_view *v)
{
    const char *id = v->id;
    int64_t lu = v->last_update_ms;
    struct sf_state *st = c->w->p->state;
    const char *tn = c->t->tc->name;
    sf_err err = SF_OK;
    for (size_t k = 0; k < c->noc && !err; k++) {
        struct out_cycle *o = &c->oc[k];
        int rule = 0;
        if (!o->active || lu < o->w - c->overlap)
            continue;
        /* rules, matched once on the view: an alert no rule selects is not
         * for this output; a notification output's message names the rule */
        if (o->r->rules && (rule = sf_rules_match(o->r->rules, v)) < 0)
            continue;
        if (sf_state_seen(st, tn, o->r->out.name, id, lu) ||
            sf_outrun_in_flight(o->r, c->ti, id, lu))
            continue;
        err = add_record(c, o, alert, v, (size_t)rule, id, lu);
    }
    return err;
}

static sf_err on_page(void *opaque, json_object *alerts)
{
    struct cycle *c = opaque;
    size_t n = json_object_array_length(alerts);
    int64_t page_max = INT64_MIN;
    sf_err err = SF_OK;

    page_reset(c, sf_now_ms());
    c->t->fetched += n;
    for (size_t i = 0; i < n && !err; i++) {
        json_object *alert = json_object_array_get_idx(alerts, i);
        struct sf_alert_view v;
        /* the view, once per alert: its id and last update are the dedup key */
        sf_source_view(c->source, alert, &c->t->ft, &v);
        if (!v.id || !v.last_update) {
            /* no dedup key: it cannot be tracked, so it is quarantined */
            for (size_t k = 0; k < c->noc; k++)
                if (c->oc[k].active)
                    quarantine(c, &c->oc[k], alert, "",
                               "alert without a usable id or last-update time");
            continue;
        }
        if (v.last_update_ms > page_max)
            page_max = v.last_update_ms;
        err = route(c, alert, &v);
    }
    if (err)
        return err;
    /* Pages come oldest first (every source sorts by last-update time), so
     * once this page is acknowledged, every alert updated before its latest
     * time has been delivered: that is the cursor target. */
    int fed = 0;
    for (size_t k = 0; k < c->noc; k++) {
        if (c->oc[k].active)
            hand(c, &c->oc[k], page_max);
        fed |= c->oc[k].active;
    }
    if (c->w->p->stop || !sf_pipeline_tenant_live(c->w->p, c->ti)) {
        c->stopped = 1;
        return SF_ERR_STOPPED; /* shutting down, or (cluster) no longer ours */
    }
    if (!fed) {
        c->starved = 1;
        return SF_ERR_STOPPED; /* nobody takes records: stop reading */
    }
    return SF_OK;
}

/* Positions of the tenant's outputs; returns the window start (ms), or
 * INT64_MAX when no output takes records. */
static int64_t plan(struct cycle *c, int64_t now)
{
    const struct sf_tenant_conf *tc = c->t->tc;
    int64_t from = INT64_MAX, lag = 0;
    for (size_t k = 0; k < c->noc; k++) {
        struct out_cycle *o = &c->oc[k];
        struct sf_cursor cur;
        o->active = 0;
        if (sf_state_cursor(c->w->p->state, tc->name, o->r->out.name, &cur) != SF_OK) {
            snprintf(o->why, sizeof(o->why), "cannot read the cursor");
            sf_error(tc->name, o->r->out.name, "cannot read the cursor; output skipped");
            continue;
        }
        if (cur.watermark_ms < 0) {
            cur.watermark_ms = now - tc->start_from_ms;
            if (sf_state_start(c->w->p->state, tc->name, o->r->out.name,
                               cur.watermark_ms) != SF_OK) {
                snprintf(o->why, sizeof(o->why), "cannot store the cursor");
                sf_error(tc->name, o->r->out.name, "cannot store the cursor; output skipped");
                continue;
            }
        }
        o->w = sf_outrun_position(o->r, c->ti, cur.watermark_ms);
        o->active = sf_outrun_accepting(o->r, now, o->why, sizeof(o->why));
        if (now - cur.watermark_ms > lag)
            lag = now - cur.watermark_ms;
        if (o->active && o->w - c->overlap < from)
            from = o->w - c->overlap;
    }
    c->t->lag_ms = lag;
    return from == INT64_MAX ? from : from < 0 ? 0 : from;
}

/* After the window: the end of a complete window is every fed output's
 * cursor target; outputs not fed or a failed read are noted in the state. */
static void finish_window(struct cycle *c, int64_t until, int64_t now, sf_err err,
                          const struct sf_fetch_status *st)
{
    for (size_t k = 0; k < c->noc; k++) {
        struct out_cycle *o = &c->oc[k];
        const char *out = o->r->out.name;
        sf_buf_reset(&o->buf);
        drop_notices(o);
        o->nq = 0;
        if (o->active && !err) {
            hand(c, o, until);
        } else if (o->active && !c->stopped) {
            char why[sizeof(st->msg) + 8];
            snprintf(why, sizeof(why), "fetch: %s", st->msg);
            sf_state_note(c->w->p->state, c->t->tc->name, out, why, now);
        }
        if (!o->active && o->why[0])
            sf_state_note(c->w->p->state, c->t->tc->name, out, o->why, now);
        /* a healthy output that was only short of queue room: more to do */
        if (!o->active && sf_outrun_healthy(o->r))
            c->t->behind = 1;
    }
}

static void cycle_free(struct cycle *c)
{
    for (size_t k = 0; k < c->noc; k++) {
        drop_notices(&c->oc[k]);
        sf_buf_free(&c->oc[k].buf);
        sf_buf_free(&c->oc[k].rec);
        free(c->oc[k].msgs);
        free(c->oc[k].items);
        free(c->oc[k].qseen);
    }
    free(c->oc);
}

sf_err sf_cycle_run(struct sf_worker *w, struct sf_tenant_rt *t, struct sf_fetch_status *st)
{
    struct cycle c = { .w = w, .t = t, .ti = (size_t)(t - w->p->tenants),
                       .overlap = t->tc->overlap_ms, .info = { t->tc->name, t->tc->tenant_id },
                       .source = t->ft.source };
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
        c.oc[k].np = sf_notify_policy_of(&c.oc[k].r->out);
        sf_buf_init(&c.oc[k].buf, 0);
        sf_buf_init(&c.oc[k].rec, 0);
    }
    int64_t from = plan(&c, now);
    t->no_output = from == INT64_MAX;
    t->pass_until = until;
    t->behind = 0;
    if (from == INT64_MAX) {
        sf_debug(t->tc->name, NULL, "no output takes records; nothing fetched");
        finish_window(&c, until, now, SF_ERR_LIMIT, st);
        goto out;
    }
    if (from < until) {
        sf_debug(t->tc->name, NULL, "window %lld..%lld", (long long)from, (long long)until);
        err = w->p->fetch_window(w->api, &t->ft, from, until, on_page, &c, st);
        if (err == SF_ERR_STOPPED && w->p->stop)
            c.stopped = 1; /* a call aborted by stop or reload: not a fetch failure */
    }
    if (c.starved) {
        err = SF_OK; /* not a fetch problem: outputs hold their own cursors */
        t->no_output = 1;
        for (size_t k = 0; k < c.noc; k++)
            c.oc[k].active = 0;
    }
    finish_window(&c, until, now, err, st);
out:
    cycle_free(&c);
    return err;
}
