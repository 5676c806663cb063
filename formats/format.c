/* format.c - the format registry (cef, leef, json: name, map kind, render)
 * and a configured format (type + compiled map + options): the single entry
 * point from alert JSON to a rendered line. Owns the map. */
#include <stdlib.h>
#include <string.h>

#include "sf_format.h"

static sf_err render_json(struct sf_format *f, json_object *alert,
                          const struct sf_tenant_info *t, struct sf_buf *out, char *errbuf,
                          size_t errlen)
{
    return sf_render_json(alert, t, &f->opts, out, errbuf, errlen);
}

static sf_err render_cef(struct sf_format *f, json_object *alert,
                         const struct sf_tenant_info *t, struct sf_buf *out, char *errbuf,
                         size_t errlen)
{
    sf_err err = sf_map_eval(f->map, alert, t, &f->rec, errbuf, errlen);

    return err ? err : sf_render_cef(&f->rec, &f->opts, out, errbuf, errlen);
}

static sf_err render_leef(struct sf_format *f, json_object *alert,
                          const struct sf_tenant_info *t, struct sf_buf *out, char *errbuf,
                          size_t errlen)
{
    sf_err err = sf_map_eval(f->map, alert, t, &f->rec, errbuf, errlen);

    return err ? err : sf_render_leef(&f->rec, &f->opts, out, errbuf, errlen);
}

#define CEF "cef"
#define LEEF "leef"
#define JSON "json"

const struct sf_format_type sf_format_cef = { CEF, 1, SF_MAP_CEF, render_cef };
const struct sf_format_type sf_format_leef = { LEEF, 1, SF_MAP_LEEF, render_leef };
const struct sf_format_type sf_format_json = { JSON, 0, SF_MAP_CEF, render_json };

/* One line per format; adding one: its descriptor and a line here. */
static const struct sf_format_type *const types[] = {
    &sf_format_cef,
    &sf_format_leef,
    &sf_format_json,
};

#define NTYPES (sizeof(types) / sizeof(types[0]))

const struct sf_format_type *sf_format_type_find(const char *name)
{
    for (size_t i = 0; name && i < NTYPES; i++)
        if (strcmp(name, types[i]->name) == 0)
            return types[i];
    return NULL;
}

const char *const *sf_format_type_names(void)
{
    static const char *const names[NTYPES + 1] = { CEF, LEEF, JSON, NULL };

    return names;
}

sf_err sf_format_new(const struct sf_format_type *type, const char *map_path,
                     struct sf_format **out, char *errbuf, size_t errlen)
{
    struct sf_format *f = calloc(1, sizeof(*f));
    sf_err err = SF_OK;

    if (!f)
        return SF_ERR_NOMEM;
    f->type = type;
    f->opts.leef_version = 2;
    f->opts.leef_delim = '\t';
    sf_record_init(&f->rec);
    if (type->takes_map) {
        if (!map_path) {
            sf_errf(errbuf, errlen, "a %s format needs a map", type->name);
            err = SF_ERR_CONFIG;
            goto out;
        }
        err = sf_map_load(map_path, type->map_kind, &f->map, errbuf, errlen);
        if (err)
            goto out;
        sf_map_render_opts(f->map, &f->opts);
    }
out:
    if (err) {
        sf_format_free(f);
        return err;
    }
    *out = f;
    return SF_OK;
}

sf_err sf_format_clone(const struct sf_format *f, const char *map_path,
                       struct sf_format **out, char *errbuf, size_t errlen)
{
    sf_err err = sf_format_new(f->type, map_path, out, errbuf, errlen);
    if (!err)
        (*out)->opts = f->opts;
    return err;
}

void sf_format_free(struct sf_format *f)
{
    if (!f)
        return;
    sf_map_free(f->map);
    sf_record_free(&f->rec);
    free(f);
}

sf_err sf_format_render(struct sf_format *f, json_object *alert,
                        const struct sf_tenant_info *t, struct sf_buf *out,
                        char *errbuf, size_t errlen)
{
    if (!json_object_is_type(alert, json_type_object)) {
        sf_errf(errbuf, errlen, "alert is not a JSON object");
        return SF_ERR_INVALID;
    }
    return f->type->render(f, alert, t, out, errbuf, errlen);
}
