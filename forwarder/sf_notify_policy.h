/* sf_notify_policy.h - the notification policy of the email and webhook
 * outputs, pipeline policy in front of a plain transport: at route time
 * (cycle.c) the matching rule's alert is rendered (formats' notification
 * renderer) and gets a notice; on the output's runner thread the policy
 * skips what was sent already at that severity, applies flood control
 * (held alerts go to siemfwd.db, then out as one digest, rendered by the
 * same renderer) and hands the bytes to the transport. Operational events
 * take the same path without rules or memory. */
#ifndef SF_NOTIFY_POLICY_H
#define SF_NOTIFY_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "sf_alert_view.h"
#include "sf_buf.h"
#include "sf_output.h"
#include "sf_rules.h"
#include "sf_state.h"
#include "sf_yaml.h"

/* What the policy decides an alert by, made at route time; one block
 * (free() it), strings inside. */
struct sf_notice {
    size_t rule;                 /* index of the matching rule */
    int sev_rank;
    const char *alert_id, *tenant, *tenant_id, *severity, *title, *link;
    char strs[];
};

struct sf_notify_policy;

/* Init output o of its configured type: the type's own init, and for a
 * notification transport (type->notify) the policy in front of it: then
 * o->type is the policy's and o->ctx the policy, which owns the transport
 * (an sf_output of its own) and reads flood, include (email), template
 * (webhook) and format of cfg. rules (compiled from the same config) and
 * state (the pipeline's state store, where the policy keeps its memory;
 * NULL: state_dir/siemfwd.db of its own) are borrowed and must outlive o.
 * Errors appended to errs. */
sf_err sf_notify_output_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                             const struct sf_rules *rules, struct sf_state *state,
                             struct sf_buf *errs);

/* The policy of o, NULL if o is not a notification output. */
const struct sf_notify_policy *sf_notify_policy_of(const struct sf_output *o);

/* Route time, any thread: the message of alert (its view v, matched by rule
 * index rule; record: the alert as the json format rendered it) appended
 * to out, and its notice (*notice, malloc'd). */
sf_err sf_notify_render_alert(const struct sf_notify_policy *p, json_object *alert,
                              const struct sf_alert_view *v, size_t rule,
                              const char *record, size_t record_len, struct sf_buf *out,
                              struct sf_notice **notice, char *errbuf, size_t errlen);

/* `siemfwd notify-test`: render alert (its view v) and send it through o
 * (after sf_notify_output_init) as-is: no rules, memory or flood control.
 * answer gets the server's reply. SF_ERR_INVALID if o is not a
 * notification output. */
sf_err sf_notify_test(struct sf_output *o, json_object *alert, const struct sf_alert_view *v,
                      enum sf_verdict *verdict, char *answer, size_t len);

/* Tests: replace the policy's wall clock (ms). */
void sf_notify_set_clock(struct sf_output *o, int64_t (*clock)(void));

#endif
