/* fuzz_alert_view.c - libFuzzer target: the normalised alert view of
 * untrusted alerts. The input is parsed as JSON; it and every element of
 * it (or of its "value" array) is viewed as each source. Must never crash
 * or leak, and the view's invariants must hold: unique devices, at most
 * SF_VIEW_MAX_DEVICES, a NUL-terminated link, no "" strings, last_update
 * NULL exactly when last_update_ms is -1-for-unusable. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "sf_sources.h"

static void check(const struct sf_alert_view *v)
{
    const char *const s[] = { v->id, v->last_update, v->created, v->severity, v->status,
                              v->category, v->title, v->description, v->service_source,
                              v->detection_source };

    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
        if (s[i] && !*s[i])
            __builtin_trap();
    if (v->ndevices > SF_VIEW_MAX_DEVICES || memchr(v->link, '\0', sizeof(v->link)) == NULL)
        __builtin_trap();
    if (!v->last_update && v->last_update_ms != -1)
        __builtin_trap();
    if (v->sev_rank < SF_SEV_UNKNOWN || v->sev_rank > SF_SEV_HIGH)
        __builtin_trap();
    for (size_t i = 0; i < v->ndevices; i++)
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(v->devices[i], v->devices[j]) == 0)
                __builtin_trap();
}

static void view_all(json_object *a)
{
    static const char *const sources[] = { "graph", "mde", "siem" };
    static const struct sf_fetch_tenant t = { .name = "fuzz",
                                              .tenant_id = "00000000-0000-0000-0000-000000000001" };

    for (size_t s = 0; s < 3; s++) {
        struct sf_alert_view v;
        sf_source_view(sources[s], a, s == 1 ? NULL : &t, &v);
        check(&v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_tokener *tok;
    json_object *doc, *arr = NULL;

    if (size > (1u << 20))
        return 0;
    if (!(tok = json_tokener_new()))
        return 0;
    doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    view_all(doc);
    if (json_object_is_type(doc, json_type_array))
        arr = doc;
    else if (json_object_is_type(doc, json_type_object))
        json_object_object_get_ex(doc, "value", &arr);
    if (json_object_is_type(arr, json_type_array))
        for (size_t i = 0; i < json_object_array_length(arr); i++)
            view_all(json_object_array_get_idx(arr, i));
    json_object_put(doc);
    return 0;
}
