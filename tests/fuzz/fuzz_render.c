/* fuzz_render.c - libFuzzer target: untrusted bytes as API input (array,
 * page or JSON lines) -> every alert through the shipped Graph CEF and LEEF
 * maps and the JSON renderer. Must never crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>

#include "sf_alert_reader.h"
#include "sf_format.h"

static struct sf_format *fmts[3];

static sf_err on_alert(void *opaque, json_object *alert, const struct sf_alert_pos *pos)
{
    struct sf_buf *out = opaque;
    struct sf_tenant_info t = { "fuzz", "00000000-0000-0000-0000-000000000000" };
    char errbuf[256];
    for (int i = 0; i < 3; i++) {
        if (!fmts[i])
            continue;
        sf_buf_reset(out);
        sf_format_render(fmts[i], alert, &t, out, errbuf, sizeof(errbuf));
    }
    return SF_OK;
}

static void setup(void)
{
    char errbuf[512];
    static const char *const maps[2] = {
        SF_SOURCE_DIR "/formats/maps/cef-defender.yaml",
        SF_SOURCE_DIR "/formats/maps/leef-defender.yaml",
    };
    if (sf_format_new(&sf_format_cef, maps[0], &fmts[0], errbuf, sizeof(errbuf)) ||
        sf_format_new(&sf_format_leef, maps[1], &fmts[1], errbuf, sizeof(errbuf)) ||
        sf_format_new(&sf_format_json, NULL, &fmts[2], errbuf, sizeof(errbuf)))
        abort(); /* the shipped maps must compile */
    fmts[0]->opts.max_len = 8192; /* also exercise the shrinking path */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct sf_buf out;
    if (!ready) {
        setup();
        ready = 1;
    }
    sf_buf_init(&out, 0);
    sf_alert_read((const char *)data, size, on_alert, NULL, &out, NULL);
    sf_buf_free(&out);
    return 0;
}
