/* json_render.c - the JSON renderer: the alert object whole, plus
 * "tenant": {"name":..,"id":..}, on one line, valid UTF-8. Never modifies
 * the caller's alert (json-c may cache its serialisation inside it, which
 * is not a change of content); out is only appended to (restored on error). */
#include <string.h>

#include "sf_render.h"
#include "sf_utf8.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A JSON string literal; NULL gives null. Invalid UTF-8 -> U+FFFD. */
static sf_err put_jstr(struct sf_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    sf_err err;

    if (!s)
        return sf_buf_add(out, "null", 4);
    err = sf_buf_addc(out, '"');
    for (i = 0; !err && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        size_t k = 6;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c;
            k = 2;
        }
        err = sf_utf8_sanitize(out, s + run, i - run);
        if (!err)
            err = sf_buf_add(out, esc, k);
        run = i + 1;
    }
    if (!err)
        err = sf_utf8_sanitize(out, s + run, i - run);
    if (!err)
        err = sf_buf_addc(out, '"');
    return err;
}

/* New object holding references to every member of alert but "tenant":
 * the caller's object is left as it is. NULL when out of memory. */
static json_object *without_tenant(json_object *alert)
{
    json_object *copy = json_object_new_object();

    if (!copy)
        return NULL;
    json_object_object_foreach(alert, key, val) {
        if (strcmp(key, "tenant") == 0)
            continue;
        if (json_object_object_add(copy, key, json_object_get(val)) != 0) {
            json_object_put(val);
            json_object_put(copy);
            return NULL;
        }
    }
    return copy;
}

static sf_err put_tenant(struct sf_buf *out, const struct sf_tenant_info *t, int comma)
{
    sf_err err = sf_buf_adds(out, comma ? ",\"tenant\":{\"name\":" : "\"tenant\":{\"name\":");

    if (!err)
        err = put_jstr(out, t->name);
    if (!err)
        err = sf_buf_add(out, ",\"id\":", 6);
    if (!err)
        err = put_jstr(out, t->id);
    if (!err)
        err = sf_buf_addc(out, '}');
    return err;
}

sf_err sf_render_json(json_object *alert, const struct sf_tenant_info *t,
                      const struct sf_render_opts *o, struct sf_buf *out,
                      char *errbuf, size_t errlen)
{
    size_t start = out->len, slen = 0, max_len = o ? o->max_len : 0;
    json_object *copy = NULL, *src = alert;
    const char *s;
    sf_err err = SF_ERR_INVALID;

    if (!alert || !json_object_is_type(alert, json_type_object)) {
        sf_errf(errbuf, errlen, "JSON rendering needs an alert object");
        goto out;
    }
    if (t && json_object_object_get_ex(alert, "tenant", NULL)) {
        copy = without_tenant(alert);   /* ours replaces the alert's own */
        src = copy;
    }
    s = src ? json_object_to_json_string_length(src, JSON_FLAGS, &slen) : NULL;
    if (!s || slen < 2 || s[slen - 1] != '}') {
        err = SF_ERR_NOMEM;
        sf_errf(errbuf, errlen, "JSON rendering: out of memory");
        goto out;
    }
    /* json-c passes string bytes >= 0x80 through unchecked: sanitise the
     * output; every structural character is ASCII, so only string content
     * (keys and values) can change. */
    err = sf_utf8_sanitize(out, s, slen - 1);
    if (!err && t)
        err = put_tenant(out, t, slen > 2);
    if (!err)
        err = sf_buf_addc(out, '}');
    if (err) {
        if (err == SF_ERR_LIMIT)
            sf_errf(errbuf, errlen, "JSON record does not fit the output buffer "
                    "(%zu bytes max)", out->max);
        else
            sf_errf(errbuf, errlen, "JSON rendering: %s", sf_strerror(err));
        goto out;
    }
    if (max_len && out->len - start > max_len) {
        sf_errf(errbuf, errlen, "JSON record is %zu bytes, over max_len %zu (JSON is never "
                "truncated)", out->len - start, max_len);
        err = SF_ERR_LIMIT;
    }
out:
    if (copy)
        json_object_put(copy);
    if (err)
        sf_buf_truncate(out, start);
    return err;
}
