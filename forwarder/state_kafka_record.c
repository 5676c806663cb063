/* state_kafka_record.c - the Kafka state backend's cursor cache (a chained
 * hash table keyed "tenant/output") and the record codec: a cursor as the
 * JSON value documented in sf_state_kafka.h, and back. Does no I/O. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_kafka_priv.h"

static size_t hash_key(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

struct kcur *kmap_get(struct kmap *m, const char *key)
{
    if (!m->nb)
        return NULL;
    for (struct kcur *k = m->b[hash_key(key) & (m->nb - 1)]; k; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

static int grow(struct kmap *m)
{
    size_t nb = m->nb ? m->nb * 2 : 64;
    struct kcur **b = calloc(nb, sizeof(*b));

    if (!b)
        return -1;
    for (size_t i = 0; i < m->nb; i++) {
        for (struct kcur *k = m->b[i], *nx; k; k = nx) {
            nx = k->next;
            size_t h = hash_key(k->key) & (nb - 1);
            k->next = b[h];
            b[h] = k;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
    return 0;
}

struct kcur *kmap_put(struct kmap *m, const char *key, int32_t part)
{
    struct kcur *k = kmap_get(m, key);
    const char *slash = strchr(key, '/');

    if (k)
        return k;
    if (!slash || (m->n + 1 > m->nb && grow(m) != 0))
        return NULL;
    if (!(k = calloc(1, sizeof(*k))) || !(k->key = strdup(key))) {
        free(k);
        return NULL;
    }
    k->tenant_len = (size_t)(slash - key);
    k->part = part;
    k->c.watermark_ms = -1;
    k->start_ms = -1;
    size_t h = hash_key(key) & (m->nb - 1);
    k->next = m->b[h];
    m->b[h] = k;
    m->n++;
    return k;
}

static void seen_clear(struct kcur *k)
{
    for (size_t i = 0; i < k->nseen; i++)
        free(k->seen[i].alert_id);
    free(k->seen);
    k->seen = NULL;
    k->nseen = k->capseen = 0;
}

void kcur_free(struct kcur *k)
{
    if (!k)
        return;
    seen_clear(k);
    free(k->key);
    free(k);
}

void kmap_del(struct kmap *m, const char *key)
{
    if (!m->nb)
        return;
    for (struct kcur **pp = &m->b[hash_key(key) & (m->nb - 1)]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            struct kcur *k = *pp;
            *pp = k->next;
            kcur_free(k);
            m->n--;
            return;
        }
    }
}

void kmap_free(struct kmap *m)
{
    for (size_t i = 0; i < m->nb; i++)
        for (struct kcur *k = m->b[i], *nx; k; k = nx) {
            nx = k->next;
            kcur_free(k);
        }
    free(m->b);
    memset(m, 0, sizeof(*m));
}

/* ---- codec ------------------------------------------------------------ */

sf_err kcur_encode(const struct kcur *k, const char *owner, int64_t epoch, int released,
                   struct sf_buf *out)
{
    json_object *o = json_object_new_object(), *seen = json_object_new_array();
    sf_err err = SF_ERR_NOMEM;

    if (!o || !seen) {
        json_object_put(seen);
        goto out;
    }
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "watermark_ms", json_object_new_int64(k->c.watermark_ms));
    json_object_object_add(o, "start_ms", json_object_new_int64(k->start_ms));
    json_object_object_add(o, "last_success_ms", json_object_new_int64(k->c.last_success_ms));
    json_object_object_add(o, "last_attempt_ms", json_object_new_int64(k->c.last_attempt_ms));
    json_object_object_add(o, "delivered", json_object_new_int64((int64_t)k->c.delivered));
    json_object_object_add(o, "quarantined",
                           json_object_new_int64((int64_t)k->c.quarantined));
    json_object_object_add(o, "last_error", json_object_new_string(k->c.last_error));
    for (size_t i = 0; i < k->nseen; i++) {
        json_object *e = json_object_new_array_ext(3);
        json_object_array_add(e, json_object_new_string(k->seen[i].alert_id));
        json_object_array_add(e, json_object_new_int64(k->seen[i].last_update_ms));
        json_object_array_add(e, json_object_new_int(k->seen[i].quarantined));
        json_object_array_add(seen, e);
    }
    json_object_object_add(o, "seen", seen); /* o owns seen now */
    json_object_object_add(o, "owner", json_object_new_string(owner));
    json_object_object_add(o, "epoch", json_object_new_int64(epoch));
    json_object_object_add(o, "released", json_object_new_boolean(released));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    sf_buf_reset(out);
    err = s ? sf_buf_adds(out, s) : SF_ERR_NOMEM;
