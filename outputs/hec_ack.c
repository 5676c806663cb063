/* hec_ack.c - HEC replies: parsing, the verdict for each code (reference
 * §4.6) with batch splitting on 413 / invalid-event-number, and indexer
 * acknowledgement (§4.5): poll POST /services/collector/ack for accepted
 * batches, deliver those answered true, RETRY those still false after
 * ack_timeout. Owns the batches on h->acks until it frees them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hec.h"
#include "sf_redact.h"

static void copy_text(char *dst, size_t cap, const char *src, size_t len)
{
    size_t j = 0;
    /* the whole text, redacted before the cut to cap (a HEC may quote the
     * token, sf_redact.h); without memory, cut then redacted */
    char *full = malloc(len + 1);
    char *to = full ? full : dst;
    size_t max = full ? len + 1 : cap;

    /* Server text goes into verdict reasons: printable ASCII only. */
    for (size_t i = 0; i < len && j + 1 < max; i++)
        to[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    to[j] = '\0';
    if (full)
        sf_redact_copy(dst, cap, full);
    else
        sf_redact(dst, cap);
    free(full);
}

void sf_hec_parse_reply(const char *body, size_t len, struct hec_reply *r)
{
    struct json_object *obj = NULL;
    struct json_object *v;

    r->code = -1;
    r->ack_id = -1;
    r->invalid_event = -1;
    r->text[0] = '\0';
    if (body && len)
        obj = json_tokener_parse(body);
    if (!obj || !json_object_is_type(obj, json_type_object)) {
        copy_text(r->text, sizeof(r->text), body ? body : "", len);
        goto out;
    }
    if (json_object_object_get_ex(obj, "text", &v)) {
        const char *t = json_object_get_string(v);
        copy_text(r->text, sizeof(r->text), t, strlen(t));
    }
    if (json_object_object_get_ex(obj, "code", &v) && json_object_is_type(v, json_type_int))
        r->code = json_object_get_int(v);
    if (json_object_object_get_ex(obj, "ackId", &v) && json_object_is_type(v, json_type_int))
        r->ack_id = json_object_get_int64(v);
    if (json_object_object_get_ex(obj, "invalid-event-number", &v)
        && json_object_is_type(v, json_type_int))
        r->invalid_event = json_object_get_int64(v);
out:
    json_object_put(obj);
}

int sf_hec_is_auth_code(int code)
{
    return (code >= 1 && code <= 4) || code == 16 || code == 21 || code == 22;
}

/* Put b at the front of the work queue (splits go before later batches). */
static void push_front(struct hec *h, struct hec_batch *b)
{
    b->next = h->work;
    h->work = b;
    if (h->work_tail == &h->work)
        h->work_tail = &b->next;
}

/* Queue [a, b) of src (or report RETRY if even that cannot be allocated). */
static void requeue(struct hec *h, struct hec_batch *src, size_t a, size_t b,
                    struct hec_batch *into)
{
    if (a >= b)
        return;
    if (!into || sf_hec_batch_take(into, src, a, b))
        sf_hec_report(h, src, a, b, SF_V_RETRY, "HEC output out of memory re-batching");
}

/* 413, or a bad event the server did not locate: halve until one is left. */
static void split_halves(struct hec *h, struct hec_batch *b, const char *why)
{
    struct hec_batch *lo, *hi;

    if (b->n == 1) {
        sf_hec_report(h, b, 0, 1, SF_V_REJECTED, why);
        return;
    }
    lo = sf_hec_batch_new();
    hi = sf_hec_batch_new();
    requeue(h, b, 0, b->n / 2, lo);
    requeue(h, b, b->n / 2, b->n, hi);
    if (hi && hi->n)
        push_front(h, hi);
    else
        sf_hec_batch_free(hi);
    if (lo && lo->n)
        push_front(h, lo);
    else
        sf_hec_batch_free(lo);
}

/* Codes 6/12/13/15 name the bad object (§4.6: objects before it are
 * indexed, those after are not). Without ack the reply is as final as a
 * 200, so the ones before are delivered; with ack nothing was acknowledged,
 * so they are re-sent with the ones after (at-least-once). */
