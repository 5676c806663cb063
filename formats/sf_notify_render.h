/* sf_notify_render.h - the notification renderer: one alert (its view) or
 * one flood-control digest -> the bytes a person reads, as an RFC 5322
 * email (headers made safe, multipart text + HTML in quoted-printable) or a
 * webhook JSON body (siemfwd's document or the configured template). Pure
 * functions over caller-owned buffers: no I/O, no rules, no memory of what
 * was sent (forwarder/notify_policy.c decides what is sent; outputs/email.c
 * and webhook.c carry the bytes). */
#ifndef SF_NOTIFY_RENDER_H
#define SF_NOTIFY_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "sf_alert_view.h"
#include "sf_buf.h"
#include "sf_err.h"

/* One alert as a notification shows it. Everything borrowed. */
struct sf_notify_alert {
    const struct sf_alert_view *v;
    const char *rule;            /* text of the matching rule ("operational event", ...) */
    json_object *record;         /* the alert object: ${alert.<field>}; NULL: none */
    const char *record_text;     /* the JSON record: webhook "alert", ${record}; NULL: null */
    size_t record_len;
};

/* One alert held back by flood control (a digest line). Strings owned by
 * whoever filled it (the state store). */
struct sf_notify_item {
    char *tenant, *tenant_id, *alert_id, *severity, *title, *link;
    int64_t held_ms;
};

struct sf_notify_digest {
    const char *rule;            /* text of the rule */
    const char *limit;           /* "20 per 10m" */
    int64_t from_ms, until_ms;   /* window start, digest time */
    const struct sf_notify_item *items;
    size_t n;
    int max_rank;                /* highest severity rank among items */
};

/* "High" for "high"/"High"/"HIGH"; "Unknown" for NULL. */
void sf_notify_severity_word(const char *severity, char *buf, size_t len);

/* Email (notify_email.c). */
struct sf_email_opts {
    const char *from;
    char *const *to;
    size_t nto;
    int organization, portal_link, device;   /* include: switches */
};
/* A complete RFC 5322 message (CRLF lines) for one alert / one digest.
 * msgid and boundary are made by the caller (random in production). */
sf_err sf_email_alert(const struct sf_email_opts *eo, const struct sf_notify_alert *a,
                      int64_t now_ms, const char *msgid, const char *boundary,
                      struct sf_buf *out);
sf_err sf_email_digest(const struct sf_email_opts *eo, const struct sf_notify_digest *d,
                       int64_t now_ms, const char *msgid, const char *boundary,
                       struct sf_buf *out);
/* "Name: value\r\n": control characters (CR, LF, ...) in value become
 * spaces; non-ASCII values become RFC 2047 encoded-words, folded. */
sf_err sf_email_header(struct sf_buf *out, const char *name, const char *value);
/* Quoted-printable (RFC 2045 §6.7) of text, '\n' lines -> CRLF lines. */
sf_err sf_email_qp(struct sf_buf *out, const char *text, size_t len);
/* RFC 5322 date of ms (UTC), "Tue, 02 Jan 2024 10:00:00 +0000". */
void sf_email_date(int64_t ms, char *buf, size_t len);
/* A fresh Message-ID ("<hex@domain>") and MIME boundary, random. */
void sf_email_ids(const char *domain, char *msgid, size_t mlen, char *boundary, size_t blen);

/* Webhook bodies (notify_webhook.c). Templates: ${tenant.name},
 * ${tenant.id}, ${alert.<field>} (title, severity, status, category, id,
 * time, link, devices, description, serviceSource, detectionSource, rule,
 * or any top-level string of the record), ${record}; every value
 * JSON-escaped; $${ is a literal ${. */
sf_err sf_webhook_expand(const char *tmpl, const struct sf_notify_alert *a,
                         struct sf_buf *out, char *errbuf, size_t errlen);
/* 1 if tmpl only names known placeholders (else errbuf says which). */
int sf_webhook_template_ok(const char *tmpl, char *errbuf, size_t errlen);
/* The body for one alert: the template filled, or (tmpl NULL) siemfwd's
 * document {type, rule, tenant, id, title, severity, status, category,
 * link, devices, alert}. */
sf_err sf_webhook_alert(const char *tmpl, const struct sf_notify_alert *a,
                        struct sf_buf *out, char *errbuf, size_t errlen);
/* The body for one digest: {type: digest, title, rule, limit, from, until,
 * count, alerts: [...]}, or with a template that document as ${record}, the
 * count as the title and the list as the description. */
sf_err sf_webhook_digest(const char *tmpl, const struct sf_notify_digest *d,
                         struct sf_buf *out, char *errbuf, size_t errlen);

#endif