out:
    json_object_put(o);
    return err;
}

/* Integer member name of o into *v; 0 if present and an integer. */
static int get_i64(json_object *o, const char *name, int64_t *v)
{
    json_object *m;

    if (!json_object_object_get_ex(o, name, &m) || !json_object_is_type(m, json_type_int))
        return -1;
    *v = json_object_get_int64(m);
    return 0;
}

static sf_err decode_seen(struct kcur *k, json_object *arr, char *errbuf, size_t errlen)
{
    size_t n = json_object_array_length(arr);

    if (n && !(k->seen = calloc(n, sizeof(*k->seen))))
        return SF_ERR_NOMEM;
    k->capseen = n;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        json_object *id = json_object_array_get_idx(e, 0), *lu, *q;
        if (!json_object_is_type(e, json_type_array) || json_object_array_length(e) != 3 ||
            !json_object_is_type(id, json_type_string) ||
            !json_object_is_type((lu = json_object_array_get_idx(e, 1)), json_type_int) ||
            !json_object_is_type((q = json_object_array_get_idx(e, 2)), json_type_int)) {
            sf_errf(errbuf, errlen, "seen[%zu] is not [id, last_update_ms, quarantined]", i);
            return SF_ERR_PARSE;
        }
        if (!(k->seen[i].alert_id = strdup(json_object_get_string(id))))
            return SF_ERR_NOMEM;
        k->seen[i].last_update_ms = json_object_get_int64(lu);
        k->seen[i].quarantined = json_object_get_int(q) != 0;
        k->nseen++;
    }
    return SF_OK;
}

sf_err kcur_decode(struct kcur *k, const char *val, size_t len, char *errbuf, size_t errlen)
{
    struct json_tokener *tok = json_tokener_new();
    json_object *o = NULL, *m;
    int64_t v = 0, d = 0, q = 0;
    sf_err err = SF_ERR_PARSE;

    seen_clear(k);
    if (!tok)
        return SF_ERR_NOMEM;
    o = json_tokener_parse_ex(tok, val, (int)len);
    if (!o || json_tokener_get_error(tok) != json_tokener_success ||
        tok->char_offset != (int)len) {
        sf_errf(errbuf, errlen, "not JSON");
        goto out;
    }
    if (!json_object_is_type(o, json_type_object) || get_i64(o, "v", &v) != 0 || v != 1) {
        sf_errf(errbuf, errlen, "not a version 1 cursor record");
        goto out;
    }
    if (get_i64(o, "watermark_ms", &k->c.watermark_ms) != 0 ||
        get_i64(o, "start_ms", &k->start_ms) != 0 ||
        get_i64(o, "last_success_ms", &k->c.last_success_ms) != 0 ||
        get_i64(o, "last_attempt_ms", &k->c.last_attempt_ms) != 0 ||
        get_i64(o, "delivered", &d) != 0 || get_i64(o, "quarantined", &q) != 0 ||
        get_i64(o, "epoch", &k->epoch) != 0) {
        sf_errf(errbuf, errlen, "a number (watermark_ms, start_ms, last_success_ms,"
                " last_attempt_ms, delivered, quarantined, epoch) is missing");
        goto out;
    }
    k->c.delivered = (uint64_t)d;
    k->c.quarantined = (uint64_t)q;
    if (!json_object_object_get_ex(o, "last_error", &m) ||
        !json_object_is_type(m, json_type_string)) {
        sf_errf(errbuf, errlen, "last_error is not a string");
        goto out;
    }
    snprintf(k->c.last_error, sizeof(k->c.last_error), "%s", json_object_get_string(m));
    if (!json_object_object_get_ex(o, "owner", &m) ||
        !json_object_is_type(m, json_type_string)) {
        sf_errf(errbuf, errlen, "owner is not a string");
        goto out;
    }
    snprintf(k->owner, sizeof(k->owner), "%s", json_object_get_string(m));
    if (!json_object_object_get_ex(o, "released", &m) ||
        !json_object_is_type(m, json_type_boolean)) {
        sf_errf(errbuf, errlen, "released is not a boolean");
        goto out;
    }
    k->released = json_object_get_boolean(m);
    if (!json_object_object_get_ex(o, "seen", &m) || !json_object_is_type(m, json_type_array)) {
        sf_errf(errbuf, errlen, "seen is not an array");
        goto out;
    }
    err = decode_seen(k, m, errbuf, errlen);
out:
    json_object_put(o);
    json_tokener_free(tok);
    return err;
}
