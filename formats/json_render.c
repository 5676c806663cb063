/* json_render.c - the JSON renderer: alert object whole plus "tenant".
 * Does not modify the caller's alert; out is only appended to. */
#include "sf_render.h"

sf_err sf_render_json(json_object *alert, const struct sf_tenant_info *t,
                      const struct sf_render_opts *o, struct sf_buf *out,
                      char *errbuf, size_t errlen)
{
    sf_errf(errbuf, errlen, "JSON rendering is not available in this build");
    return SF_ERR_INTERNAL;
}
