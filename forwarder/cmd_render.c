/* cmd_render.c - `siemfwd render`: alerts from a file or stdin through a map
 * to CEF / LEEF / JSON lines on stdout, for writing and checking maps. The
 * input is read in pieces and split as it comes (sf_json_stream.h), records
 * go out through stdout's one buffer. A bad alert is reported on stderr with
 * its position and skipped; exit 1 at the end if any failed or a write did. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_alert_reader.h"
#include "sf_cli.h"
#include "sf_format.h"
#include "sf_json_stream.h"
#include "sf_utf8.h"

#define READ_CHUNK ((size_t)64 * 1024)
#define OUT_BUFFER ((size_t)256 * 1024)

struct render_ctx {
    struct sf_format *fmt;
    struct sf_tenant_info tenant;
    const char *input;
    struct sf_buf line;
    int fields;          /* --fields: print the evaluated record, not the line */
    int werrno;          /* errno of the first failed write to stdout */
    size_t ok, failed;
};

static const char render_usage[] =
    "usage: siemfwd render -m MAP [--format cef|leef|json] [--tenant NAME]\n"
    "                      [--tenant-id ID] [--max-len BYTES] [--fields] [FILE|-]\n"
    "Renders every alert of FILE (default: stdin) - a JSON array, an API page\n"
    "({\"value\": [...]}) or JSON lines - one record per line on stdout.\n"
    "--format defaults to the map's own `format:`; json needs no map.\n"
    "The tenant id defaults to the alert's tenantId / aadTenantId field.\n"
    "--fields prints what the map extracted (before escaping) as JSON instead.\n";

