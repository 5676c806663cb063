/* file.c - the `file` and `stdout` outputs: one record per line, for
 * debugging and the demo. A record counts as delivered once written and
 * flushed (file: also fsync'd, so a cursor never passes bytes a crash could
 * lose). Owns its FILE handle (not stdout's). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sf_conf.h"
#include "sf_output.h"

struct file_ctx {
    char *path;       /* NULL for stdout */
    int fsync;        /* fsync after every batch (file only) */
    FILE *fp;
};

struct file_conf {
    char *path;
    int fsync;
};


static const struct sf_conf_entry file_table[] = {
    { "path", SF_CT_STRING, NULL, offsetof(struct file_conf, path), 0, 0, NULL, 1,
      "file the records are appended to, one per line" },
    { "fsync", SF_CT_BOOL, "true", offsetof(struct file_conf, fsync), 0, 0, NULL, 0,
      "fsync after every batch before reporting it delivered" },
    SF_CONF_END
};

static const struct sf_conf_entry stdout_table[] = { SF_CONF_END };

static sf_err file_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                        struct sf_buf *errs)
{
    int is_stdout = strcmp(o->type->name, "stdout") == 0;
    struct file_conf fc = { 0 };
    struct file_ctx *c;
    sf_err err = sf_conf_bind(cfg, path, is_stdout ? stdout_table : file_table,
                              sf_output_common_keys, &fc, errs);
    if (err) {
        sf_conf_release(is_stdout ? stdout_table : file_table, &fc);
        return err;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        sf_conf_release(file_table, &fc);
        return SF_ERR_NOMEM;
    }
    c->path = fc.path; /* ownership moves to ctx */
    c->fsync = fc.fsync;
    o->ctx = c;
    return SF_OK;
}

static sf_err file_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct file_ctx *c = o->ctx;
    if (!c->path) {
        c->fp = stdout;
        return SF_OK;
    }
    if (c->fp)
        return SF_OK;
    c->fp = fopen(c->path, "a");
    if (!c->fp) {
        sf_errf(errbuf, errlen, "%s: cannot open for append: %s", c->path, strerror(errno));
        return SF_ERR_IO;
    }
    return SF_OK;
}

static sf_err file_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct file_ctx *c = o->ctx;
    char errbuf[256];
    int ok = file_start(o, errbuf, sizeof(errbuf)) == SF_OK;

    for (size_t i = 0; ok && i < n; i++) {
        if (fwrite(msgs[i].data, 1, msgs[i].len, c->fp) != msgs[i].len ||
            fputc('\n', c->fp) == EOF)
            ok = 0;
    }
    if (ok && fflush(c->fp) != 0)
        ok = 0;
    if (ok && c->path && c->fsync && fsync(fileno(c->fp)) != 0)
        ok = 0;
    if (!ok) {
        snprintf(errbuf, sizeof(errbuf), "write failed: %s", strerror(errno));
        if (c->path && c->fp) {
            fclose(c->fp);
            c->fp = NULL;
        }
    }
    for (size_t i = 0; i < n; i++)
        o->verdict(o->verdict_opaque, msgs[i].id, ok ? SF_V_DELIVERED : SF_V_RETRY,
                   ok ? NULL : errbuf);
    return ok ? SF_OK : SF_ERR_IO;
}

static void file_poll(struct sf_output *o, int timeout_ms)
{
}

static size_t file_flush(struct sf_output *o, int timeout_ms)
{
    return 0; /* send() reports every verdict before it returns */
}

static void file_destroy(struct sf_output *o)
{
    struct file_ctx *c = o->ctx;
    if (!c)
        return;
    if (c->fp && c->path)
        fclose(c->fp);
    else if (c->fp)
        fflush(c->fp);
    free(c->path);
    free(c);
    o->ctx = NULL;
}

const struct sf_output_type sf_output_file = {
    "file", file_init, file_start, file_send, file_poll, file_flush, file_destroy, NULL,
};

const struct sf_output_type sf_output_stdout = {
    "stdout", file_init, file_start, file_send, file_poll, file_flush, file_destroy, NULL,
};
