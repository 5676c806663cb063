/* fuzz_api_page.c - libFuzzer target: untrusted API pages. Every call the
 * fetch stage makes (Graph, MDE, SIEM windows, nextLinks, splits) is answered
 * with the fuzz input, parsed strictly like the real transport; each alert
 * handed on is keyed like the pipeline does. Bounded calls, so a page that
 * always "continues" ends. Must never crash, leak or loop. */
#include <stdint.h>
#include <string.h>

#include "source.h"
#include "sf_sources.h"

/* The sources as these tests index them (the forwarder names them). */
enum tsrc { TSRC_GRAPH, TSRC_MDE, TSRC_SIEM };
static const char *const tsrc_name[] = { "graph", "mde", "siem" };

/* The pipeline's dedup key: the alert view's id and last update. */
static int alert_key(enum tsrc s, json_object *a, const char **id, int64_t *ms)
{
    struct sf_alert_view v;

    if (sf_source_view(tsrc_name[s], a, NULL, &v) != 0 || !v.id || !v.last_update)
        return -1;
    *id = v.id;
    *ms = v.last_update_ms;
    return 0;
}

#define MAX_CALLS 24

struct fz {
    const char *data;
    size_t len;
    int calls;
};

static sf_err fz_get(struct sf_fetch_ctx *fx, const char *url, json_object **out)
{
    struct fz *f = fx->test;
    json_tokener *tok;

    if (++f->calls > MAX_CALLS)
        return SF_ERR_HTTP;
    tok = json_tokener_new();
    if (!tok)
        return SF_ERR_NOMEM;
    json_object *doc = json_tokener_parse_ex(tok, f->data, (int)f->len);
    int ok = doc && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!ok) {
        json_object_put(doc);
        return SF_ERR_PARSE;
    }
    *out = doc;
    return SF_OK;
}

static sf_err on_page(void *opaque, json_object *alerts)
{
    enum tsrc *src = opaque;
    for (size_t i = 0; i < json_object_array_length(alerts); i++) {
        const char *id;
        int64_t ms;
        if (alert_key(*src, json_object_array_get_idx(alerts, i), &id, &ms) == 0 && !id)
            __builtin_trap();
    }
    return SF_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const bases[] = { "https://graph.test", "https://mde.test",
                                         "https://siem.test" };
    if (size > (1u << 20))
        return 0;
    for (int s = TSRC_GRAPH; s <= TSRC_SIEM; s++) {
        enum tsrc src = (enum tsrc)s;
        struct sf_fetch_tenant t = { .name = "fuzz", .tenant_id = "tid", .client_id = "cid",
                                     .source = tsrc_name[s], .api_base = bases[s], .page_size = 4 };
        struct sf_fetch_status st;
        struct sf_fetch_ctx fx;
        struct fz f = { (const char *)data, size, 0 };
        if (sf_fetch_ctx_init(&fx, NULL, &t, &st) != SF_OK)
            continue;
        fx.get_json = fz_get;
        fx.test = &f;
        fx.on_page = on_page;
        fx.opaque = &src;
        fx.type->window(&fx, 1600000000000LL, 1700000000000LL);
    }
    return 0;
}
