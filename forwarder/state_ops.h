/* state_ops.h - the state store's backend interface (private to forwarder/):
 * struct sf_state is an ops table plus the backend's own context. state.c
 * dispatches the public sf_state_* calls of sf_state.h through it;
 * state_sqlite.c (the embedded default) and state_kafka.c (cluster mode)
 * fill it in. A backend embeds struct sf_state as its first member. */
#ifndef SF_STATE_OPS_H
#define SF_STATE_OPS_H

#include "sf_state.h"

struct sf_state_ops {
    const char *name; /* "sqlite", "kafka" */
    sf_err (*cursor)(struct sf_state *st, const char *tenant, const char *output,
                     struct sf_cursor *c);
    int (*seen)(struct sf_state *st, const char *tenant, const char *output,
                const char *alert_id, int64_t last_update_ms);
    sf_err (*mark)(struct sf_state *st, const char *tenant, const char *output,
                   const struct sf_seen *items, size_t n);
    sf_err (*advance)(struct sf_state *st, const char *tenant, const char *output,
                      int64_t watermark_ms, int64_t prune_before_ms, int64_t now_ms);
    sf_err (*start)(struct sf_state *st, const char *tenant, const char *output,
                    int64_t watermark_ms);
    /* error is already redacted (by state.c) and never NULL ("" clears). */
    sf_err (*note)(struct sf_state *st, const char *tenant, const char *output,
                   const char *error, int64_t now_ms);
    sf_err (*each)(struct sf_state *st, sf_state_row_fn fn, void *opaque);
    void (*close)(struct sf_state *st);
};

struct sf_state {
    const struct sf_state_ops *ops;
};

#endif
