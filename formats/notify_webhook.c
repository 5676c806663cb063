/* notify_webhook.c - the webhook bodies of the notification renderer:
 * siemfwd's own JSON document for an alert and for a flood-control digest,
 * or the configured template filled (${tenant.name}, ${tenant.id},
 * ${record}, ${alert.<field>}, every value JSON-escaped so a template stays
 * JSON whatever an alert holds; $${ is a literal ${). Pure functions over
 * caller-owned buffers (outputs/webhook.c posts what comes out). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_notify_render.h"

static sf_err json_escape(struct sf_buf *out, const char *s, size_t n)
{
    sf_err err = SF_OK;

    for (size_t i = 0; i < n && !err; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            err = sf_buf_printf(out, "\\%c", c);
        else if (c == '\n')
            err = sf_buf_adds(out, "\\n");
        else if (c == '\r')
            err = sf_buf_adds(out, "\\r");
        else if (c == '\t')
            err = sf_buf_adds(out, "\\t");
        else if (c < 0x20 || c == 0x7f)
            err = sf_buf_printf(out, "\\u%04x", c);
        else
            err = sf_buf_addc(out, (char)c);
    }
    return err;
}

/* String member of obj by case-insensitive key (the SIEM API writes
 * "Severity", Graph "severity"); NULL if absent or not a string. */
static const char *field_ci(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_is_type(obj, json_type_object))
        return NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        json_object_object_foreach(obj, k, val) {
            if (strcasecmp(k, key) == 0) {
                v = val;
                break;
            }
        }
    }
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* The text of ${name}; NULL: unknown name. *own is set when malloc'd. */
static const char *lookup(const struct sf_notify_alert *a, const char *name, char **own)
{
    static const char *const fields[][2] = {
        { "title", NULL }, { "status", NULL }, { "category", NULL }, { "id", NULL },
        { "time", NULL }, { "description", NULL }, { "rule", NULL },
        { "serviceSource", NULL }, { "detectionSource", NULL },
    };
    const struct sf_alert_view *v = a->v;
    const char *vals[] = { v->title, v->status, v->category, v->id, v->created,
                           v->description, a->rule, v->service_source, v->detection_source };
    char word[64];

    *own = NULL;
    if (strcmp(name, "tenant.name") == 0)
        return v->tenant ? v->tenant : "";
    if (strcmp(name, "tenant.id") == 0)
        return v->tenant_id ? v->tenant_id : "";
    if (strcmp(name, "record") == 0)
        return a->record_text ? a->record_text : "";
    if (strncmp(name, "alert.", 6) != 0 || !name[6]
        || strspn(name + 6, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@")
           != strlen(name + 6))
        return NULL;
    name += 6;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcmp(name, fields[i][0]) == 0)
            return vals[i] ? vals[i] : "";
    if (strcmp(name, "link") == 0 || strcmp(name, "alertWebUrl") == 0)
        return v->link;
    if (strcmp(name, "severity") == 0) {
        sf_notify_severity_word(v->severity, word, sizeof(word));
        return (*own = strdup(word)) ? *own : "";
    }
    if (strcmp(name, "devices") == 0) {
        struct sf_buf b;
        sf_buf_init(&b, 0);
        sf_buf_adds(&b, "");
        for (size_t i = 0; i < v->ndevices; i++)
            sf_buf_printf(&b, "%s%s", i ? ", " : "", v->devices[i]);
        return (*own = sf_buf_steal(&b, NULL)) ? *own : "";
    }
    const char *f = a->record ? field_ci(a->record, name) : NULL;
    return f ? f : "";
}

sf_err sf_webhook_expand(const char *tmpl, const struct sf_notify_alert *a,
                         struct sf_buf *out, char *errbuf, size_t errlen)
{
    const char *p = tmpl;
    sf_err err = SF_OK;