char *sf_read_input(const char *path, size_t max, size_t *len, char *errbuf, size_t errlen)
{
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    struct sf_buf b;
    char chunk[65536];

    if (!fp) {
        sf_errf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    sf_buf_init(&b, max);
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), fp);
        if (n && sf_buf_add(&b, chunk, n) != SF_OK) {
            sf_errf(errbuf, errlen, "%s: larger than %zu bytes", path, max);
            goto fail;
        }
        if (n < sizeof(chunk))
            break;
    }
    if (ferror(fp)) {
        sf_errf(errbuf, errlen, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    if (fp != stdin)
        fclose(fp);
    return sf_buf_steal(&b, len);
fail:
    if (fp != stdin)
        fclose(fp);
    sf_buf_free(&b);
    return NULL;
}

static void add_value(json_object *obj, const char *key, const struct sf_record *r,
                      const struct sf_field *f, struct sf_buf *tmp)
{
    sf_buf_reset(tmp);
    sf_utf8_sanitize(tmp, sf_record_val(r, f), f->len);
    json_object_object_add(obj, key, json_object_new_string_len(tmp->data ? tmp->data : "",
                                                                 (int)tmp->len));
}

/* --fields: the map's evaluated values before escaping and truncation (only
 * invalid UTF-8 replaced), as one JSON object per alert: what a map author
 * checks, and what the golden tests compare parsers' output against. */
static sf_err render_fields(struct render_ctx *c, json_object *alert,
                            const struct sf_tenant_info *t, char *errbuf, size_t errlen)
{
    static const char *const hdr_names[SF_HDR_COUNT] = {
        "vendor", "product", "version", "event_id", "name", "severity" };
    struct sf_record *r = &c->fmt->rec;
    struct sf_buf tmp;
    sf_err err = sf_map_eval(c->fmt->map, alert, t, r, errbuf, errlen);
    if (err)
        return err;
    sf_buf_init(&tmp, 0);
    json_object *root = json_object_new_object(), *hdr = json_object_new_object();
    json_object *fields = json_object_new_object();
    for (int h = 0; h < SF_HDR_COUNT; h++)
        if (r->hdr[h].present)
            add_value(hdr, hdr_names[h], r, &r->hdr[h], &tmp);
    for (size_t i = 0; i < r->n; i++)
        add_value(fields, r->fields[i].key, r, &r->fields[i], &tmp);
    json_object_object_add(root, "header", hdr);
    json_object_object_add(root, "fields", fields);
    size_t n;
    const char *s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    err = sf_buf_add(&c->line, s, n);
    json_object_put(root);
    sf_buf_free(&tmp);
    return err;
}

static const char *alert_tenant_id(json_object *alert)
{
    static const char *const keys[] = { "tenantId", "aadTenantId", "AadTenantId" };
    json_object *v;
    for (size_t i = 0; i < 3; i++)
        if (json_object_object_get_ex(alert, keys[i], &v) &&
            json_object_is_type(v, json_type_string))
            return json_object_get_string(v);
    return "";
}

static sf_err on_alert(void *opaque, json_object *alert, const struct sf_alert_pos *pos)
{
    struct render_ctx *c = opaque;
    char errbuf[512];
    struct sf_tenant_info t = c->tenant;

    if (!json_object_is_type(alert, json_type_object)) {
        fprintf(stderr, "%s:%zu: alert %zu: not a JSON object, skipped\n", c->input,
                pos->line, pos->index);
        c->failed++;
        return SF_OK;
    }
    if (!t.id)
        t.id = alert_tenant_id(alert);
    sf_buf_reset(&c->line);
    sf_err err = c->fields && c->fmt->map
                     ? render_fields(c, alert, &t, errbuf, sizeof(errbuf))
                     : sf_format_render(c->fmt, alert, &t, &c->line, errbuf, sizeof(errbuf));
    if (err) {
        fprintf(stderr, "%s:%zu: alert %zu: %s, skipped\n", c->input, pos->line,
                pos->index, errbuf);
        c->failed++;
        return SF_OK;
    }
    sf_buf_addc(&c->line, '\n');
    if (fwrite(c->line.data, 1, c->line.len, stdout) != c->line.len) {
        c->werrno = errno ? errno : EIO;
        return SF_ERR_IO;
    }
    c->ok++;
    return SF_OK;
}

static void on_bad(void *opaque, const struct sf_alert_pos *pos, const char *msg)
{
    struct render_ctx *c = opaque;
    fprintf(stderr, "%s:%zu: %s, skipped to the next line\n", c->input, pos->line, msg);
}

/* The input, piece by piece, through the stream reader. SF_ERR_IO with the
 * sentence in errbuf when it cannot be read; a callback's error as is. */
static sf_err render_input(struct render_ctx *c, size_t *nbad, char *errbuf, size_t errlen)
{
    FILE *fp = strcmp(c->input, "-") == 0 ? stdin : fopen(c->input, "rb");
    struct sf_json_stream *s = NULL;
    char *chunk = NULL;
    sf_err err = SF_OK;

    if (!fp) {
        sf_errf(errbuf, errlen, "%s: %s", c->input, strerror(errno));
        return SF_ERR_IO;
    }
    s = sf_json_stream_new(on_alert, on_bad, c);
    chunk = malloc(READ_CHUNK);
    if (!s || !chunk) {
        err = SF_ERR_NOMEM;
        sf_errf(errbuf, errlen, "%s: %s", c->input, sf_strerror(err));
        goto out;
    }
    for (;;) {
        size_t n = fread(chunk, 1, READ_CHUNK, fp);
        if (n && (err = sf_json_stream_feed(s, chunk, n)) != SF_OK) {
            sf_json_stream_end(s, nbad); /* after a stop: only the count */
            goto out;
        }
        if (n < READ_CHUNK)
            break;
    }
    if (ferror(fp)) {
        err = SF_ERR_IO;
        sf_errf(errbuf, errlen, "%s: read error: %s", c->input, strerror(errno));
        goto out;
    }
    err = sf_json_stream_end(s, nbad);
out:
    sf_json_stream_free(s);
    free(chunk);
    if (fp != stdin)
        fclose(fp);
    return err;
}

/* The map's own `format:` key, when --format is not given. */
static int map_declared_type(const char *map, const struct sf_format_type **type)
{
    struct sf_doc *doc = NULL;
    char errbuf[512];
    int rc = -1;

    if (sf_yaml_load_file(map, &doc, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "siemfwd render: %s\n", errbuf);
        return -1;
    }
    const struct sf_node *f = sf_node_get(doc->root, "format");
    if (f && f->type == SF_NODE_SCALAR && (*type = sf_format_type_find(f->str)) != NULL)
        rc = 0;
    else
        fprintf(stderr, "siemfwd render: %s: no `format:` in the map; give --format\n", map);
    sf_doc_free(doc);
    return rc;
}

int sf_cmd_render(int argc, char **argv)
{
    static const struct option opts[] = {
        { "map", required_argument, NULL, 'm' },
        { "format", required_argument, NULL, 'f' },
        { "tenant", required_argument, NULL, 't' },
        { "tenant-id", required_argument, NULL, 'i' },
        { "max-len", required_argument, NULL, 'L' },
        { "fields", no_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *map = NULL, *fmtname = NULL;
    struct render_ctx c = { .tenant = { "default", NULL } };
    long long max_len = 0;
    char errbuf[1024];
    int opt, rc = SF_EXIT_USAGE;
    size_t nbad = 0;
    const struct sf_format_type *type = &sf_format_cef;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "m:f:t:i:L:Fh", opts, NULL)) != -1) {
        switch (opt) {
        case 'm': map = optarg; break;
        case 'f': fmtname = optarg; break;
        case 't': c.tenant.name = optarg; break;
        case 'i': c.tenant.id = optarg; break;
        case 'L': max_len = atoll(optarg); break;
        case 'F': c.fields = 1; break;
        case 'h': fputs(render_usage, stdout); return SF_EXIT_OK;
        default: fputs(render_usage, stderr); return SF_EXIT_USAGE;
        }
    }
    c.input = optind < argc ? argv[optind] : "-";
    if (optind + 1 < argc || max_len < 0) {
        fputs(render_usage, stderr);
        return SF_EXIT_USAGE;
    }
    if (fmtname && !(type = sf_format_type_find(fmtname))) {
        fprintf(stderr, "siemfwd render: --format %s: expected cef, leef or json\n", fmtname);
        return SF_EXIT_USAGE;
    }
    if (!fmtname && !map) {
        fprintf(stderr, "siemfwd render: give -m MAP (or --format json)\n");
        return SF_EXIT_USAGE;
    }
    if (!fmtname && map_declared_type(map, &type) != 0)
        return SF_EXIT_USAGE;
    if (sf_format_new(type, map, &c.fmt, errbuf, sizeof(errbuf)) != SF_OK) {
        fprintf(stderr, "%s\n", errbuf);
        return SF_EXIT_USAGE;
    }
    c.fmt->opts.max_len = (size_t)max_len;
    /* one buffer for every record; a closed pipe is a write error, not a signal */
    setvbuf(stdout, NULL, _IOFBF, OUT_BUFFER);
    signal(SIGPIPE, SIG_IGN);
    sf_buf_init(&c.line, 0);
    errbuf[0] = '\0';
    sf_err err = render_input(&c, &nbad, errbuf, sizeof(errbuf));
    if (fflush(stdout) != 0 && !c.werrno)
        c.werrno = errno ? errno : EIO;
    if (c.werrno) {
        fprintf(stderr, "siemfwd render: writing stdout: %s\n", strerror(c.werrno));
        rc = SF_EXIT_FAIL;
    } else if (err == SF_ERR_IO && errbuf[0]) {
        fprintf(stderr, "siemfwd render: %s\n", errbuf);
        rc = SF_EXIT_FAIL;
    } else if (err) {
        fprintf(stderr, "siemfwd render: %s: %s\n", c.input, sf_strerror(err));
        rc = SF_EXIT_FAIL;
    } else {
        rc = (c.failed || nbad) ? SF_EXIT_FAIL : SF_EXIT_OK;
    }
    if (c.failed || nbad)
        fprintf(stderr, "siemfwd render: %zu rendered, %zu failed\n", c.ok, c.failed + nbad);
    sf_buf_free(&c.line);
    sf_format_free(c.fmt);
    return rc;
}
