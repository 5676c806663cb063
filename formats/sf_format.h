/* sf_format.h - the record formats as a family (registry in format.c:
 * cef, leef, json) and a configured format: type + compiled map + render
 * options. The one call the pipeline and `siemfwd render` use to turn an
 * alert into a record line. Owns its map. */
#ifndef SF_FORMAT_H
#define SF_FORMAT_H

#include <json-c/json.h>
#include "sf_map.h"
#include "sf_render.h"

struct sf_format;

/* One record format (a member of the registry in format.c). */
struct sf_format_type {
    const char *name;            /* value of formats[].type, of --format */
    int takes_map;               /* 1: a field map of map_kind is required */
    enum sf_map_kind map_kind;
    /* alert is a JSON object; appends the line (no newline) to out */
    sf_err (*render)(struct sf_format *f, json_object *alert, const struct sf_tenant_info *t,
                     struct sf_buf *out, char *errbuf, size_t errlen);
};

extern const struct sf_format_type sf_format_cef;
extern const struct sf_format_type sf_format_leef;
extern const struct sf_format_type sf_format_json;

/* Registry: the type named name (exact), or NULL. */
const struct sf_format_type *sf_format_type_find(const char *name);
/* NULL-terminated list of the registered names (for messages). */
const char *const *sf_format_type_names(void);

struct sf_format {
    const struct sf_format_type *type;
    struct sf_map *map;          /* owned; NULL when the type takes none */
    struct sf_render_opts opts;
    struct sf_record rec;        /* scratch, reused per alert (not thread-safe) */
};

/* Load map_path (required when type->takes_map, ignored otherwise). */
sf_err sf_format_new(const struct sf_format_type *type, const char *map_path,
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
