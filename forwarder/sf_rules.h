/* sf_rules.h - alert selection rules (`rules:` on any output), pipeline
 * policy: each rule matches on tenant names, minimum severity, categories,
 * service/detection sources and status of an alert view; an alert goes to
 * the output if any rule matches.
 * Compiled once from the YAML node; the compiled set is read-only (safe to
 * share between threads). Owns copies of every string it keeps. */
#ifndef SF_RULES_H
#define SF_RULES_H

#include <stddef.h>
#include "sf_alert_view.h"
#include "sf_buf.h"
#include "sf_err.h"
#include "sf_yaml.h"

struct sf_rules;

/* Compile the `rules:` node (a YAML list of mappings) of the output at path
 * ("outputs[3]"). rules NULL (key absent): *out = NULL, which matches every
 * alert. Problems are appended to errs as "FILE:LINE: outputs[3].rules[0].key:
 * message" lines and SF_ERR_CONFIG returned (SF_ERR_NOMEM on no memory). */
sf_err sf_rules_compile(const struct sf_node *rules, const char *path,
                        struct sf_rules **out, struct sf_buf *errs);

/* Index of the first rule matching the alert view v (v->tenant: the
 * configured tenant name), or -1 if none matches. r NULL: 0 (the implicit
 * "every alert" rule). */
int sf_rules_match(const struct sf_rules *r, const struct sf_alert_view *v);

void sf_rules_free(struct sf_rules *r);

/* Number of rules (1 for NULL: the implicit rule). */
size_t sf_rules_count(const struct sf_rules *r);
/* Identity of rule i for "already sent" memory: its name when it has one,
 * else its conditions as text. Borrowed from r. */
const char *sf_rules_key(const struct sf_rules *r, size_t i);
/* Conditions of rule i as text, "min_severity=high status=new" ("every
 * alert" when it has none). Borrowed from r. */
const char *sf_rules_describe(const struct sf_rules *r, size_t i);
#endif
