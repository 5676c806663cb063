/* state.c - the public sf_state_* calls of sf_state.h, dispatched to the
 * backend the handle was opened with (state_ops.h): SQLite (state_sqlite.c)
 * or Kafka (state_kafka.c). Owns what every backend shares: redacting error
 * text before it is stored. Backends do their own locking. */
#include <stdlib.h>
#include <string.h>

#include "sf_redact.h"
#include "state_ops.h"

void sf_state_close(struct sf_state *st)
{
    if (st)
        st->ops->close(st);
}

sf_err sf_state_cursor(struct sf_state *st, const char *tenant, const char *output,
                       struct sf_cursor *c)
{
    return st->ops->cursor(st, tenant, output, c);
}

int sf_state_seen(struct sf_state *st, const char *tenant, const char *output,
                  const char *alert_id, int64_t last_update_ms)
{
    return st->ops->seen(st, tenant, output, alert_id, last_update_ms);
}

sf_err sf_state_mark(struct sf_state *st, const char *tenant, const char *output,
                     const struct sf_seen *items, size_t n)
{
    if (n == 0)
        return SF_OK;
    return st->ops->mark(st, tenant, output, items, n);
}

sf_err sf_state_advance(struct sf_state *st, const char *tenant, const char *output,
                        int64_t watermark_ms, int64_t prune_before_ms, int64_t now_ms)
{
    return st->ops->advance(st, tenant, output, watermark_ms, prune_before_ms, now_ms);
}

sf_err sf_state_start(struct sf_state *st, const char *tenant, const char *output,
                      int64_t watermark_ms)
{
    return st->ops->start(st, tenant, output, watermark_ms);
}

sf_err sf_state_note(struct sf_state *st, const char *tenant, const char *output,
                     const char *error, int64_t now_ms)
{
    /* Errors quote servers: stored only once every known secret is out. */
    char *red = error && *error ? strdup(error) : NULL;

    if (red)
        sf_redact(red, strlen(red) + 1);
    sf_err err = st->ops->note(st, tenant, output, red ? red : error && *error ?
                               "(error text lost: out of memory)" : "", now_ms);
    free(red);
    return err;
}

sf_err sf_state_each(struct sf_state *st, sf_state_row_fn fn, void *opaque)
{
    return st->ops->each(st, fn, opaque);
}
