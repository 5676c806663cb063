/* source_view.c - what every source's view() shares (source.h): reading
 * typed members defensively (the alert is untrusted input), the time and
 * device rules, the portal link; and sf_source_view (sf_sources.h), which
 * picks the source type by name. Field names live in source_*.c only. */
#include <string.h>
#include <strings.h>

#include "sf_portal_link.h"
#include "sf_sources.h"
#include "source.h"

const char *sf_view_str(json_object *obj, const char *key)
{
    json_object *v;
    const char *s;

    if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v) ||
        !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return NULL;
    s = json_object_get_string(v);
    /* "\u0000" inside: the C string would be a prefix (two ids becoming one) */
    return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

void sf_view_begin(struct sf_alert_view *v, const struct sf_source_type *type,
                   const struct sf_fetch_tenant *t)
{
    memset(v, 0, sizeof(*v));
    v->last_update_ms = -1;
    v->source = type ? type->name : NULL;
    if (t) {
        v->tenant = t->name;
        v->tenant_id = t->tenant_id;
    }
}

const char *sf_view_time(json_object *alert, const char *key, int64_t *ms)
{
    const char *s = sf_view_str(alert, key);
    int64_t t;

    if (!s || sf_fetch_parse_time(s, &t) != 0)
        return NULL;
    if (ms)
        *ms = t;
    return s;
}

void sf_view_device(struct sf_alert_view *v, const char *name)
{
    if (!name || !*name || v->ndevices == SF_VIEW_MAX_DEVICES)
        return;
    for (size_t i = 0; i < v->ndevices; i++)
        if (strcasecmp(v->devices[i], name) == 0)
            return;
    v->devices[v->ndevices++] = name;
}

void sf_view_finish(struct sf_alert_view *v, const char *url, const char *link_id)
{
    v->sev_rank = sf_sev_rank_of(v->severity);
    sf_portal_link(v->link, sizeof(v->link), url, link_id, v->tenant_id);
}

int sf_source_view(const char *source, json_object *alert, const struct sf_fetch_tenant *t,
                   struct sf_alert_view *v)
{
    const struct sf_source_type *type = sf_source_type_of(source);

    sf_view_begin(v, type, t);
    if (!type || !json_object_is_type(alert, json_type_object))
        return -1;
    type->view(alert, t, v);
    return 0;
}
