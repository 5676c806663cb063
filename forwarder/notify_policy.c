/* notify_policy.c - the notification policy in front of the email and
 * webhook transports (sf_notify_policy.h): renders alerts at route time
 * into a message and a notice; on the runner thread skips alerts already
 * sent at that severity, applies flood control (held alerts go to
 * siemfwd.db, then out as one digest), renders digests and operational
 * events, and hands every message's bytes to the transport, whose verdict
 * it reports. Owns the transport, flood state and its store handle; the
 * rules are the pipeline's (matched once, in cycle.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sf_clock.h"
#include "sf_conf.h"
#include "sf_flood.h"
#include "sf_log.h"
#include "sf_notify_policy.h"
#include "sf_notify_render.h"
#include "sf_state_notify.h"

#define DIGEST_MAX_ITEMS 2000
#define ANSWER_MAX 512

struct include_conf {
    int organization, portal_link, device;
};

struct sf_notify_policy {
    struct sf_output_type type;  /* the transport's name, this file's functions */
    struct sf_output *o;         /* the output the pipeline sees */
    struct sf_output inner;      /* the transport; its ctx owned by its type */
    const struct sf_notify_cap *cap;
    const struct sf_rules *rules;   /* borrowed: NULL, every alert */
    struct sf_flood *flood;      /* owned */
    struct sf_flood *event_flood; /* owned: operational events, the same limit */
    size_t events_suppressed;    /* events past the flood limit since the last sent */
    struct sf_state *state;      /* borrowed: the pipeline's state store, or NULL */
    struct sf_nstore *store;     /* owned; opened by start */
    char **orphans;              /* owned: held rule keys no longer configured */
    size_t norphans;
    int64_t (*clock)(void);      /* wall clock in ms (tests replace it) */
    struct sf_email_opts eo;     /* email rendering: addresses borrowed from the transport */
    char domain[256];            /* right side of from, for Message-IDs */
    char *tmpl;                  /* owned: the webhook template, or NULL */
    /* the transport's verdict of the message in flight */
    int answered;
    enum sf_verdict v;
    char why[ANSWER_MAX];
};

#define I(f) offsetof(struct include_conf, f)
static const struct sf_conf_entry include_table[] = {
    { "organization", SF_CT_BOOL, "true", I(organization), 0, 0, NULL, 0,
      "the tenant (customer) name in the subject and body" },
    { "portal_link", SF_CT_BOOL, "true", I(portal_link), 0, 0, NULL, 0,
      "the tenant-specific Defender portal link of the alert" },
    { "device", SF_CT_BOOL, "true", I(device), 0, 0, NULL, 0,
      "host names of the devices in the alert's evidence" },
    SF_CONF_END
};
#undef I

static void on_verdict(void *opaque, uint64_t id, enum sf_verdict v, const char *reason)
{
    struct sf_notify_policy *p = opaque;

    (void)id;
    p->answered = 1;
    p->v = v;
    snprintf(p->why, sizeof(p->why), "%s", reason ? reason : "");
}

/* One message through the transport; its verdict, answer: what it said. */
static enum sf_verdict transmit(struct sf_notify_policy *p, const struct sf_buf *msg,
                                const char *tenant, const char *alert_id, char *answer,
                                size_t len)
{
    struct sf_msg m = { .data = msg->data ? msg->data : "", .len = msg->len,
                        .tenant = tenant, .alert_id = alert_id, .kind = SF_MSG_ALERT };

    p->answered = 0;
    p->why[0] = '\0';
    if (p->inner.type->send(&p->inner, &m, 1) == SF_OK && !p->answered)
        p->inner.type->flush(&p->inner, 60000);
    if (!p->answered) {
        snprintf(answer, len, "the transport gave no verdict");
        return SF_V_RETRY;
    }
    snprintf(answer, len, "%s", p->why);
    return p->v;
}

static sf_err render(const struct sf_notify_policy *p, const struct sf_notify_alert *a,
                     struct sf_buf *out, char *errbuf, size_t errlen)
{
    if (p->cap->kind == SF_NOTIFY_EMAIL) {
        char msgid[320], boundary[64];
        sf_email_ids(p->domain, msgid, sizeof(msgid), boundary, sizeof(boundary));
        sf_err err = sf_email_alert(&p->eo, a, p->clock(), msgid, boundary, out);
        if (err)
            snprintf(errbuf, errlen, "cannot build the message");
        return err;
    }
    return sf_webhook_alert(p->tmpl, a, out, errbuf, errlen);
}

