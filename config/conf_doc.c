/* conf_doc.c - prints an sf_conf_entry table as reference docs (one line
 * per key: key, type, default, description, allowed values or range), the
 * same table that validates and fills defaults. Writes only to out. */
#include <stdio.h>

#include "sf_conf.h"

static const char *type_name(enum sf_ctype t)
{
    switch (t) {
    case SF_CT_STRING: return "string";
    case SF_CT_SECRET: return "secret";
    case SF_CT_INT: return "integer";
    case SF_CT_BOOL: return "bool";
    case SF_CT_DURATION: return "duration";
    case SF_CT_SIZE: return "size";
    case SF_CT_ENUM: return "enum";
    case SF_CT_STRLIST: return "list";
    case SF_CT_NODE: return "section";
    }
    return "?";
}

/* One line per key: KEY TYPE DEFAULT DESCRIPTION, then the allowed values
 * or the range, as `siemfwd check --help`-style docs. */
void sf_conf_doc(const struct sf_conf_entry *table, struct sf_buf *out)
{
    sf_buf_printf(out, "%-20s %-9s %-16s %s\n", "KEY", "TYPE", "DEFAULT", "DESCRIPTION");
    for (size_t i = 0; table[i].key; i++) {
        const struct sf_conf_entry *e = &table[i];
        const char *def = e->def ? e->def : e->required ? "(required)" : "-";
        char lo[32], hi[32];

        sf_buf_printf(out, "%-20s %-9s %-16s %s", e->key, type_name(e->type), def,
                      e->desc ? e->desc : "");
        if (e->type == SF_CT_ENUM && e->values) {
            sf_buf_adds(out, " (");
            for (size_t j = 0; e->values[j]; j++)
                sf_buf_printf(out, "%s%s", j ? "|" : "", e->values[j]);
            sf_buf_adds(out, ")");
        } else if (e->min != 0 || e->max != 0) {
            if (e->type == SF_CT_DURATION) {
                sf_format_duration(e->min, lo, sizeof(lo));
                sf_format_duration(e->max, hi, sizeof(hi));
            } else if (e->type == SF_CT_SIZE) {
                sf_format_size(e->min, lo, sizeof(lo));
                sf_format_size(e->max, hi, sizeof(hi));
            } else {
                snprintf(lo, sizeof(lo), "%lld", e->min);
                snprintf(hi, sizeof(hi), "%lld", e->max);
            }
            sf_buf_printf(out, " (%s..%s)", lo, hi);
        }
        sf_buf_adds(out, "\n");
    }
}
