/* sf_alert_reader.h - split untrusted input into alerts: a JSON array, an
 * API page ({"value": [...]}), a bare object, or JSON lines (any mix of those
 * one after another). Malformed JSON is reported with its line and skipped
 * up to the next line; the rest is still read. Callbacks borrow objects. */
#ifndef SF_ALERT_READER_H
#define SF_ALERT_READER_H

#include <stddef.h>
#include <json-c/json.h>
#include "sf_err.h"

struct sf_alert_pos {
    size_t index;   /* 1-based alert number in the input */
    size_t line;    /* 1-based line where its enclosing JSON value starts */
};

/* Called per alert (any JSON value inside the container; the callee checks
 * it is an object). Return SF_OK to go on; anything else stops reading. */
typedef sf_err (*sf_alert_fn)(void *opaque, json_object *alert,
                              const struct sf_alert_pos *pos);
/* Called per malformed chunk of input. */
typedef void (*sf_alert_err_fn)(void *opaque, const struct sf_alert_pos *pos,
                                const char *msg);

/* Returns SF_OK when the whole input was read (even with bad chunks, which
 * were reported through on_err and counted in *nbad), else the callback's
 * error. */
sf_err sf_alert_read(const char *data, size_t len, sf_alert_fn on_alert,
                     sf_alert_err_fn on_err, void *opaque, size_t *nbad);

#endif
