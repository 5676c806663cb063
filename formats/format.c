/* format.c - a configured format (type + compiled map + options): the single
 * entry point from alert JSON to a rendered line. Owns the map. */
#include <stdlib.h>
#include <string.h>

#include "sf_format.h"

static const char *const type_names[] = { "cef", "leef", "json" };

int sf_format_type_parse(const char *name, enum sf_fmt_type *type)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *type = (enum sf_fmt_type)i;
            return 0;
        }
    }
    return -1;
}

const char *sf_format_type_name(enum sf_fmt_type type)
{
    return (unsigned)type < 3 ? type_names[type] : "?";
}

sf_err sf_format_new(enum sf_fmt_type type, const char *map_path,
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
    if (type != SF_FMT_JSON) {
        if (!map_path) {
            sf_errf(errbuf, errlen, "a %s format needs a map", type_names[type]);
            err = SF_ERR_CONFIG;
            goto out;
        }
        err = sf_map_load(map_path, type == SF_FMT_CEF ? SF_MAP_CEF : SF_MAP_LEEF,
                          &f->map, errbuf, errlen);
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
    sf_err err;

    if (!json_object_is_type(alert, json_type_object)) {
        sf_errf(errbuf, errlen, "alert is not a JSON object");
        return SF_ERR_INVALID;
    }
    if (f->type == SF_FMT_JSON)
        return sf_render_json(alert, t, &f->opts, out, errbuf, errlen);
    err = sf_map_eval(f->map, alert, t, &f->rec, errbuf, errlen);
    if (err)
        return err;
    if (f->type == SF_FMT_CEF)
        return sf_render_cef(&f->rec, &f->opts, out, errbuf, errlen);
    return sf_render_leef(&f->rec, &f->opts, out, errbuf, errlen);
}
