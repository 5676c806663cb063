/* notify_view.c - the alert view of a JSON alert of any source (Graph
 * alerts_v2, MDE /api/alerts, SIEM API) or of siemfwd's own event and test
 * records, for what has no source behind it: operational events and
 * `siemfwd notify-test --alert FILE` (alerts in the pipeline get theirs
 * from their source's view(), forwarder/source_*.c). Field names are
 * guessed here, case-insensitively. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sf_notify_render.h"
#include "sf_portal_link.h"

const char *sf_notify_field(json_object *obj, const char *key)
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

static const char *str_of(json_object *obj, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void add_device(struct sf_alert_view *a, const char *name)
{
    if (!name || !*name || a->ndevices == SF_VIEW_MAX_DEVICES)
        return;
    for (size_t i = 0; i < a->ndevices; i++)
        if (strcasecmp(a->devices[i], name) == 0)
            return;
    a->devices[a->ndevices++] = name;
}

/* Graph: deviceEvidence entries; MDE / SIEM API: computerDnsName. */
static void find_devices(json_object *rec, struct sf_alert_view *a)
{
    json_object *ev;

    add_device(a, sf_notify_field(rec, "computerDnsName"));
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

static const char *first(json_object *rec, const char *a, const char *b, const char *c)
{
    const char *v = sf_notify_field(rec, a);
    if (!v && b)
        v = sf_notify_field(rec, b);
    if (!v && c)
        v = sf_notify_field(rec, c);
    return v;
}

int sf_notify_view_of(json_object *rec, const char *tenant, const char *tenant_id,
                      struct sf_alert_view *a)
{
    json_object *t;

    memset(a, 0, sizeof(*a));
    a->last_update_ms = -1;
    if (!json_object_is_type(rec, json_type_object))
        return -1;
    a->tenant = tenant;
    a->tenant_id = tenant_id;
    if (json_object_object_get_ex(rec, "tenant", &t) && json_object_is_type(t, json_type_object)) {
        if (str_of(t, "name"))
            a->tenant = str_of(t, "name");
        if (str_of(t, "id"))
            a->tenant_id = str_of(t, "id");
    }
    a->id = first(rec, "id", "AlertId", NULL);
    a->title = first(rec, "title", "AlertTitle", NULL);
    a->severity = sf_notify_field(rec, "severity");
    a->sev_rank = sf_sev_rank_of(a->severity);
    a->status = sf_notify_field(rec, "status");
    a->category = sf_notify_field(rec, "category");
    a->service_source = sf_notify_field(rec, "serviceSource");
    a->detection_source = first(rec, "detectionSource", "Source", NULL);
    a->created = first(rec, "createdDateTime", "alertCreationTime", "AlertTime");
    a->last_update = first(rec, "lastUpdateDateTime", "lastUpdateTime", "LastUpdatedTime");
    a->description = sf_notify_field(rec, "description");
    find_devices(rec, a);
    /* alertWebUrl (Graph) or LinkToMTP (SIEM API), else the portal's page */
    sf_portal_link(a->link, sizeof(a->link), first(rec, "alertWebUrl", "LinkToMTP", NULL),
                   a->id, a->tenant_id);
    return 0;
}
