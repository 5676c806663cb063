/* webhook_tmpl.c - fills webhook body templates: ${tenant.name},
 * ${tenant.id}, ${record} and ${alert.<field>}, every value JSON-escaped so
 * a template stays JSON whatever an alert holds; $${ is a literal ${. Pure
 * function over caller-owned buffers (webhook.c checks and sends). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_notify.h"

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

/* The text of ${name}; NULL: unknown name. *own is set when malloc'd. */
static const char *lookup(const struct sf_notify_alert *a, const char *name, char **own)
{
    static const char *const fields[][2] = {
        { "title", NULL }, { "status", NULL }, { "category", NULL }, { "id", NULL },
        { "time", NULL }, { "description", NULL }, { "rule", NULL },
        { "serviceSource", NULL }, { "detectionSource", NULL },
    };
    const char *vals[] = { a->title, a->status, a->category, a->id, a->time, a->description,
                           a->rule, a->service_source, a->detection_source };
    char word[64];

    *own = NULL;
    if (strcmp(name, "tenant.name") == 0)
        return a->tenant ? a->tenant : "";
    if (strcmp(name, "tenant.id") == 0)
        return a->tenant_id ? a->tenant_id : "";
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
        return a->link;
    if (strcmp(name, "severity") == 0) {
        sf_notify_severity_word(a->severity, word, sizeof(word));
        return (*own = strdup(word)) ? *own : "";
    }
    if (strcmp(name, "devices") == 0) {
        struct sf_buf b;
        sf_buf_init(&b, 0);
        sf_buf_adds(&b, "");
        for (size_t i = 0; i < a->ndevices; i++)
            sf_buf_printf(&b, "%s%s", i ? ", " : "", a->devices[i]);
        return (*own = sf_buf_steal(&b, NULL)) ? *own : "";
    }
    const char *v = a->record ? sf_rules_field(a->record, name) : NULL;
    return v ? v : "";
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