    while (*p && !err) {
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            err = sf_buf_add(out, "${", 2);
            p += 3;
            continue;
        }
        if (p[0] != '$' || p[1] != '{') {
            err = sf_buf_addc(out, *p++);
            continue;
        }
        const char *end = strchr(p + 2, '}');
        char name[128], *own;
        size_t n = end ? (size_t)(end - p - 2) : 0;
        if (!end || n == 0 || n >= sizeof(name)) {
            sf_errf(errbuf, errlen, "template: unterminated or empty ${...} (write $${ for a "
                    "literal ${)");
            return SF_ERR_CONFIG;
        }
        memcpy(name, p + 2, n);
        name[n] = '\0';
        const char *v = lookup(a, name, &own);
        if (!v) {
            sf_errf(errbuf, errlen, "template: unknown placeholder ${%s} (use tenant.name, "
                    "tenant.id, record or alert.<field>)", name);
            return SF_ERR_CONFIG;
        }
        err = json_escape(out, v, strlen(v));
        free(own);
        p = end + 1;
    }
    return err;
}

static int valid_json(const char *s, size_t len, char *why, size_t whylen)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj;
    int ok;

    if (!tok)
        return 0;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, s, (int)len);
    ok = obj && json_tokener_get_error(tok) == json_tokener_success
         && json_tokener_get_parse_end(tok) == len;
    if (!ok)
        snprintf(why, whylen, "%s", obj ? "trailing bytes after the document"
                 : json_tokener_error_desc(json_tokener_get_error(tok)));
    json_object_put(obj);
    json_tokener_free(tok);
    return ok;
}

/* Filled with sample values, names and JSON shape must hold. */
int sf_webhook_template_ok(const char *tmpl, char *why, size_t len)
{
    struct sf_alert_view v = { .tenant = "t\"1", .tenant_id = "x", .id = "x",
                               .title = "a \"quoted\"\ntitle", .severity = "high" };
    struct sf_notify_alert a = { .v = &v, .record_text = "{\"k\":\"v\"}" };
    struct sf_buf b;
    int ok;

    sf_buf_init(&b, 0);
    ok = sf_webhook_expand(tmpl, &a, &b, why, len) == SF_OK;
    if (ok && !valid_json(b.data ? b.data : "", b.len, why, len)) {
        ok = 0;
        snprintf(why + strlen(why), len - strlen(why), ": the template is not JSON "
                 "once filled in (placeholders go inside \"...\")");
    }
    sf_buf_free(&b);
    return ok;
}

