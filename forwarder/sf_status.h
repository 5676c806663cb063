/* sf_status.h - the state of every (tenant, output) pair as one JSON
 * document: what the status page (GET /status.json, metrics.c) and
 * `siemfwd state --json` (cmd_state.c) print. It reads; it never changes
 * the pipeline or the state store. Every string from outside (tenant
 * names, error texts quoting API answers) is JSON-escaped with <, > and &
 * as \u escapes and invalid UTF-8 replaced, so the text is safe anywhere.
 *
 * States, worst first (the document lists pairs in this order):
 *   consent_revoked  the tenant's token or API call was refused (Entra
 *                    error, HTTP 401/403): an operator or the customer must
 *                    act. Running: the pipeline's auth_failed flag. From the
 *                    state store alone: the pair's last error is such a
 *                    refusal ("token request refused (HTTP 4xx)" other than
 *                    429, or an API call answered 401 or 403).
 *   failing          an error is set and the pair has had no success for
 *                    more than 2 poll intervals (or never), or the output
 *                    stopped taking records because it fails (longer than
 *                    queue_max_failing, or stopped for good). A healthy
 *                    output whose queue is full only slows reads down.
 *   lagging          the cursor is older than max(2 x poll_interval,
 *                    settle + overlap): reads are behind (a first backfill,
 *                    a catch-up, throttling), but nothing is failing.
 *   pending          no cursor and no error yet: not read since it was added.
 *   flowing          everything else.
 */
#ifndef SF_STATUS_H
#define SF_STATUS_H

#include <stdint.h>
#include "sf_buf.h"
#include "sf_err.h"

struct sf_config;
struct sf_pipeline;
struct sf_state;

enum sf_status_state {
    SF_STATUS_CONSENT_REVOKED,
    SF_STATUS_FAILING,
    SF_STATUS_LAGGING,
    SF_STATUS_PENDING,
    SF_STATUS_FLOWING,
    SF_STATUS_COUNT
};

/* "consent_revoked", "failing", ... (the JSON values). */
const char *sf_status_name(enum sf_status_state s);

/* What decides one pair's state. Times in ms since the epoch; 0 = never. */
struct sf_status_in {
    int64_t now_ms;
    int64_t poll_interval_ms, settle_ms, overlap_ms;
    int auth_failed;          /* 1: refused; -1: unknown (judge by error text) */
    int accepting;            /* 0: the failing output takes no records; 1 or -1 unknown */
    const char *error;        /* the pair's last error, "" or NULL for none */
    int64_t last_success_ms;
    int64_t watermark_ms;     /* the cursor; < 0 (or 0) = no cursor yet */
};

/* The state, and in why (may be NULL) a short sentence saying what led to it. */
enum sf_status_state sf_status_classify(const struct sf_status_in *in, char *why,
                                        size_t whylen);

/* 1 when an error text is a refused token request (HTTP 4xx but 429) or an
 * API call answered 401/403 - the texts fetch.c writes for SF_ERR_AUTH. */
int sf_status_is_auth_error(const char *error);

/* Append text as a JSON string (quotes included) to out: control
 * characters, " and \ escaped, < > & as \u003c \u003e \u0026, U+2028/9 as
 * \u2028/9, invalid UTF-8 as U+FFFD. */
sf_err sf_status_json_string(struct sf_buf *out, const char *text);

/* The document for the running pipeline p: its tenants and outputs (read
 * under p->mu, briefly) and the cursors in its state store, including
 * cursors of tenants or outputs no longer configured. tenant: only that
 * tenant, or NULL for all. Appends to out. */
sf_err sf_status_pipeline_json(struct sf_pipeline *p, const char *tenant, int64_t now_ms,
                               struct sf_buf *out);

/* The same document from the configuration and a (read-only) state store
 * alone, for when the daemon is not running: no runtime fields. *nrows
 * (may be NULL) gets the number of pairs listed. */
sf_err sf_status_store_json(const struct sf_config *cfg, struct sf_state *st,
                            const char *tenant, int64_t now_ms, struct sf_buf *out,
                            size_t *nrows);

/* The status page (status_page.c): a complete HTML document that renders
 * /status.json client-side; served as is. */
extern const char sf_status_page_html[];

#endif