static void bad_event(struct hec *h, struct hec_batch *b, const struct hec_reply *r,
                      const char *why)
{
    long long i = r->invalid_event;
    struct hec_batch *rest;

    if (i < 0 || (size_t)i >= b->n) {
        split_halves(h, b, why);
        return;
    }
    sf_hec_report(h, b, (size_t)i, (size_t)i + 1, SF_V_REJECTED, why);
    rest = sf_hec_batch_new();
    if (h->conf.ack)
        requeue(h, b, 0, (size_t)i, rest);
    else
        sf_hec_report(h, b, 0, (size_t)i, SF_V_DELIVERED, NULL);
    requeue(h, b, (size_t)i + 1, b->n, rest);
    if (rest && rest->n)
        push_front(h, rest);
    else
        sf_hec_batch_free(rest);
}

/* Accepted (200): delivered now, or once its ackId turns true. */
static int accepted(struct hec *h, struct hec_batch *b, const struct hec_reply *r)
{
    if (!h->conf.ack || r->ack_id < 0) {
        /* A token without useACK answers 200 without an ackId: the same
         * promise as ack off. */
        sf_hec_report(h, b, 0, b->n, SF_V_DELIVERED, NULL);
        return 0;
    }
    b->ack_id = (uint64_t)r->ack_id;
    b->sent_ms = sf_hec_now_ms();
    sf_buf_free(&b->body); /* only the ids are needed from here on */
    free(b->offs);
    b->offs = NULL;
    if (!h->acks)
        h->last_ack_poll_ms = b->sent_ms;
    b->next = NULL;
    *h->acks_tail = b;
    h->acks_tail = &b->next;
    return 1;
}

/* The verdict for a reply (§4.6); returns 1 if b is now on the ack list. */
int sf_hec_judge(struct hec *h, struct hec_batch *b, const struct hec_reply *r)
{
    char why[512];
    int c = r->code;

    if (r->http == 0) {
        snprintf(why, sizeof(why), "HEC POST %s: %s", h->url_event, r->text);
        sf_hec_report(h, b, 0, b->n, SF_V_RECONNECT, why);
        return 0;
    }
    snprintf(why, sizeof(why), "HEC POST %s: HTTP %ld code %d (%s)", h->url_event, r->http,
             c, r->text);
    if (r->http == 200)
        return accepted(h, b, r);
    if (r->http == 413)
        split_halves(h, b, why);
    else if (c == 6 || c == 12 || c == 13 || c == 15)
        bad_event(h, b, r, why);
    else if (c == 8 || c == 9 || (c >= 18 && c <= 20) || r->http >= 500 || r->http == 429
             || r->http == 408)
        sf_hec_report(h, b, 0, b->n, SF_V_RETRY, why);
    else {
        /* Token, index, channel and URL errors: the configuration is wrong
         * and no resend can succeed until someone fixes it. */
        size_t n = strlen(why);
        snprintf(why + n, sizeof(why) - n, "%s",
                 sf_hec_is_auth_code(c) ? ": the HEC token is refused, check `token`"
                 : c == 7 ? ": the token may not write to `index`"
                 : (c == 10 || c == 11) ? ": the token wants indexer acks, set `ack: true`"
                 : ": check `url` and the HEC input's settings");
        sf_hec_report(h, b, 0, b->n, SF_V_FATAL, why);
    }
    return 0;
}

size_t sf_hec_ack_pending(const struct hec *h)
{
    size_t n = 0;

    for (const struct hec_batch *b = h->acks; b; b = b->next)
        n += b->n;
    return n;
}

int64_t sf_hec_ack_next_due(const struct hec *h)
{
    int64_t poll, expire;

    if (!h->acks)
        return 0;
    poll = h->last_ack_poll_ms + h->conf.ack_poll_interval;
    /* The list is in acceptance order: the head expires first. */
    expire = h->acks->sent_ms + h->conf.ack_timeout;
    return poll < expire ? poll : expire;
}

