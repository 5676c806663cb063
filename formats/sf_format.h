/* sf_format.h - a configured format: type (cef | leef | json) + compiled map
 * + render options. The one call the pipeline and `siemfwd render` use to
 * turn an alert into a record line. Owns its map. */
#ifndef SF_FORMAT_H
#define SF_FORMAT_H

#include <json-c/json.h>
#include "sf_map.h"
#include "sf_render.h"

enum sf_fmt_type { SF_FMT_CEF, SF_FMT_LEEF, SF_FMT_JSON };

struct sf_format {
    enum sf_fmt_type type;
    struct sf_map *map;          /* owned; NULL for json */
    struct sf_render_opts opts;
    struct sf_record rec;        /* scratch, reused per alert (not thread-safe) */
};

int sf_format_type_parse(const char *name, enum sf_fmt_type *type);
const char *sf_format_type_name(enum sf_fmt_type type);

/* Load map_path (required for cef/leef, ignored for json). */
sf_err sf_format_new(enum sf_fmt_type type, const char *map_path,
                     struct sf_format **out, char *errbuf, size_t errlen);
/* A copy sharing nothing mutable (own scratch record), for another thread. */
sf_err sf_format_clone(const struct sf_format *f, const char *map_path,
                       struct sf_format **out, char *errbuf, size_t errlen);
void sf_format_free(struct sf_format *f);

/* Render one alert; appends the line (no newline) to out. */
sf_err sf_format_render(struct sf_format *f, json_object *alert,
                        const struct sf_tenant_info *t, struct sf_buf *out,
                        char *errbuf, size_t errlen);

#endif