static sf_err render_digest(const struct sf_notify_policy *p, const struct sf_notify_digest *d,
                            struct sf_buf *out, char *errbuf, size_t errlen)
{
    if (p->cap->kind == SF_NOTIFY_EMAIL) {
        char msgid[320], boundary[64];
        sf_email_ids(p->domain, msgid, sizeof(msgid), boundary, sizeof(boundary));
        sf_err err = sf_email_digest(&p->eo, d, p->clock(), msgid, boundary, out);
        if (err)
            snprintf(errbuf, errlen, "cannot build the digest");
        return err;
    }
    return sf_webhook_digest(p->tmpl, d, out, errbuf, errlen);
}

static char *put(char **at, const char *s)
{
    char *start = *at;
    size_t n = strlen(s) + 1;

    memcpy(start, s, n);
    *at += n;
    return start;
}

sf_err sf_notify_render_alert(const struct sf_notify_policy *p, json_object *alert,
                              const struct sf_alert_view *v, size_t rule,
                              const char *record, size_t record_len, struct sf_buf *out,
                              struct sf_notice **notice, char *errbuf, size_t errlen)
{
    struct sf_notify_alert a = { .v = v, .rule = sf_rules_describe(p->rules, rule),
                                 .record = alert, .record_text = record,
                                 .record_len = record_len };
    const char *s[] = { v->id ? v->id : "", v->tenant ? v->tenant : "",
                        v->tenant_id ? v->tenant_id : "", v->severity ? v->severity : "",
                        v->title ? v->title : "", v->link };
    size_t n = sizeof(struct sf_notice);
    struct sf_notice *nt;
    char *at;

    *notice = NULL;
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        n += strlen(s[i]) + 1;
    if (!(nt = malloc(n)))
        return SF_ERR_NOMEM;
    nt->rule = rule;
    nt->sev_rank = v->sev_rank;
    at = nt->strs;
    nt->alert_id = put(&at, s[0]);
    nt->tenant = put(&at, s[1]);
    nt->tenant_id = v->tenant_id ? put(&at, s[2]) : (at++, NULL);
    nt->severity = v->severity ? put(&at, s[3]) : (at++, NULL);
    nt->title = v->title ? put(&at, s[4]) : (at++, NULL);
    nt->link = put(&at, s[5]);
    sf_err err = render(p, &a, out, errbuf, errlen);
    if (err) {
        free(nt);
        return err;
    }
    *notice = nt;
    return SF_OK;
}

static long rule_index(const struct sf_notify_policy *p, const char *key)
{
    for (size_t i = 0; i < sf_rules_count(p->rules); i++)
        if (strcmp(sf_rules_key(p->rules, i), key) == 0)
            return (long)i;
    return -1;
}

static void on_held_rule(void *opaque, const char *rule, int64_t window_ms, size_t cnt)
{
    struct sf_notify_policy *p = opaque;
    long i = rule_index(p, rule);
    char **v;

    if (i >= 0) {
        sf_flood_restore(p->flood, (size_t)i, window_ms, cnt);
        return;
    }
    /* the rule changed since: its held alerts go out at the next chance */
    v = realloc(p->orphans, (p->norphans + 1) * sizeof(*v));
    if (!v)
        return;
    p->orphans = v;
    if ((v[p->norphans] = strdup(rule)))
        p->norphans++;
}

/* One digest of up to DIGEST_MAX_ITEMS alerts held under key. 0 if sent
 * (or nothing was held), -1 if the transport failed (kept for later). */