static void add_str(json_object *o, const char *key, const char *v)
{
    json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

#define DOC_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* siemfwd's own document for one alert; the record goes in as it was
 * rendered (the json format), after the members built here. */
static sf_err default_alert(const struct sf_notify_alert *a, struct sf_buf *out)
{
    const struct sf_alert_view *v = a->v;
    json_object *o = json_object_new_object(), *t = json_object_new_object();
    json_object *dev = json_object_new_array();
    sf_err err = SF_ERR_NOMEM;

    if (o && t && dev) {
        /* operational events (outputs[].events) carry siemfwd_event */
        add_str(o, "type", a->record && json_object_object_get_ex(a->record, "siemfwd_event",
                                                                  NULL) ? "event" : "alert");
        add_str(o, "rule", a->rule);
        add_str(t, "name", v->tenant);
        add_str(t, "id", v->tenant_id);
        json_object_object_add(o, "tenant", json_object_get(t));
        add_str(o, "id", v->id);
        add_str(o, "title", v->title);
        add_str(o, "severity", v->severity);
        add_str(o, "status", v->status);
        add_str(o, "category", v->category);
        add_str(o, "link", v->link[0] ? v->link : NULL);
        for (size_t i = 0; i < v->ndevices; i++)
            json_object_array_add(dev, json_object_new_string(v->devices[i]));
        json_object_object_add(o, "devices", json_object_get(dev));
        const char *doc = json_object_to_json_string_ext(o, DOC_FLAGS);
        size_t n = doc ? strlen(doc) : 0;
        err = n < 2 ? SF_ERR_NOMEM : sf_buf_add(out, doc, n - 1);   /* without its '}' */
        if (!err)
            err = sf_buf_adds(out, ",\"alert\":");
        if (!err)
            err = a->record_text ? sf_buf_add(out, a->record_text, a->record_len)
                                 : sf_buf_adds(out, "null");
        if (!err)
            err = sf_buf_addc(out, '}');
    }
    json_object_put(o);
    json_object_put(t);
    json_object_put(dev);
    return err;
}

sf_err sf_webhook_alert(const char *tmpl, const struct sf_notify_alert *a,
                        struct sf_buf *out, char *errbuf, size_t errlen)
{
    sf_err err = tmpl ? sf_webhook_expand(tmpl, a, out, errbuf, errlen)
                      : default_alert(a, out);
    if (err && !tmpl)
        snprintf(errbuf, errlen, "cannot build the document: %s", sf_strerror(err));
    return err;
}

static json_object *digest_doc(const struct sf_notify_digest *d, char *title, size_t tlen)
{
    static const char *const words[] = { "Unknown", "Informational", "Low", "Medium", "High" };
    json_object *o = json_object_new_object(), *items = json_object_new_array();
    char from[64], until[64];

    if (!o || !items) {
        json_object_put(o);
        json_object_put(items);
        return NULL;
    }
    sf_email_date(d->from_ms, from, sizeof(from));
    sf_email_date(d->until_ms, until, sizeof(until));
    snprintf(title, tlen, "Digest: %zu alert%s held by flood control (highest: %s)", d->n,
             d->n == 1 ? "" : "s", words[d->max_rank >= 0 && d->max_rank <= 4 ? d->max_rank : 0]);
    add_str(o, "type", "digest");
    add_str(o, "title", title);
    add_str(o, "rule", d->rule);
    add_str(o, "limit", d->limit);
    add_str(o, "from", from);
    add_str(o, "until", until);
    json_object_object_add(o, "count", json_object_new_int64((int64_t)d->n));
    for (size_t i = 0; i < d->n; i++) {
        const struct sf_notify_item *it = &d->items[i];
        json_object *x = json_object_new_object();
        if (!x)
            break;
        add_str(x, "tenant", it->tenant);
        add_str(x, "tenantId", it->tenant_id);
        add_str(x, "id", it->alert_id);
        add_str(x, "severity", it->severity);
        add_str(x, "title", it->title);
        add_str(x, "link", it->link);
        json_object_array_add(items, x);
    }
    json_object_object_add(o, "alerts", items);
    return o;
}

/* With a template the digest fills it as one "alert": the title says how
 * many, the description lists them, ${record} is the digest document. */
static sf_err templated_digest(const char *tmpl, const struct sf_notify_digest *d,
                               json_object *doc, const char *title, struct sf_buf *out,
                               char *errbuf, size_t errlen)
{
    static const char *const sevs[] = { "", "informational", "low", "medium", "high" };
    struct sf_alert_view v = { .title = title };
    struct sf_notify_alert a = { .v = &v, .rule = d->rule, .record = doc };
    struct sf_buf list, tenants;
    sf_err err;

    sf_buf_init(&list, 0);
    sf_buf_init(&tenants, 0);
    for (size_t i = 0; i < d->n; i++) {
        const struct sf_notify_item *it = &d->items[i];
        const char *t = it->tenant ? it->tenant : "";
        size_t k = 0;
        sf_buf_printf(&list, "%s[%s] %s: %s", i ? "\n" : "", t,
                      it->severity ? it->severity : "", it->title ? it->title : "");
        while (k < i && strcmp(d->items[k].tenant ? d->items[k].tenant : "", t) != 0)
            k++;
        if (k == i)   /* first item of this tenant */
            sf_buf_printf(&tenants, "%s%s", tenants.len ? ", " : "", t);
    }
    v.severity = sevs[d->max_rank >= 0 && d->max_rank <= 4 ? d->max_rank : 0];
    v.sev_rank = d->max_rank;
    v.tenant = tenants.data ? tenants.data : "";
    v.description = list.data ? list.data : "";
    a.record_text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    a.record_len = strlen(a.record_text);
    err = sf_webhook_expand(tmpl, &a, out, errbuf, errlen);
    sf_buf_free(&list);
    sf_buf_free(&tenants);
    return err;
}

sf_err sf_webhook_digest(const char *tmpl, const struct sf_notify_digest *d,
                         struct sf_buf *out, char *errbuf, size_t errlen)
{
    char title[160];
    json_object *doc = digest_doc(d, title, sizeof(title));
    sf_err err = doc ? SF_OK : SF_ERR_NOMEM;

    if (!err && tmpl)
        err = templated_digest(tmpl, d, doc, title, out, errbuf, errlen);
    else if (!err)
        err = sf_buf_adds(out, json_object_to_json_string_ext(doc, DOC_FLAGS));
    json_object_put(doc);
    if (err == SF_ERR_NOMEM)
        snprintf(errbuf, errlen, "cannot build the digest: %s", sf_strerror(err));
    return err;
}
