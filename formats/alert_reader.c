/* alert_reader.c - JSON array / API page / JSON lines held in one buffer ->
 * one callback per alert: the whole buffer fed once to the stream reader
 * (json_stream.c), which owns the parsing and the error positions. */
#include "sf_alert_reader.h"
#include "sf_json_stream.h"

sf_err sf_alert_read(const char *data, size_t len, sf_alert_fn on_alert,
                     sf_alert_err_fn on_err, void *opaque, size_t *nbad)
{
    struct sf_json_stream *s = sf_json_stream_new(on_alert, on_err, opaque);
    sf_err err;

    if (!s)
        return SF_ERR_NOMEM;
    sf_json_stream_feed(s, data, len);
    err = sf_json_stream_end(s, nbad); /* the feed's error, if it stopped */
    sf_json_stream_free(s);
    return err;
}