static int digest_key(struct sf_notify_policy *p, const char *key, const char *text, long rule)
{
    const char *name = p->o->name;
    struct sf_notify_digest d = { .rule = text };
    struct sf_notify_item *items;
    char limit[64], answer[ANSWER_MAX];
    int64_t last = 0;
    size_t cnt;
    enum sf_verdict v = SF_V_RETRY;
    struct sf_buf msg;

    if (sf_nstore_held(p->store, key, DIGEST_MAX_ITEMS, &items, &cnt, &d.from_ms, &last))
        return -1;
    if (!cnt) {
        if (rule >= 0)
            sf_flood_digested(p->flood, (size_t)rule, sf_flood_held(p->flood, (size_t)rule));
        sf_nstore_items_free(items, cnt);
        return 0;
    }
    sf_flood_describe(p->flood, limit, sizeof(limit));
    d.limit = limit;
    d.until_ms = p->clock();
    d.items = items;
    d.n = cnt;
    for (size_t i = 0; i < cnt; i++) {
        int r = sf_sev_rank_of(items[i].severity);
        d.max_rank = r > d.max_rank ? r : d.max_rank;
    }
    answer[0] = '\0';
    sf_buf_init(&msg, 0);
    if (render_digest(p, &d, &msg, answer, sizeof(answer)) == SF_OK)
        v = transmit(p, &msg, NULL, "digest", answer, sizeof(answer));
    sf_buf_free(&msg);
    if (v == SF_V_DELIVERED) {
        sf_info(NULL, name, "digest of %zu alert%s held by flood control sent (%s): %s",
                cnt, cnt == 1 ? "" : "s", text, answer);
        if (sf_nstore_drop_held(p->store, key, last) != SF_OK)
            sf_error(NULL, name, "cannot clear the digested alerts in siemfwd.db");
        if (rule >= 0)
            sf_flood_digested(p->flood, (size_t)rule, cnt);
    } else {
        sf_warn(NULL, name, "digest of %zu held alert%s not sent (%s): %s; kept for "
                "the next try", cnt, cnt == 1 ? "" : "s", sf_verdict_name(v), answer);
    }
    sf_nstore_items_free(items, cnt);
    return v == SF_V_DELIVERED ? 0 : -1;
}

/* Digests of ended windows (all: every held alert, for shutdown). */
static void service(struct sf_notify_policy *p, int all)
{
    int64_t now;

    if (!p->store)
        return;
    now = p->clock();
    while (p->norphans) {
        const char *k = p->orphans[p->norphans - 1];
        if (digest_key(p, k, k, -1) != 0)
            break;
        free(p->orphans[--p->norphans]);
    }
    for (size_t i = 0; i < sf_rules_count(p->rules); i++) {
        /* loop: one digest carries at most DIGEST_MAX_ITEMS */
        while (all ? sf_flood_held(p->flood, i) > 0 : sf_flood_due(p->flood, i, now)) {
            if (digest_key(p, sf_rules_key(p->rules, i), sf_rules_describe(p->rules, i),
                           (long)i) != 0)
                break;
        }
    }
}

static enum sf_verdict hold(struct sf_notify_policy *p, const struct sf_notice *nt,
                            size_t rule, int64_t window_ms, char *why, size_t len)
{
    struct sf_notify_item it = { .tenant = (char *)nt->tenant,
                                 .tenant_id = (char *)nt->tenant_id,
                                 .alert_id = (char *)nt->alert_id,
                                 .severity = (char *)nt->severity,
                                 .title = (char *)nt->title, .link = (char *)nt->link };

    if (sf_nstore_hold(p->store, sf_rules_key(p->rules, rule), window_ms, &it, nt->sev_rank,
                       p->clock())) {
        sf_flood_digested(p->flood, rule, 1);  /* not held after all */
        snprintf(why, len, "cannot store the alert held by flood control in siemfwd.db");
        return SF_V_RETRY;
    }
    sf_debug(nt->tenant, p->o->name, "alert %s held for the digest (flood limit)",
             nt->alert_id);
    return SF_V_DELIVERED;
}

