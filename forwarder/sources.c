/* sources.c - the source registry: every alert API siemfwd reads, looked
 * up by its configured name. Adding a source = one source_NAME.c with its
 * sf_source_type plus one line here. */
#include <stddef.h>
#include <strings.h>

#include "source.h"

static const struct sf_source_type *const types[] = {
    &sf_source_graph,
    &sf_source_mde,
    &sf_source_siem,
};

const struct sf_source_type *sf_source_type_of(const char *name)
{
    for (size_t i = 0; name && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(name, types[i]->name) == 0)
            return types[i];
    return NULL;
}
