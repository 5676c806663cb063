/* flood.c - per-rule fixed windows for notification flood control: the
 * first message opens a window of `per`; up to `max` are sent in it, the rest
 * are held for one digest at the window's end. Counting only: storing the
 * held alerts and sending digests is the caller's. Owns its window array. */
#include <stdio.h>
#include <stdlib.h>

#include "sf_conf.h"
#include "sf_flood.h"

struct window {
    int64_t start_ms;    /* 0: no window open */
    long long sent;
    size_t held;
};

struct flood_conf {
    long long max;
    long long per_ms;
};

struct sf_flood {
    struct flood_conf c;  /* max 0: unlimited */
    struct window *w;
    size_t n;
};

#define F(f) offsetof(struct flood_conf, f)
static const struct sf_conf_entry flood_table[] = {
    { "max", SF_CT_INT, NULL, F(max), 1, 100000, NULL, 1,
      "messages per rule and window before the rest are held for a digest" },
    { "per", SF_CT_DURATION, NULL, F(per_ms), 1000, 7LL * 86400 * 1000, NULL, 1,
      "window length, e.g. 10m; its held alerts go out as one digest when it ends" },
    SF_CONF_END
};
#undef F

sf_err sf_flood_new(const struct sf_node *flood, const char *path, size_t nrules,
                    struct sf_flood **out, struct sf_buf *errs)
{
    struct sf_flood *f = calloc(1, sizeof(*f));
    char kpath[256];
    sf_err err = SF_OK;

    *out = NULL;
    if (!f || !(f->w = calloc(nrules ? nrules : 1, sizeof(*f->w)))) {
        free(f);
        return SF_ERR_NOMEM;
    }
    f->n = nrules;
    snprintf(kpath, sizeof(kpath), "%s%sflood", path ? path : "", path && *path ? "." : "");
    if (flood && !sf_node_is_null(flood)) {
        if (flood->type != SF_NODE_MAP) {
            sf_conf_error(errs, flood, kpath, "expected {max: N, per: DURATION}, got %s",
                          sf_node_type_name(flood));
            err = SF_ERR_CONFIG;
        } else {
            err = sf_conf_bind(flood, kpath, flood_table, NULL, &f->c, errs);
        }
    }
    if (err) {
        sf_flood_free(f);
        return err;
    }
    *out = f;
    return SF_OK;
}

void sf_flood_free(struct sf_flood *f)
{
    if (!f)
        return;
    free(f->w);
    free(f);
}

static int ended(const struct sf_flood *f, const struct window *w, int64_t now_ms)
{
    return w->start_ms && now_ms >= w->start_ms + f->c.per_ms;
}

enum sf_flood_act sf_flood_admit(struct sf_flood *f, size_t rule, int64_t now_ms,
                                 int64_t *window_ms)
{
    struct window *w;

    *window_ms = 0;
    if (!f->c.max || rule >= f->n)
        return SF_FLOOD_SEND;
    w = &f->w[rule];
    if (w->held) {
        /* held ones exist only past the limit; after the window ended they
         * wait for their digest, and new ones join it (order is kept) */
        w->held++;
        *window_ms = w->start_ms;
        return SF_FLOOD_HOLD;
    }
    if (!w->start_ms || ended(f, w, now_ms)) {
        w->start_ms = now_ms > 0 ? now_ms : 1;
        w->sent = 0;
    }
    *window_ms = w->start_ms;
    if (w->sent < f->c.max) {
        w->sent++;
        return SF_FLOOD_SEND;
    }
    w->held++;
    return SF_FLOOD_HOLD;
}

void sf_flood_unsend(struct sf_flood *f, size_t rule)
{
    if (f->c.max && rule < f->n && f->w[rule].sent > 0)
        f->w[rule].sent--;
}

void sf_flood_restore(struct sf_flood *f, size_t rule, int64_t window_ms, size_t held)
{
    struct window *w;

    if (rule >= f->n || !held)
        return;
    w = &f->w[rule];
    if (!w->start_ms || window_ms < w->start_ms)
        w->start_ms = window_ms > 0 ? window_ms : 1;
    w->sent = f->c.max;   /* they were held: the window was full */
    w->held += held;
}

size_t sf_flood_held(const struct sf_flood *f, size_t rule)
{
    return rule < f->n ? f->w[rule].held : 0;
}

int sf_flood_due(const struct sf_flood *f, size_t rule, int64_t now_ms)
{
    return rule < f->n && f->w[rule].held && ended(f, &f->w[rule], now_ms);
}

int64_t sf_flood_window(const struct sf_flood *f, size_t rule)
{
    return rule < f->n ? f->w[rule].start_ms : 0;
}

void sf_flood_digested(struct sf_flood *f, size_t rule, size_t n)
{
    if (rule >= f->n)
        return;
    f->w[rule].held = f->w[rule].held > n ? f->w[rule].held - n : 0;
}

int64_t sf_flood_next_due(const struct sf_flood *f)
{
    int64_t due = 0;

    for (size_t i = 0; i < f->n; i++) {
        const struct window *w = &f->w[i];
        if (w->held && w->start_ms && (!due || w->start_ms + f->c.per_ms < due))
            due = w->start_ms + f->c.per_ms;
    }
    return due;
}

void sf_flood_describe(const struct sf_flood *f, char *buf, size_t len)
{
    char per[32];

    if (!f || !f->c.max) {
        snprintf(buf, len, "unlimited");
        return;
    }
    sf_format_duration(f->c.per_ms, per, sizeof(per));
    snprintf(buf, len, "%lld per %s", f->c.max, per);
}

long long sf_flood_per_ms(const struct sf_flood *f)
{
    return f ? f->c.per_ms : 0;
}