/* Send (or hold, or skip) one alert its rule selected at route time. */
static enum sf_verdict alert(struct sf_notify_policy *p, const struct sf_msg *m, char *why,
                             size_t len)
{
    const struct sf_notice *nt = m->notice;
    struct sf_buf msg = { .data = (char *)m->data, .len = m->len };
    enum sf_verdict v;
    int64_t window;

    if (!nt || nt->rule >= sf_rules_count(p->rules)) {
        snprintf(why, len, "record without a notification notice");
        return SF_V_REJECTED;
    }
    const char *key = sf_rules_key(p->rules, nt->rule);
    if (sf_nstore_sent_rank(p->store, key, nt->alert_id) >= nt->sev_rank)
        return SF_V_DELIVERED;   /* sent already, and its severity did not rise */
    if (sf_flood_admit(p->flood, nt->rule, p->clock(), &window) == SF_FLOOD_HOLD)
        return hold(p, nt, nt->rule, window, why, len);
    v = transmit(p, &msg, m->tenant, nt->alert_id, why, len);
    if (v != SF_V_DELIVERED) {
        sf_flood_unsend(p->flood, nt->rule);
        return v;
    }
    sf_debug(nt->tenant, p->o->name, "alert %s sent: %s", nt->alert_id, why);
    if (sf_nstore_mark_sent(p->store, key, nt->alert_id, nt->sev_rank, p->clock()))
        sf_warn(nt->tenant, p->o->name, "alert %s sent but not recorded in siemfwd.db (it "
                "may be sent again)", nt->alert_id);
    return SF_V_DELIVERED;
}

/* siemfwd's own record (an event, JSON it made itself) as an object. */
static json_object *parse_own(const char *data, size_t len)
{
    json_tokener *tok = json_tokener_new();
    json_object *rec = NULL;

    if (!tok || len > (size_t)INT32_MAX)
        goto out;
    rec = json_tokener_parse_ex(tok, data, (int)len);
    if (rec && (json_tokener_get_error(tok) != json_tokener_success
                || (size_t)json_tokener_get_parse_end(tok) != len
                || !json_object_is_type(rec, json_type_object))) {
        json_object_put(rec);
        rec = NULL;
    }
out:
    if (tok)
        json_tokener_free(tok);
    return rec;
}

static const char *str_of(json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The view of an event record (events.c writes it: id, title, severity,
 * status, category, description, createdDateTime, tenant {name, id}). */
static int event_view(json_object *rec, const char *tenant, const char *tenant_id,
                      struct sf_alert_view *v)
{
    json_object *t;

    memset(v, 0, sizeof(*v));
    v->last_update_ms = -1;
    if (!json_object_is_type(rec, json_type_object))
        return -1;
    v->tenant = tenant;
    v->tenant_id = tenant_id;
    if (json_object_object_get_ex(rec, "tenant", &t) && json_object_is_type(t, json_type_object)) {
        v->tenant = str_of(t, "name") ? str_of(t, "name") : v->tenant;
        v->tenant_id = str_of(t, "id") ? str_of(t, "id") : v->tenant_id;
    }
    v->id = str_of(rec, "id");
    v->title = str_of(rec, "title");
    v->severity = str_of(rec, "severity");
    v->sev_rank = sf_sev_rank_of(v->severity);
    v->status = str_of(rec, "status");
    v->category = str_of(rec, "category");
    v->description = str_of(rec, "description");
    v->created = str_of(rec, "createdDateTime");
    v->link[0] = '\0'; /* an event is siemfwd's, not a Defender alert: no portal page */
    return 0;
}

/* An operational event (SF_MSG_EVENT): no rules or sent-once memory (each
 * event is sent once by the watcher); past the flood limit it is dropped and
 * counted, and the next one sent says how many were. */
static enum sf_verdict event(struct sf_notify_policy *p, const struct sf_msg *m, char *why,
                             size_t len)
{
    struct sf_alert_view view;
    struct sf_notify_alert a = { .v = &view, .rule = "operational event",
                                 .record_text = m->data, .record_len = m->len };
    enum sf_verdict v = SF_V_REJECTED;
    char more[600];
    int64_t window;
    struct sf_buf msg;

    sf_buf_init(&msg, 0);
    a.record = parse_own(m->data, m->len);
    if (event_view(a.record, m->tenant, m->tenant_id, &view) != 0) {
        snprintf(why, len, "malformed event record");
        goto out;
    }
    if (sf_flood_admit(p->event_flood, 0, p->clock(), &window) == SF_FLOOD_HOLD) {
        p->events_suppressed++;
        sf_warn(view.tenant, p->o->name, "event not sent (flood limit): %s",
                view.title ? view.title : "?");
        sf_flood_digested(p->event_flood, 0, 1);
        v = SF_V_DELIVERED;
        goto out;
    }
    if (p->events_suppressed) {
        snprintf(more, sizeof(more), "%s\n\n(%zu earlier events were not sent: flood limit)",
                 view.description ? view.description : "", p->events_suppressed);
        view.description = more;
    }
    v = render(p, &a, &msg, why, len) == SF_OK
        ? transmit(p, &msg, view.tenant, view.id, why, len) : SF_V_RETRY;
    if (v == SF_V_DELIVERED) {
        p->events_suppressed = 0;
        sf_info(view.tenant, p->o->name, "event sent: %s", view.title ? view.title : "?");
    } else {
        sf_flood_unsend(p->event_flood, 0);
    }
out:
    sf_buf_free(&msg);
    if (a.record)
        json_object_put(a.record);
    return v;
}

static sf_err pol_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct sf_notify_policy *p = o->ctx;
    sf_err err = p->inner.type->start(&p->inner, errbuf, errlen);

    if (err || p->store)
        return err;
    err = sf_nstore_open(p->state, o->state_dir, o->name, &p->store, errbuf, errlen);
    if (!err && sf_nstore_held_rules(p->store, on_held_rule, p) != SF_OK)
        sf_warn(NULL, o->name, "cannot read the alerts held for digests in siemfwd.db");
    return err;
}