/* Unlink b (whose predecessor link is *pp) from the ack list. */
static void unlink_ack(struct hec *h, struct hec_batch **pp, struct hec_batch *b)
{
    *pp = b->next;
    if (h->acks_tail == &b->next)
        h->acks_tail = pp;
    b->next = NULL;
}

static sf_err ack_request(const struct hec *h, struct sf_buf *body)
{
    sf_err err = sf_buf_adds(body, "{\"acks\":[");

    for (const struct hec_batch *b = h->acks; !err && b; b = b->next)
        err = sf_buf_printf(body, "%s%" PRIu64, b == h->acks ? "" : ",", b->ack_id);
    if (!err)
        err = sf_buf_adds(body, "]}");
    return err;
}

/* Deliver every batch whose id is true in the reply's "acks" object. */
static void apply_acks(struct hec *h, struct json_object *acks)
{
    struct hec_batch **pp = &h->acks;
    char key[24];

    while (*pp) {
        struct hec_batch *b = *pp;
        struct json_object *v;
        snprintf(key, sizeof(key), "%" PRIu64, b->ack_id);
        if (json_object_object_get_ex(acks, key, &v) && json_object_is_type(v, json_type_boolean)
            && json_object_get_boolean(v)) {
            unlink_ack(h, pp, b);
            sf_hec_report(h, b, 0, b->n, SF_V_DELIVERED, NULL);
            sf_hec_batch_free(b);
        } else {
            pp = &b->next;
        }
    }
}

static void poll_acks(struct hec *h)
{
    struct sf_buf body;
    struct hec_reply r;
    struct json_object *obj = NULL;
    struct json_object *acks;

    sf_buf_init(&body, SF_BUF_DEFAULT_MAX);
    if (ack_request(h, &body)) {
        snprintf(h->ack_err, sizeof(h->ack_err), "out of memory building the /ack request");
        goto out;
    }
    sf_hec_exchange(h, h->url_ack, body.data, body.len, 0, &r);
    if (r.http == 200 && h->rs.body.data)
        obj = json_tokener_parse(h->rs.body.data);
    if (!obj || !json_object_object_get_ex(obj, "acks", &acks)
        || !json_object_is_type(acks, json_type_object)) {
        /* Keep waiting: an ack that cannot be read now may be read at the
         * next poll; ack_timeout bounds how long. */
        if (r.http == 0)
            snprintf(h->ack_err, sizeof(h->ack_err), "last /ack poll failed: %s", r.text);
        else
            snprintf(h->ack_err, sizeof(h->ack_err), "last /ack poll: HTTP %ld code %d (%s)",
                     r.http, r.code, r.text);
        goto out;
    }
    h->ack_err[0] = '\0';
    apply_acks(h, acks);
out:
    json_object_put(obj);
    sf_buf_free(&body);
}

/* RETRY every batch accepted more than ack_timeout ago: Splunk may have
 * lost it (§4.5 step 4: re-send the whole request; at-least-once). */
static void expire_acks(struct hec *h, int64_t now)
{
    struct hec_batch **pp = &h->acks;
    char reason[640];

    while (*pp) {
        struct hec_batch *b = *pp;
        if (now - b->sent_ms < h->conf.ack_timeout) {
            pp = &b->next;
            continue;
        }
        snprintf(reason, sizeof(reason),
                 "HEC indexer acknowledgement for ackId %" PRIu64 " (channel %s) not true "
                 "after %lld ms%s%s", b->ack_id, h->channel, h->conf.ack_timeout,
                 h->ack_err[0] ? "; " : "", h->ack_err);
        unlink_ack(h, pp, b);
        sf_hec_report(h, b, 0, b->n, SF_V_RETRY, reason);
        sf_hec_batch_free(b);
    }
}

size_t sf_hec_ack_service(struct hec *h, int force)
{
    uint64_t before = h->reported;
    int64_t now = sf_hec_now_ms();

    if (!h->acks)
        return 0;
    if (force || now - h->last_ack_poll_ms >= h->conf.ack_poll_interval) {
        poll_acks(h);
        h->last_ack_poll_ms = sf_hec_now_ms();
    }
    expire_acks(h, sf_hec_now_ms());
    return (size_t)(h->reported - before);
}
