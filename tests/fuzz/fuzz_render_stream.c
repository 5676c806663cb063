/* fuzz_render_stream.c - libFuzzer target: untrusted bytes (the first picks a
 * piece size of 1..64) through the stream reader of `siemfwd render` fed in
 * pieces and through sf_alert_read() over the whole buffer. Must never crash,
 * leak or hang, and must report the same malformed chunks at the same lines;
 * when nothing is malformed, the same alerts at the same positions. Not
 * compared: input holding a NUL byte (json-c ends a parse call there, with a
 * result that depends on its state - invalid JSON either way). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sf_alert_reader.h"
#include "sf_buf.h"
#include "sf_json_stream.h"

struct trace {
    struct sf_buf alerts, errors;
};

static sf_err on_alert(void *opaque, json_object *alert, const struct sf_alert_pos *pos)
{
    struct trace *t = opaque;
    sf_buf_printf(&t->alerts, "%zu@%zu %s\n", pos->index, pos->line,
                  alert ? json_object_to_json_string_ext(alert, JSON_C_TO_STRING_PLAIN)
                        : "null");
    return SF_OK;
}

static void on_err(void *opaque, const struct sf_alert_pos *pos, const char *msg)
{
    struct trace *t = opaque;
    sf_buf_printf(&t->errors, "%zu %s\n", pos->line, msg);
}

static int same(const struct sf_buf *a, const struct sf_buf *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct trace whole, pieces;
    size_t nbad_whole = 0, nbad_pieces = 0, piece;
    struct sf_json_stream *s;

    if (size < 1)
        return 0;
    piece = 1 + data[0] % 64;
    data++;
    size--;
    sf_buf_init(&whole.alerts, 0);
    sf_buf_init(&whole.errors, 0);
    sf_buf_init(&pieces.alerts, 0);
    sf_buf_init(&pieces.errors, 0);
    sf_alert_read((const char *)data, size, on_alert, on_err, &whole, &nbad_whole);

    s = sf_json_stream_new(on_alert, on_err, &pieces);
    if (!s)
        abort();
    for (size_t off = 0; off < size; off += piece)
        sf_json_stream_feed(s, (const char *)data + off, size - off < piece ? size - off : piece);
    sf_json_stream_end(s, &nbad_pieces);
    sf_json_stream_free(s);

    /* a container broken half-way may have delivered a different number of
     * its elements before the break; everything else must match */
    if (!memchr(data, '\0', size)) {
        if (nbad_whole != nbad_pieces || !same(&whole.errors, &pieces.errors))
            abort();
        if (nbad_whole == 0 && !same(&whole.alerts, &pieces.alerts))
            abort();
    }
    sf_buf_free(&whole.alerts);
    sf_buf_free(&whole.errors);
    sf_buf_free(&pieces.alerts);
    sf_buf_free(&pieces.errors);
    return 0;
}
