/* sf_output.h - the one interface every output (syslog, kafka, hec, file,
 * stdout, ...) fills in. Outputs receive rendered bytes plus metadata and
 * return verdicts; they own transport, framing, batching and acknowledgement,
 * never rendering, retry policy or cursors (the pipeline owns those).
 * Adding an output = one new file + one line in outputs/registry.c. */
#ifndef SF_OUTPUT_H
#define SF_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include "sf_buf.h"
#include "sf_err.h"
#include "sf_yaml.h"

enum sf_verdict {
    SF_V_DELIVERED,  /* acknowledged by the peer: cursor may pass it */
    SF_V_RETRY,      /* transient; send again later (pipeline backs off) */
    SF_V_RECONNECT,  /* connection lost; reconnect then resend */
    SF_V_REJECTED,   /* permanent for this record: quarantine, move on */
    SF_V_FATAL,      /* output misconfigured / unusable: stop it loudly */
};
const char *sf_verdict_name(enum sf_verdict v);

/* One rendered record. Everything is borrowed and valid until the output
 * has reported a verdict for msg->id (outputs copy what they keep longer). */
struct sf_msg {
    const char *data;     /* rendered record, no trailing newline */
    size_t len;
    const char *tenant;   /* tenant name (Kafka key, HEC fields.tenant) */
    const char *tenant_id;
    const char *alert_id;
    int64_t time_ms;      /* alert time, epoch ms (HEC "time") */
    uint64_t id;          /* pipeline sequence number, echoed in the verdict */
    int kind;             /* SF_MSG_ALERT, or SF_MSG_EVENT: an operational event
                             (JSON shaped like an alert: id, title, severity,
                             status, category, description, tenant) that only
                             outputs subscribed with `events:` get */
    const struct sf_notice *notice; /* notification outputs' alerts: what the
                             forwarder's notification policy decides by (rule,
                             severity, digest line); NULL otherwise. Outputs
                             never read it. */
};

enum { SF_MSG_ALERT = 0, SF_MSG_EVENT = 1 };

struct sf_output;

/* The capability of a notification transport (email, webhook): the
 * forwarder puts its notification policy (rules, sent-once memory, flood
 * control, rendering) in front of it, and the transport only carries the
 * bytes of each message: an RFC 5322 message to its recipients (email), a
 * body with its content type (webhook). */
enum sf_notify_kind { SF_NOTIFY_EMAIL = 1, SF_NOTIFY_WEBHOOK = 2 };
struct sf_notify_cap {
    enum sf_notify_kind kind;
    /* email: the envelope sender and recipients (after init), which the
     * message's From: and To: name; NULL for webhook. */
    void (*addresses)(const struct sf_output *o, const char **from, char *const **to,
                      size_t *nto);
};

typedef void (*sf_verdict_fn)(void *opaque, uint64_t id, enum sf_verdict v,
                              const char *reason);

struct sf_output_type {
    const char *name;     /* value of `type:` in the config */
    /* Parse and validate the output's own keys (its sf_conf_entry table);
     * the common keys name/type/format/rules/flood are handled by the caller
     * and must be ignored here. No network I/O. Errors appended to errs as
     * "FILE:LINE: outputs[i].key: message" lines. Sets o->ctx. */
    sf_err (*init)(struct sf_output *o, const struct sf_node *cfg,
                   const char *path, struct sf_buf *errs);
    /* Connect / health check. May fail; the pipeline retries later. */
    sf_err (*start)(struct sf_output *o, char *errbuf, size_t errlen);
    /* Take n records. Verdicts are reported through o->verdict, either
     * before send returns or later from poll/flush. */
    sf_err (*send)(struct sf_output *o, const struct sf_msg *msgs, size_t n);
    /* Drive I/O (acks, delivery reports) for up to timeout_ms. */
    void (*poll)(struct sf_output *o, int timeout_ms);
    /* Block until every record sent has a verdict or timeout_ms passed;
     * returns how many are still without a verdict. */
    size_t (*flush)(struct sf_output *o, int timeout_ms);
    void (*destroy)(struct sf_output *o);  /* frees ctx; no verdicts after */
    const struct sf_notify_cap *notify;    /* NULL: not a notification transport */
};

struct sf_output {
    const struct sf_output_type *type;
    char *name;            /* owned: configured output name (for logs) */
    char *state_dir;       /* borrowed: where quarantine files go */
    size_t max_record;     /* bytes a record may have (syslog max size), 0 = none */
    sf_verdict_fn verdict; /* set by the pipeline before start */
    void *verdict_opaque;
    void *ctx;             /* the type's own state */
};

/* Registry (outputs/registry.c): the type for a `type:` value, or NULL. */
const struct sf_output_type *sf_output_type_find(const char *name);
/* NULL-terminated list of registered type names (for messages). */
const char *const *sf_output_type_names(void);

#endif
