/* sf_notify.h - what the notification outputs (`type: email`, `type:
 * webhook`) share: the alert fields a person reads (from the JSON record),
 * the engine that applies rules, the sent-once memory and flood control
 * before handing one alert or one digest to the transport, the SQLite store
 * behind both (state_dir/notify.db), and the message builders. The engine is
 * driven by one output thread; every pointer in the structs is borrowed
 * unless marked owned. */
#ifndef SF_NOTIFY_H
#define SF_NOTIFY_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "sf_buf.h"
#include "sf_conf.h"
#include "sf_flood.h"
#include "sf_output.h"
#include "sf_rules.h"

#define SF_NOTIFY_MAX_DEVICES 16
#define SF_NOTIFY_LINK_MAX 2048

/* One alert as a notification shows it. Strings are borrowed from record
 * (or the sf_msg); absent fields are NULL. */
struct sf_notify_alert {
    const char *tenant, *tenant_id;
    const char *id, *title, *severity, *status, *category;
    const char *service_source, *detection_source;
    const char *time;            /* creation time as the API wrote it */
    const char *description;
    const char *devices[SF_NOTIFY_MAX_DEVICES];  /* host names, unique */
    size_t ndevices;
    char link[SF_NOTIFY_LINK_MAX]; /* portal link carrying tid=, "" if none */
    int sev_rank;                /* sf_rules_severity_rank(severity) */
    const char *rule;            /* text of the matching rule; NULL for tests */
    json_object *record;         /* the parsed record */
    const char *record_text;     /* the record as received (JSON) */
    size_t record_len;
};

/* One alert held back by flood control (a digest line). Strings owned. */
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

/* The transport of a notification output. Each call sends one message and
 * returns its verdict; answer gets the server's reply (or the failure). */
struct sf_notify_ops {
    enum sf_verdict (*alert)(void *tctx, const struct sf_notify_alert *a, char *answer,
                             size_t len);
    enum sf_verdict (*digest)(void *tctx, const struct sf_notify_digest *d, char *answer,
                              size_t len);
};

struct sf_nstore;

/* The engine. Email and webhook contexts start with one (so o->ctx can be
 * read as a struct sf_notify *, which sf_notify_test relies on). */
struct sf_notify {
    struct sf_output *o;
    const struct sf_notify_ops *ops;
    void *tctx;                  /* the transport's context, passed to ops */
    struct sf_rules *rules;      /* owned; NULL: every alert */
    struct sf_flood *flood;      /* owned */
    struct sf_flood *event_flood; /* owned: operational events, the same limit */
    size_t events_suppressed;    /* events past the flood limit since the last sent */
    struct sf_nstore *store;     /* owned; opened by sf_notify_start */
    char **orphans;              /* owned: held rule keys no longer configured */
    size_t norphans;
    int64_t (*clock)(void);      /* wall clock in ms (tests replace it) */
};

/* Compile rules/flood of the output node cfg at path and check `format`
 * (absent or json). No I/O. Errors appended to errs. */
sf_err sf_notify_init(struct sf_notify *n, struct sf_output *o, const struct sf_node *cfg,
                      const char *path, const struct sf_notify_ops *ops, void *tctx,
                      struct sf_buf *errs);
/* Open state_dir/notify.db and pick up alerts held by an earlier run. */
sf_err sf_notify_start(struct sf_notify *n, char *errbuf, size_t errlen);
/* Every msg gets its verdict through o->verdict before this returns. */
void sf_notify_send(struct sf_notify *n, const struct sf_msg *msgs, size_t cnt);
/* Send digests of ended windows (all: every held alert, for shutdown). */
void sf_notify_service(struct sf_notify *n, int all);
/* Digests of everything held (if started), then free. */
void sf_notify_fini(struct sf_notify *n);

/* Fill a from a JSON record of any source; tenant/tenant_id are used when
 * the record has no "tenant" object. -1 if record is not an object. */
int sf_notify_extract(json_object *record, const char *tenant, const char *tenant_id,
                      struct sf_notify_alert *a);

/* `siemfwd notify-test`: send alert (NULL: a built-in test alert) through
 * the notification output o (after init) as-is: no rules, memory or flood
 * control. answer gets the server's reply. SF_ERR_INVALID if o is not an
 * email or webhook output. */
sf_err sf_notify_test(struct sf_output *o, json_object *alert, const char *tenant,
                      const char *tenant_id, enum sf_verdict *v, char *answer, size_t len);

/* Store (notify_store.c): the sent-once memory and the held alerts. */
sf_err sf_nstore_open(const char *state_dir, const char *output, struct sf_nstore **out,
                      char *errbuf, size_t errlen);
void sf_nstore_close(struct sf_nstore *s);
/* Highest severity rank sent for (rule key, alert id), -1 if never sent. */
int sf_nstore_sent_rank(struct sf_nstore *s, const char *rule, const char *alert_id);
sf_err sf_nstore_mark_sent(struct sf_nstore *s, const char *rule, const char *alert_id,
                           int rank, int64_t now_ms);
/* Hold a for rule's digest and mark it sent, in one transaction. */
sf_err sf_nstore_hold(struct sf_nstore *s, const char *rule, int64_t window_ms,
                      const struct sf_notify_alert *a, int64_t now_ms);
/* Up to max held items of rule, oldest first (*items owned by the caller:
 * sf_nstore_items_free); *last_seq is the newest one's sequence number. */
sf_err sf_nstore_held(struct sf_nstore *s, const char *rule, size_t max,
                      struct sf_notify_item **items, size_t *n, int64_t *from_ms,
                      int64_t *last_seq);
sf_err sf_nstore_drop_held(struct sf_nstore *s, const char *rule, int64_t last_seq);
void sf_nstore_items_free(struct sf_notify_item *items, size_t n);
/* Calls fn for each rule key with held items: oldest window, count. */
sf_err sf_nstore_held_rules(struct sf_nstore *s,
                            void (*fn)(void *opaque, const char *rule, int64_t window_ms,
                                       size_t n),
                            void *opaque);

/* Email messages (email_msg.c). */
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
/* "High" for "high"/"High"/"HIGH"; "Unknown" for NULL. */
void sf_notify_severity_word(const char *severity, char *buf, size_t len);

/* Webhook body templates (webhook.c): ${tenant.name}, ${tenant.id},
 * ${alert.<field>} (title, severity, status, category, id, time, link,
 * devices, description, serviceSource, detectionSource, rule, or any
 * top-level string of the record), ${record}; every value JSON-escaped. */
sf_err sf_webhook_expand(const char *tmpl, const struct sf_notify_alert *a,
                         struct sf_buf *out, char *errbuf, size_t errlen);

#endif
