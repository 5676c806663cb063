/* sf_map.h - YAML field maps: compiled once at start-up (every error is
 * FILE:LINE: key.path: message), evaluated per alert into an sf_record.
 * The compiled map owns its strings; records borrow keys from it. */
#ifndef SF_MAP_H
#define SF_MAP_H

#include <json-c/json.h>
#include "sf_record.h"
#include "sf_render.h"
#include "sf_yaml.h"

enum sf_map_kind { SF_MAP_CEF, SF_MAP_LEEF };

struct sf_map;

/* Compile from a loaded YAML node tree (root of a map document) or a file.
 * kind is what the caller intends to render; a map whose `format:` says
 * otherwise is an error. */
sf_err sf_map_compile(const struct sf_node *root, enum sf_map_kind kind,
                      struct sf_map **out, char *errbuf, size_t errlen);
sf_err sf_map_load(const char *path, enum sf_map_kind kind,
                   struct sf_map **out, char *errbuf, size_t errlen);
void sf_map_free(struct sf_map *m);

/* Render options the map itself declares (LEEF version and delimiter). */
void sf_map_render_opts(const struct sf_map *m, struct sf_render_opts *o);

/* Evaluate the map against one alert. The record is reset first. Missing
 * paths are not errors (the field is omitted or defaulted). */
sf_err sf_map_eval(const struct sf_map *m, json_object *alert,
                   const struct sf_tenant_info *t, struct sf_record *r,
                   char *errbuf, size_t errlen);

#endif
