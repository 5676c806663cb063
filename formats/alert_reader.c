/* alert_reader.c - JSON array / API page / JSON lines -> one callback per
 * alert. Uses json-c's incremental tokener over the whole buffer; on a parse
 * error it reports the line and resynchronises at the next line. */
#include <stdio.h>
#include <string.h>

#include "sf_alert_reader.h"

#define MAX_DEPTH 64

static size_t count_lines(const char *data, size_t from, size_t to, size_t line)
{
    for (size_t i = from; i < to; i++)
        if (data[i] == '\n')
            line++;
    return line;
}

static sf_err emit_value(json_object *v, size_t line, size_t *index,
                         sf_alert_fn on_alert, void *opaque)
{
    json_object *arr = NULL;
    struct sf_alert_pos pos = { 0, line };

    if (json_object_is_type(v, json_type_array))
        arr = v;
    else if (json_object_is_type(v, json_type_object) &&
             json_object_object_get_ex(v, "value", &arr) &&
             json_object_is_type(arr, json_type_array))
        ; /* API page: {"@odata.context": ..., "value": [...]} */
    else
        arr = NULL;

    if (!arr) {
        pos.index = ++*index;
        return on_alert(opaque, v, &pos);
    }
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        pos.index = ++*index;
        sf_err err = on_alert(opaque, json_object_array_get_idx(arr, i), &pos);
        if (err)
            return err;
    }
    return SF_OK;
}

sf_err sf_alert_read(const char *data, size_t len, sf_alert_fn on_alert,
                     sf_alert_err_fn on_err, void *opaque, size_t *nbad)
{
    json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);
    size_t off = 0, line = 1, index = 0, bad = 0;
    sf_err err = SF_OK;

    if (!tok)
        return SF_ERR_NOMEM;
    while (off < len) {
        /* skip whitespace between values, counting lines */
        while (off < len && strchr(" \t\r\n", data[off]) && data[off]) {
            if (data[off] == '\n')
                line++;
            off++;
        }
        if (off >= len)
            break;
        json_tokener_reset(tok);
        size_t chunk = len - off > (size_t)INT32_MAX ? (size_t)INT32_MAX : len - off;
        json_object *v = json_tokener_parse_ex(tok, data + off, (int)chunk);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t used = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue) {
            jerr = json_tokener_error_parse_eof;
        }
        if (!v && jerr != json_tokener_success) {
            struct sf_alert_pos pos = { index + 1, count_lines(data, off, off + used, line) };
            char msg[160];
            snprintf(msg, sizeof(msg), "malformed JSON: %s", json_tokener_error_desc(jerr));
            bad++;
            if (on_err)
                on_err(opaque, &pos, msg);
            /* resynchronise after the line holding the error */
            size_t stop = off + used;
            while (stop < len && data[stop] != '\n')
                stop++;
            line = count_lines(data, off, stop, line);
            off = stop;
            continue;
        }
        size_t start_line = line;
        line = count_lines(data, off, off + used, line);
        off += used ? used : 1;
        err = emit_value(v, start_line, &index, on_alert, opaque);
        json_object_put(v);
        if (err)
            break;
    }
    json_tokener_free(tok);
    if (nbad)
        *nbad = bad;
    return err;
}
