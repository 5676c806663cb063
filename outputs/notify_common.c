/* notify_common.c - the engine of the notification outputs: parse the JSON
 * record, pick the matching rule, skip alerts already sent at that severity,
 * apply flood control (held alerts go to notify.db, then out as one digest),
 * and hand single alerts and digests to the transport (email.c, webhook.c).
 * Does no network I/O itself. Owns rules, flood state and the store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sf_clock.h"
#include "sf_log.h"
#include "sf_notify.h"
#include "sf_portal_link.h"

#define DIGEST_MAX_ITEMS 2000
#define ANSWER_MAX 512

static const char *str_of(json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void add_device(struct sf_notify_alert *a, const char *name)
{
    if (!name || !*name || a->ndevices == SF_NOTIFY_MAX_DEVICES)
        return;
    for (size_t i = 0; i < a->ndevices; i++)
        if (strcasecmp(a->devices[i], name) == 0)
            return;
    a->devices[a->ndevices++] = name;
}

/* Graph: deviceEvidence entries; MDE / SIEM API: computerDnsName. */
static void find_devices(json_object *rec, struct sf_notify_alert *a)
{
    json_object *ev;

    add_device(a, sf_rules_field(rec, "computerDnsName"));
    if (!json_object_object_get_ex(rec, "evidence", &ev) ||
        !json_object_is_type(ev, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(ev); i++) {
        json_object *e = json_object_array_get_idx(ev, i);
        const char *type = json_object_is_type(e, json_type_object)
                           ? str_of(e, "@odata.type") : NULL;
        size_t tl = type ? strlen(type) : 0;
        if (tl < 14 || strcmp(type + tl - 14, "deviceEvidence") != 0)
            continue;
        const char *name = str_of(e, "deviceDnsName");
        add_device(a, name ? name : str_of(e, "hostName"));
    }
}

/* alertWebUrl (Graph) or LinkToMTP (SIEM API), else the portal's alert
 * page, with tid= (sf_portal_link.h, shared with the sources' view). */
static void make_link(json_object *rec, struct sf_notify_alert *a)
{
    const char *url = sf_rules_field(rec, "alertWebUrl");

    sf_portal_link(a->link, sizeof(a->link), url ? url : sf_rules_field(rec, "LinkToMTP"),
                   a->id, a->tenant_id);
}

int sf_notify_extract(json_object *rec, const char *tenant, const char *tenant_id,
                      struct sf_notify_alert *a)
{
    json_object *t;

    memset(a, 0, sizeof(*a));
    if (!json_object_is_type(rec, json_type_object))
        return -1;
    a->record = rec;
    a->tenant = tenant;
    a->tenant_id = tenant_id;
    if (json_object_object_get_ex(rec, "tenant", &t) && json_object_is_type(t, json_type_object)) {
        if (str_of(t, "name"))
            a->tenant = str_of(t, "name");
        if (str_of(t, "id"))
            a->tenant_id = str_of(t, "id");
    }
    a->id = sf_rules_field(rec, "id");
    if (!a->id)
        a->id = sf_rules_field(rec, "AlertId");
    a->title = sf_rules_field(rec, "title");
    if (!a->title)
        a->title = sf_rules_field(rec, "AlertTitle");
    a->severity = sf_rules_field(rec, "severity");
    a->sev_rank = sf_rules_severity_rank(a->severity);
    a->status = sf_rules_field(rec, "status");
    a->category = sf_rules_field(rec, "category");
    a->service_source = sf_rules_field(rec, "serviceSource");
    a->detection_source = sf_rules_field(rec, "detectionSource");
    if (!a->detection_source)
        a->detection_source = sf_rules_field(rec, "Source");
    a->time = sf_rules_field(rec, "createdDateTime");
    if (!a->time)
        a->time = sf_rules_field(rec, "alertCreationTime");
    if (!a->time)
        a->time = sf_rules_field(rec, "AlertTime");
    a->description = sf_rules_field(rec, "description");
    find_devices(rec, a);
    make_link(rec, a);
    return 0;
}

sf_err sf_notify_init(struct sf_notify *n, struct sf_output *o, const struct sf_node *cfg,
                      const char *path, const struct sf_notify_ops *ops, void *tctx,
                      struct sf_buf *errs)
{
    const struct sf_node *fmt = sf_node_get(cfg, "format");
    char kpath[300];
    sf_err err;

    n->o = o;
    n->ops = ops;
    n->tctx = tctx;
    n->clock = sf_now_ms;
    if (fmt && !sf_node_is_null(fmt)
        && (fmt->type != SF_NODE_SCALAR || strcmp(fmt->str, "json") != 0)) {
        snprintf(kpath, sizeof(kpath), "%s.format", path);
        sf_conf_error(errs, fmt, kpath, "%s outputs read the alert from JSON records: use "
                      "format: json (or leave it out)", o->type ? o->type->name : "notify");
        return SF_ERR_CONFIG;
    }
    err = sf_rules_compile(sf_node_get(cfg, "rules"), path, &n->rules, errs);
    if (err)
        return err;
    err = sf_flood_new(sf_node_get(cfg, "flood"), path, sf_rules_count(n->rules), &n->flood,
                       errs);
    if (err)
        return err;
    /* the same node again: it was just checked, errs gets nothing new */
    return sf_flood_new(sf_node_get(cfg, "flood"), path, 1, &n->event_flood, errs);
}

static long rule_index(const struct sf_notify *n, const char *key)
{
    for (size_t i = 0; i < sf_rules_count(n->rules); i++)
        if (strcmp(sf_rules_key(n->rules, i), key) == 0)
            return (long)i;
    return -1;
}

static void on_held_rule(void *opaque, const char *rule, int64_t window_ms, size_t cnt)
{
    struct sf_notify *n = opaque;
    long i = rule_index(n, rule);
    char **v;

    if (i >= 0) {
        sf_flood_restore(n->flood, (size_t)i, window_ms, cnt);
        return;
    }
    /* the rule changed since: its held alerts go out at the next chance */
    v = realloc(n->orphans, (n->norphans + 1) * sizeof(*v));
    if (!v)
        return;
    n->orphans = v;
    if ((v[n->norphans] = strdup(rule)))
        n->norphans++;
}

sf_err sf_notify_start(struct sf_notify *n, char *errbuf, size_t errlen)
{
    sf_err err;

    if (n->store)
        return SF_OK;
    err = sf_nstore_open(n->o->state_dir, n->o->name, &n->store, errbuf, errlen);
    if (!err && sf_nstore_held_rules(n->store, on_held_rule, n) != SF_OK)
        sf_warn(NULL, n->o->name, "cannot read the alerts held for digests in notify.db");
    return err;
}

/* One digest of up to DIGEST_MAX_ITEMS alerts held under key. 0 if sent
 * (or nothing was held), -1 if the transport failed (kept for later). */
static int digest_key(struct sf_notify *n, const char *key, const char *text, long rule)
{
    struct sf_notify_digest d = { .rule = text };
    struct sf_notify_item *items;
    char limit[64], answer[ANSWER_MAX];
    int64_t last = 0;
    size_t cnt;
    enum sf_verdict v;

    if (sf_nstore_held(n->store, key, DIGEST_MAX_ITEMS, &items, &cnt, &d.from_ms, &last))
        return -1;
    if (!cnt) {
        if (rule >= 0)
            sf_flood_digested(n->flood, (size_t)rule, sf_flood_held(n->flood, (size_t)rule));
        sf_nstore_items_free(items, cnt);
        return 0;
    }
    sf_flood_describe(n->flood, limit, sizeof(limit));
    d.limit = limit;
    d.until_ms = n->clock();
    d.items = items;
    d.n = cnt;
    for (size_t i = 0; i < cnt; i++) {
        int r = sf_rules_severity_rank(items[i].severity);
        d.max_rank = r > d.max_rank ? r : d.max_rank;
    }
    answer[0] = '\0';
    v = n->ops->digest(n->tctx, &d, answer, sizeof(answer));
    if (v == SF_V_DELIVERED) {
        sf_info(NULL, n->o->name, "digest of %zu alert%s held by flood control sent (%s): %s",
                cnt, cnt == 1 ? "" : "s", text, answer);
        if (sf_nstore_drop_held(n->store, key, last) != SF_OK)
            sf_error(NULL, n->o->name, "cannot clear the digested alerts in notify.db");
        if (rule >= 0)
            sf_flood_digested(n->flood, (size_t)rule, cnt);
    } else {
        sf_warn(NULL, n->o->name, "digest of %zu held alert%s not sent (%s): %s; kept for "
                "the next try", cnt, cnt == 1 ? "" : "s", sf_verdict_name(v), answer);
    }
    sf_nstore_items_free(items, cnt);
    return v == SF_V_DELIVERED ? 0 : -1;
}

void sf_notify_service(struct sf_notify *n, int all)
{
    int64_t now;

    if (!n->store)
        return;
    now = n->clock();
    while (n->norphans) {
        const char *k = n->orphans[n->norphans - 1];
        if (digest_key(n, k, k, -1) != 0)
            break;
        free(n->orphans[--n->norphans]);
    }
    for (size_t i = 0; i < sf_rules_count(n->rules); i++) {
        /* loop: one digest carries at most DIGEST_MAX_ITEMS */
        while (all ? sf_flood_held(n->flood, i) > 0 : sf_flood_due(n->flood, i, now)) {
            if (digest_key(n, sf_rules_key(n->rules, i), sf_rules_describe(n->rules, i),
                           (long)i) != 0)
                break;
        }
    }
}

static enum sf_verdict hold(struct sf_notify *n, const struct sf_notify_alert *a, size_t rule,
                            int64_t window_ms, char *why, size_t len)
{
    if (sf_nstore_hold(n->store, sf_rules_key(n->rules, rule), window_ms, a, n->clock())) {
        sf_flood_digested(n->flood, rule, 1);  /* not held after all */
        snprintf(why, len, "cannot store the alert held by flood control in notify.db");
        return SF_V_RETRY;
    }
    sf_debug(a->tenant, n->o->name, "alert %s held for the digest (flood limit)", a->id);
    return SF_V_DELIVERED;
}

/* The record as a JSON object (NULL if it is not one, or has trailing bytes). */
static json_object *parse_record(const char *data, size_t len)
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

/* Send (or hold, or skip) one alert that rule selected. */
static enum sf_verdict notify(struct sf_notify *n, struct sf_notify_alert *a, size_t rule,
                              char *why, size_t len)
{
    const char *key = sf_rules_key(n->rules, rule);
    const char *id = a->id ? a->id : "";
    enum sf_verdict v;
    int64_t window;

    a->rule = sf_rules_describe(n->rules, rule);
    if (sf_nstore_sent_rank(n->store, key, id) >= a->sev_rank)
        return SF_V_DELIVERED;   /* sent already, and its severity did not rise */
    if (sf_flood_admit(n->flood, rule, n->clock(), &window) == SF_FLOOD_HOLD)
        return hold(n, a, rule, window, why, len);
    v = n->ops->alert(n->tctx, a, why, len);
    if (v != SF_V_DELIVERED) {
        sf_flood_unsend(n->flood, rule);
        return v;
    }
    sf_debug(a->tenant, n->o->name, "alert %s sent: %s", id, why);
    if (sf_nstore_mark_sent(n->store, key, id, a->sev_rank, n->clock()))
        sf_warn(a->tenant, n->o->name, "alert %s sent but not recorded in notify.db (it may "
                "be sent again)", id);
    return SF_V_DELIVERED;
}

/* An operational event (SF_MSG_EVENT): no rules or sent-once memory (each
 * event is sent once by the watcher); past the flood limit it is dropped and
 * counted, and the next one sent says how many were. */
static enum sf_verdict event(struct sf_notify *n, const struct sf_msg *m, char *why, size_t len)
{
    struct sf_notify_alert a;
    json_object *rec = parse_record(m->data, m->len);
    enum sf_verdict v = SF_V_REJECTED;
    char more[600];
    int64_t window;

    if (sf_notify_extract(rec, m->tenant, m->tenant_id, &a) != 0) {
        snprintf(why, len, "malformed event record");
        goto out;
    }
    a.record_text = m->data;
    a.record_len = m->len;
    a.rule = "operational event";
    if (sf_flood_admit(n->event_flood, 0, n->clock(), &window) == SF_FLOOD_HOLD) {
        n->events_suppressed++;
        sf_warn(a.tenant, n->o->name, "event not sent (flood limit): %s",
                a.title ? a.title : "?");
        sf_flood_digested(n->event_flood, 0, 1);
        v = SF_V_DELIVERED;
        goto out;
    }
    if (n->events_suppressed) {
        snprintf(more, sizeof(more), "%s\n\n(%zu earlier events were not sent: flood limit)",
                 a.description ? a.description : "", n->events_suppressed);
        a.description = more;
    }
    v = n->ops->alert(n->tctx, &a, why, len);
    if (v == SF_V_DELIVERED) {
        n->events_suppressed = 0;
        sf_info(a.tenant, n->o->name, "event sent: %s", a.title ? a.title : "?");
    } else {
        sf_flood_unsend(n->event_flood, 0);
    }
out:
    if (rec)
        json_object_put(rec);
    return v;
}

static enum sf_verdict one(struct sf_notify *n, const struct sf_msg *m, char *why, size_t len)
{
    if (m->kind == SF_MSG_EVENT)
        return event(n, m, why, len);
    struct sf_notify_alert a;
    json_object *rec = parse_record(m->data, m->len);
    enum sf_verdict v = SF_V_DELIVERED;
    int rule;

    if (sf_notify_extract(rec, m->tenant, m->tenant_id, &a) != 0) {
        snprintf(why, len, "the record is not a JSON object: %s outputs need format: json",
                 n->o->type->name);
        v = SF_V_FATAL;
        goto out;
    }
    a.record_text = m->data;
    a.record_len = m->len;
    if (!a.id)
        a.id = m->alert_id;
    rule = sf_rules_match(n->rules, rec, a.tenant);
    if (rule >= 0)   /* else no rule wants it: done with it */
        v = notify(n, &a, (size_t)rule, why, len);
out:
    if (rec)
        json_object_put(rec);
    return v;
}

void sf_notify_send(struct sf_notify *n, const struct sf_msg *msgs, size_t cnt)
{
    char why[ANSWER_MAX];

    sf_notify_service(n, 0);  /* digests of ended windows go before new alerts */
    for (size_t i = 0; i < cnt; i++) {
        enum sf_verdict v;
        why[0] = '\0';
        if (!n->store) {
            snprintf(why, sizeof(why), "notification store not open");
            v = SF_V_RETRY;
        } else {
            v = one(n, &msgs[i], why, sizeof(why));
        }
        n->o->verdict(n->o->verdict_opaque, msgs[i].id, v,
                      v == SF_V_DELIVERED ? NULL : why);
    }
}

void sf_notify_fini(struct sf_notify *n)
{
    if (n->store) {
        sf_notify_service(n, 1);
        sf_nstore_close(n->store);
        n->store = NULL;
    }
    for (size_t i = 0; i < n->norphans; i++)
        free(n->orphans[i]);
    free(n->orphans);
    n->orphans = NULL;
    n->norphans = 0;
    sf_rules_free(n->rules);
    n->rules = NULL;
    sf_flood_free(n->flood);
    sf_flood_free(n->event_flood);
    n->flood = NULL;
    n->event_flood = NULL;
}

static json_object *test_alert(const char *tenant_id)
{
    char id[64], link[256];
    json_object *a = json_object_new_object();

    snprintf(id, sizeof(id), "siemfwd-test-%lld", (long long)time(NULL));
    snprintf(link, sizeof(link), "https://security.microsoft.com/alerts?tid=%s",
             tenant_id ? tenant_id : "");
    if (!a)
        return NULL;
    json_object_object_add(a, "id", json_object_new_string(id));
    json_object_object_add(a, "title", json_object_new_string("siemfwd test notification"));
    json_object_object_add(a, "severity", json_object_new_string("informational"));
    json_object_object_add(a, "status", json_object_new_string("new"));
    json_object_object_add(a, "description", json_object_new_string(
        "A test message sent by `siemfwd notify-test`. No alert was raised."));
    if (tenant_id)
        json_object_object_add(a, "alertWebUrl", json_object_new_string(link));
    return a;
}

sf_err sf_notify_test(struct sf_output *o, json_object *alert, const char *tenant,
                      const char *tenant_id, enum sf_verdict *v, char *answer, size_t len)
{
    struct sf_notify *n = o->ctx;
    struct sf_notify_alert a;
    json_object *own = NULL;

    if (!o->type || !n || (strcmp(o->type->name, "email") != 0
                           && strcmp(o->type->name, "webhook") != 0)) {
        sf_errf(answer, len, "output %s is not an email or webhook output", o->name);
        return SF_ERR_INVALID;
    }
    if (!alert && !(alert = own = test_alert(tenant_id)))
        return SF_ERR_NOMEM;
    if (sf_notify_extract(alert, tenant, tenant_id, &a) != 0) {
        json_object_put(own);
        sf_errf(answer, len, "the alert is not a JSON object");
        return SF_ERR_INVALID;
    }
    a.record_text = json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN);
    a.record_len = strlen(a.record_text);
    if (!a.id)
        a.id = "siemfwd-test";
    a.rule = "notify-test";
    answer[0] = '\0';
    *v = n->ops->alert(n->tctx, &a, answer, len);
    json_object_put(own);
    return SF_OK;
}