static sf_err pol_send(struct sf_output *o, const struct sf_msg *msgs, size_t cnt)
{
    struct sf_notify_policy *p = o->ctx;
    char why[ANSWER_MAX];

    service(p, 0);  /* digests of ended windows go before new alerts */
    for (size_t i = 0; i < cnt; i++) {
        enum sf_verdict v;
        why[0] = '\0';
        if (!p->store) {
            snprintf(why, sizeof(why), "notification store not open");
            v = SF_V_RETRY;
        } else {
            v = msgs[i].kind == SF_MSG_EVENT ? event(p, &msgs[i], why, sizeof(why))
                                             : alert(p, &msgs[i], why, sizeof(why));
        }
        o->verdict(o->verdict_opaque, msgs[i].id, v, v == SF_V_DELIVERED ? NULL : why);
    }
    return SF_OK;
}

static void pol_poll(struct sf_output *o, int timeout_ms)
{
    struct sf_notify_policy *p = o->ctx;

    (void)timeout_ms;
    service(p, 0);
}

static size_t pol_flush(struct sf_output *o, int timeout_ms)
{
    struct sf_notify_policy *p = o->ctx;

    (void)timeout_ms;
    service(p, 0);
    return 0; /* send() reports every verdict before it returns */
}

static void policy_free(struct sf_notify_policy *p)
{
    if (p->store) {
        service(p, 1);   /* digests of everything held, while the transport is there */
        sf_nstore_close(p->store);
    }
    if (p->inner.ctx)
        p->inner.type->destroy(&p->inner);
    for (size_t i = 0; i < p->norphans; i++)
        free(p->orphans[i]);
    free(p->orphans);
    sf_flood_free(p->flood);
    sf_flood_free(p->event_flood);
    free(p->tmpl);
    free(p);
}

static void pol_destroy(struct sf_output *o)
{
    if (o->ctx)
        policy_free(o->ctx);
    o->ctx = NULL;
}

const struct sf_notify_policy *sf_notify_policy_of(const struct sf_output *o)
{
    return o && o->type && o->type->destroy == pol_destroy ? o->ctx : NULL;
}

/* The keys of cfg the policy reads: format (json or absent), flood,
 * include (email), template (webhook). */
static sf_err bind(struct sf_notify_policy *p, const struct sf_node *cfg, const char *path,
                   struct sf_buf *errs)
{
    const struct sf_node *fmt = sf_node_get(cfg, "format");
    const struct sf_node *inc = sf_node_get(cfg, "include"), *tmpl = sf_node_get(cfg, "template");
    char kp[300], why[256];
    sf_err err = SF_OK, e;

