/* rules.c - compiles the `rules:` list of an output and matches alert
 * views (formats/sf_alert_view.h, whatever source filled them) against it:
 * pipeline policy, matched once per alert and output at route time
 * (cycle.c). Does not remember what was sent or limit floods
 * (notify_policy.c and flood.c do). The compiled set owns its strings and
 * is read-only after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_conf.h"
#include "sf_rules.h"

struct rule_conf {
    char *name;
    struct sf_strlist tenants;
    char *min_severity;
    struct sf_strlist categories;
    struct sf_strlist sources;
    struct sf_strlist status;
};

struct rule {
    struct rule_conf c;
    int min_rank;        /* 0: any severity */
    char *key;           /* owned: identity for the sent-once memory */
    char *text;          /* owned: conditions as text */
};

struct sf_rules {
    struct rule *v;
    size_t n;
};

static const char *const severities[] = { "informational", "low", "medium", "high", NULL };
/* Graph alertStatus members (MDE spells them in PascalCase). */
static const char *const statuses[] = { "new", "inProgress", "resolved", "unknown", NULL };

#define R(f) offsetof(struct rule_conf, f)
static const struct sf_conf_entry rule_table[] = {
    { "name", SF_CT_STRING, NULL, R(name), 0, 0, NULL, 0,
      "label in logs and digests; also the rule's identity for the sent-once memory" },
    { "tenants", SF_CT_STRLIST, NULL, R(tenants), 0, 0, NULL, 0,
      "tenant names (as configured) the rule applies to; default: every tenant" },
    { "min_severity", SF_CT_ENUM, NULL, R(min_severity), 0, 0, severities, 0,
      "lowest severity that matches (informational < low < medium < high)" },
    { "categories", SF_CT_STRLIST, NULL, R(categories), 0, 0, NULL, 0,
      "alert categories, e.g. [Ransomware, CredentialAccess]; case-insensitive" },
    { "sources", SF_CT_STRLIST, NULL, R(sources), 0, 0, NULL, 0,
      "serviceSource or detectionSource values, e.g. [microsoftDefenderForEndpoint, antivirus]" },
    { "status", SF_CT_STRLIST, NULL, R(status), 0, 0, NULL, 0,
      "alert status values, e.g. [new] (only new alerts, not updates); records without a "
      "status (SIEM API detections) count as new" },
    SF_CONF_END
};
#undef R

