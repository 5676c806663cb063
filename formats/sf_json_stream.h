/* sf_json_stream.h - the alert reader of sf_alert_reader.h fed in pieces of
 * any size: a top-level array or API page is split element by element, so
 * memory is one element plus one piece, not the whole input. Same alerts,
 * positions and messages as sf_alert_read() over the whole buffer, except
 * that a container broken half-way has its elements before the break already
 * delivered. Callbacks borrow objects; the stream owns its tokeners. */
#ifndef SF_JSON_STREAM_H
#define SF_JSON_STREAM_H

#include <stddef.h>
#include "sf_alert_reader.h"

struct sf_json_stream;

/* NULL when out of memory. The callbacks and opaque are borrowed. */
struct sf_json_stream *sf_json_stream_new(sf_alert_fn on_alert, sf_alert_err_fn on_err,
                                          void *opaque);
/* Reads len more bytes (borrowed for the call only). SF_OK, or the first
 * error a callback returned (reading stops; do not feed again). */
sf_err sf_json_stream_feed(struct sf_json_stream *s, const char *data, size_t len);
/* End of input: delivers what was waiting, reports a value left open as
 * "unexpected end of data". *nbad (may be NULL) gets the malformed-chunk
 * count. SF_OK or a callback's error. */
sf_err sf_json_stream_end(struct sf_json_stream *s, size_t *nbad);
void sf_json_stream_free(struct sf_json_stream *s);

#endif