    if (fmt && !sf_node_is_null(fmt)
        && (fmt->type != SF_NODE_SCALAR || strcmp(fmt->str, "json") != 0)) {
        snprintf(kp, sizeof(kp), "%s.format", path);
        sf_conf_error(errs, fmt, kp, "%s outputs read the alert from JSON records: use "
                      "format: json (or leave it out)", p->type.name);
        err = SF_ERR_CONFIG;
    }
    if (p->cap->kind == SF_NOTIFY_EMAIL) {
        struct include_conf ic = { 1, 1, 1 };
        snprintf(kp, sizeof(kp), "%s.include", path);
        if (inc && (e = sf_conf_bind(inc, kp, include_table, NULL, &ic, errs)) != SF_OK)
            err = err ? err : e;
        p->eo.organization = ic.organization;
        p->eo.portal_link = ic.portal_link;
        p->eo.device = ic.device;
    } else if (tmpl && !sf_node_is_null(tmpl)) {
        snprintf(kp, sizeof(kp), "%s.template", path);
        if (tmpl->type != SF_NODE_SCALAR) {
            sf_conf_error(errs, tmpl, kp, "expected the JSON body as text (a YAML block "
                          "scalar: template: |), got %s", sf_node_type_name(tmpl));
            err = err ? err : SF_ERR_CONFIG;
        } else if (!sf_webhook_template_ok(tmpl->str, why, sizeof(why))) {
            sf_conf_error(errs, tmpl, kp, "%s", why);
            err = err ? err : SF_ERR_CONFIG;
        } else if (!(p->tmpl = strdup(tmpl->str))) {
            return SF_ERR_NOMEM;
        }
    }
    e = sf_flood_new(sf_node_get(cfg, "flood"), path, sf_rules_count(p->rules), &p->flood,
                     errs);
    err = err ? err : e;
    /* the same node again: it was just checked, errs gets nothing new */
    if (!e)
        e = sf_flood_new(sf_node_get(cfg, "flood"), path, 1, &p->event_flood, errs);
    return err ? err : e;
}

sf_err sf_notify_output_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                             const struct sf_rules *rules, struct sf_state *state,
                             struct sf_buf *errs)
{
    const struct sf_output_type *t = o->type;
    struct sf_notify_policy *p;
    sf_err err, perr;

    if (!t->notify)
        return t->init(o, cfg, path, errs);
    if (!(p = calloc(1, sizeof(*p))))
        return SF_ERR_NOMEM;
    p->type = (struct sf_output_type){ .name = t->name, .start = pol_start, .send = pol_send,
                                       .poll = pol_poll, .flush = pol_flush,
                                       .destroy = pol_destroy, .notify = t->notify };
    p->o = o;
    p->cap = t->notify;
    p->rules = rules;
    p->state = state;
    p->clock = sf_now_ms;
    p->inner = (struct sf_output){ .type = t, .name = o->name, .state_dir = o->state_dir,
                                   .max_record = o->max_record, .verdict = on_verdict,
                                   .verdict_opaque = p };
    err = t->init(&p->inner, cfg, path, errs);
    perr = bind(p, cfg, path, errs);
    if (!err && p->cap->kind == SF_NOTIFY_EMAIL) {
        const char *at;
        p->cap->addresses(&p->inner, &p->eo.from, &p->eo.to, &p->eo.nto);
        at = p->eo.from ? strchr(p->eo.from, '@') : NULL;
        snprintf(p->domain, sizeof(p->domain), "%s", at ? at + 1 : "siemfwd.invalid");
    }
    err = err ? err : perr;
    if (err) {
        policy_free(p);
        return err;
    }
    o->type = &p->type;
    o->ctx = p;
    return SF_OK;
}

void sf_notify_set_clock(struct sf_output *o, int64_t (*clock)(void))
{
    struct sf_notify_policy *p = (struct sf_notify_policy *)sf_notify_policy_of(o);

    if (p)
        p->clock = clock;
}

sf_err sf_notify_test(struct sf_output *o, json_object *alert, const struct sf_alert_view *v,
                      enum sf_verdict *verdict, char *answer, size_t len)
{
    struct sf_notify_policy *p = (struct sf_notify_policy *)sf_notify_policy_of(o);
    struct sf_notify_alert a = { .v = v, .rule = "notify-test", .record = alert };
    struct sf_buf msg;
    sf_err err;

    if (!p) {
        sf_errf(answer, len, "output %s is not an email or webhook output", o->name);
        return SF_ERR_INVALID;
    }
    a.record_text = json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN);
    a.record_len = a.record_text ? strlen(a.record_text) : 0;
    answer[0] = '\0';
    sf_buf_init(&msg, 0);
    err = render(p, &a, &msg, answer, len);
    *verdict = err ? SF_V_FATAL : transmit(p, &msg, v->tenant, v->id, answer, len);
    sf_buf_free(&msg);
    return err == SF_ERR_NOMEM ? err : SF_OK;
}
