/* cef.c - CEF:0 renderer (formats-and-outputs.md §1). Does not do syslog
 * framing; out is owned by the caller and only appended to. */
#include "sf_render.h"

sf_err sf_render_cef(const struct sf_record *r, const struct sf_render_opts *o,
                     struct sf_buf *out, char *errbuf, size_t errlen)
{
    sf_errf(errbuf, errlen, "CEF rendering is not available in this build");
    return SF_ERR_INTERNAL;
}