static int in_list(const struct sf_strlist *l, const char *s, int nocase)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (nocase ? strcasecmp(l->v[i], s) == 0 : strcmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

static int rule_matches(const struct rule *ru, const struct sf_alert_view *v)
{
    const struct rule_conf *c = &ru->c;

    if (c->tenants.n && !in_list(&c->tenants, v->tenant, 0))
        return 0;
    if (ru->min_rank && v->sev_rank < ru->min_rank)
        return 0;
    if (c->categories.n && !in_list(&c->categories, v->category, 1))
        return 0;
    if (c->sources.n && !in_list(&c->sources, v->service_source, 1)
        && !in_list(&c->sources, v->detection_source, 1))
        return 0;
    /* the SIEM API exports new detections only and has no status */
    if (c->status.n && !in_list(&c->status, v->status ? v->status : "new", 1))
        return 0;
    return 1;
}

int sf_rules_match(const struct sf_rules *r, const struct sf_alert_view *v)
{
    if (!r)
        return 0;
    for (size_t i = 0; i < r->n; i++)
        if (rule_matches(&r->v[i], v))
            return (int)i;
    return -1;
}

static void add_list(struct sf_buf *b, const char *key, const struct sf_strlist *l)
{
    if (!l->n)
        return;
    sf_buf_printf(b, "%s%s=", b->len ? " " : "", key);
    for (size_t i = 0; i < l->n; i++)
        sf_buf_printf(b, "%s%s", i ? "," : "", l->v[i]);
}

/* The conditions as one line of text, and the rule's key. */
static sf_err describe(struct rule *ru)
{
    struct sf_buf b;

    sf_buf_init(&b, 64 * 1024);
    add_list(&b, "tenants", &ru->c.tenants);
    if (ru->c.min_severity)
        sf_buf_printf(&b, "%smin_severity=%s", b.len ? " " : "", ru->c.min_severity);
    add_list(&b, "categories", &ru->c.categories);
    add_list(&b, "sources", &ru->c.sources);
    add_list(&b, "status", &ru->c.status);
    if (!b.len)
        sf_buf_adds(&b, "every alert");
    ru->text = sf_buf_steal(&b, NULL);
    sf_buf_free(&b);
    if (!ru->text)
        return SF_ERR_NOMEM;
    ru->key = strdup(ru->c.name ? ru->c.name : ru->text);
    return ru->key ? SF_OK : SF_ERR_NOMEM;
}

static void check_status(const struct rule_conf *c, const struct sf_node *item,
                         const char *kpath, struct sf_buf *errs, sf_err *err)
{
    const struct sf_node *at = sf_node_get(item, "status");

    for (size_t k = 0; k < c->status.n; k++) {
        int ok = 0;
        for (size_t s = 0; statuses[s]; s++)
            ok |= strcasecmp(c->status.v[k], statuses[s]) == 0;
        if (ok)
            continue;
        const char *near = sf_closest(c->status.v[k], statuses, 4);
        char p[320];
        snprintf(p, sizeof(p), "%s.status[%zu]", kpath, k);
        sf_conf_error(errs, at && at->type == SF_NODE_SEQ && k < at->n ? at->items[k] : item,
                      p, "unknown status '%s' (%s%s%s)", c->status.v[k],
                      near ? "did you mean '" : "one of new, inProgress, resolved, unknown",
                      near ? near : "", near ? "'?" : "");
        *err = SF_ERR_CONFIG;
    }
}

static sf_err compile_one(struct rule *ru, const struct sf_node *item, const char *kpath,
                          struct sf_buf *errs)
{
    sf_err err;

    if (item->type != SF_NODE_MAP) {
        sf_conf_error(errs, item, kpath, "expected a rule (a mapping such as {min_severity: "
                      "high}), got %s", sf_node_type_name(item));
        return SF_ERR_CONFIG;
    }
    err = sf_conf_bind(item, kpath, rule_table, NULL, &ru->c, errs);
    if (err)
        return err;
    ru->min_rank = sf_sev_rank_of(ru->c.min_severity); /* the views' own ranks */
    check_status(&ru->c, item, kpath, errs, &err);
    if (!err)
        err = describe(ru);
    return err;
}

sf_err sf_rules_compile(const struct sf_node *rules, const char *path,
                        struct sf_rules **out, struct sf_buf *errs)
{
    struct sf_rules *r = NULL;
    char kpath[256];
    sf_err err = SF_OK;

    *out = NULL;
    snprintf(kpath, sizeof(kpath), "%s%srules", path ? path : "", path && *path ? "." : "");
    if (!rules || sf_node_is_null(rules))
        return SF_OK;
    if (rules->type != SF_NODE_SEQ) {
        sf_conf_error(errs, rules, kpath, "expected a list of rules, got %s",
                      sf_node_type_name(rules));
        return SF_ERR_CONFIG;
    }
    if (rules->n == 0) {
        sf_conf_error(errs, rules, kpath, "empty list: remove the key to send every alert");
        return SF_ERR_CONFIG;
    }
    r = calloc(1, sizeof(*r));
    if (r)
        r->v = calloc(rules->n, sizeof(*r->v));
    if (!r || !r->v) {
        free(r);
        return SF_ERR_NOMEM;
    }
    r->n = rules->n;
    for (size_t i = 0; i < rules->n; i++) {
        char ipath[300];
        snprintf(ipath, sizeof(ipath), "%s[%zu]", kpath, i);
        sf_err e = compile_one(&r->v[i], rules->items[i], ipath, errs);
        if (e && (!err || e == SF_ERR_NOMEM))
            err = e;
    }
    if (err) {
        sf_rules_free(r);
        return err;
    }
    *out = r;
    return SF_OK;
}

void sf_rules_free(struct sf_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        sf_conf_release(rule_table, &r->v[i].c);
        free(r->v[i].key);
        free(r->v[i].text);
    }
    free(r->v);
    free(r);
}

size_t sf_rules_count(const struct sf_rules *r)
{
    return r ? r->n : 1;
}

const char *sf_rules_key(const struct sf_rules *r, size_t i)
{
    if (!r)
        return "every alert";
    return i < r->n ? r->v[i].key : NULL;
}

const char *sf_rules_describe(const struct sf_rules *r, size_t i)
{
    if (!r)
        return "every alert";
    return i < r->n ? r->v[i].text : NULL;
}
