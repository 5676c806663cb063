/* conf_bind.c - binds a YAML mapping onto a C struct through an
 * sf_conf_entry table (sf_conf.h): ${ENV} expansion, file: secrets, bounds,
 * enums, unknown keys with suggestions, every error collected, table docs.
 * Knows no module's keys. Strings and lists it stores are owned by dst. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sf_conf.h"
#include "sf_log.h"
#include "sf_redact.h"

#define KPATH_MAX 256
#define SECRET_FILE_MAX 65536

/* rc of the helpers below: 0 ok, BAD reported to errs, NOMEM out of memory */
enum { BAD = -1, NOMEM = -2 };

struct ctx {
    struct sf_buf *errs;
    int bad;
};

void sf_conf_error(struct sf_buf *errs, const struct sf_node *node, const char *path,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if (!errs)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (node && node->file)
        sf_buf_printf(errs, "%s:%d: ", node->file, node->line);
    if (path && *path)
        sf_buf_printf(errs, "%s: ", path);
    sf_buf_printf(errs, "%s\n", msg);
}

/* Reports one problem; returns BAD so callers can `return report(...)`. */
static int report(struct ctx *c, const struct sf_node *node, const char *kpath,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int report(struct ctx *c, const struct sf_node *node, const char *kpath,
                  const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->bad++;
    sf_conf_error(c->errs, node, kpath, "%s", msg);
    return BAD;
}

static void *field(void *dst, const struct sf_conf_entry *e)
{
    return (char *)dst + e->offset;
}

static void join(char *out, const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, KPATH_MAX, "%s.%s", path, key);
    else
        snprintf(out, KPATH_MAX, "%s", key);
}

static int var_char(char ch, int first)
{
    return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
           (!first && ch >= '0' && ch <= '9');
}

/* Appends in to out with ${VAR} replaced by its value and $${ by a literal
 * ${. On BAD, why names the problem: a variable name, never a value, and
 * for a secret (quiet) not even the text between the braces. */
static int expand_env(const char *in, int quiet, struct sf_buf *out, char *why,
                      size_t whylen)
{
    const char *p = in;

    if (sf_buf_add(out, "", 0) != SF_OK)
        return NOMEM;
    while (*p) {
        const char *piece = p, *end;
        size_t n = 1;
        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            piece = "${";
            n = 2;
            p += 3;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *name = p + 2;
            char var[128];
            end = strchr(name, '}');
            if (!end) {
                snprintf(why, whylen, "unterminated ${ (write $${ for a literal ${)");
                return BAD;
            }
            n = (size_t)(end - name);
            size_t ok = 0;
            while (ok < n && var_char(name[ok], ok == 0))
                ok++;
            if (n == 0 || ok < n || n >= sizeof(var)) {
                if (quiet)
                    snprintf(why, whylen, "${...} holds an invalid environment variable name");
                else
                    snprintf(why, whylen, "'${%.*s}' is not a valid environment variable name",
                             (int)(n > 64 ? 64 : n), name);
                return BAD;
            }
            memcpy(var, name, n);
            var[n] = '\0';
            piece = getenv(var);
            if (!piece) {
                snprintf(why, whylen, "environment variable %s is not set", var);
                return BAD;
            }
            n = strlen(piece);
            p = end + 1;
        } else {
            p++;
        }
        sf_err err = sf_buf_add(out, piece, n);
        if (err == SF_ERR_NOMEM)
            return NOMEM;
        if (err) {
            snprintf(why, whylen, "the value is longer than %zu bytes", out->max);
            return BAD;
        }
    }
    return 0;
}

static void wipe_buf(struct sf_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    sf_buf_free(b);
}

/* The scalar's text with ${VAR} expanded (malloc'd, into *text). */
static int scalar_text(struct ctx *c, const struct sf_node *node, const char *kpath,
                       char **text)
{
    struct sf_buf b;
    char why[256];
    int rc;

    if (node->type != SF_NODE_SCALAR)
        return report(c, node, kpath, "expected a scalar, got %s", sf_node_type_name(node));
    sf_buf_init(&b, 1024 * 1024);
    rc = expand_env(node->str, 0, &b, why, sizeof(why));
    if (rc == BAD)
        report(c, node, kpath, "%s", why);
    if (rc == 0)
        *text = sf_buf_steal(&b, NULL);
    sf_buf_free(&b);
    return rc;
}

static int in_bounds(const struct sf_conf_entry *e, long long v)
{
    return (e->min == 0 && e->max == 0) || (v >= e->min && v <= e->max);
}

static int check_bounds(struct ctx *c, const struct sf_conf_entry *e, long long v,
                        const char *text, const struct sf_node *at, const char *kpath)
{
    char lo[32], hi[32];

    if (in_bounds(e, v))
        return 0;
    if (e->type == SF_CT_DURATION) {
        sf_format_duration(e->min, lo, sizeof(lo));
        sf_format_duration(e->max, hi, sizeof(hi));
    } else if (e->type == SF_CT_SIZE) {
        sf_format_size(e->min, lo, sizeof(lo));
        sf_format_size(e->max, hi, sizeof(hi));
    } else {
        snprintf(lo, sizeof(lo), "%lld", e->min);
        snprintf(hi, sizeof(hi), "%lld", e->max);
    }
    return report(c, at, kpath, "%s is out of range %s..%s", text, lo, hi);
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int parse_number(struct ctx *c, const struct sf_conf_entry *e, const char *text,
                        const struct sf_node *at, const char *kpath, long long *out)
{
    char *end;

    if (e->type == SF_CT_DURATION) {
        if (sf_parse_duration_ms(text, out) == 0)
            return 0;
        if (all_digits(text))
            return report(c, at, kpath, "'%s' needs a unit (ms, s, m, h or d)", text);
        return report(c, at, kpath,
                      "'%s' is not a duration (use e.g. 250ms, 30s, 5m, 1h30m, 1d)", text);
    }
    if (e->type == SF_CT_SIZE) {
        if (sf_parse_size(text, out) == 0)
            return 0;
        return report(c, at, kpath,
                      "'%s' is not a size (use e.g. 4096, 64KiB, 16MiB, 1GiB)", text);
    }
    errno = 0;
    *out = strtoll(text, &end, 10);
    if (!*text || *text == ' ' || *end || errno)
        return report(c, at, kpath, "'%s' is not an integer", text);
    return 0;
}

static int bind_enum(struct ctx *c, const struct sf_conf_entry *e, const char *text,
                     const struct sf_node *at, const char *kpath, char **slot)
{
    char list[512] = "";
    size_t n = 0, used = 0;
    const char *near;

    for (n = 0; e->values && e->values[n]; n++) {
        if (strcmp(text, e->values[n]) == 0) {
            *slot = strdup(text);
            return *slot ? 0 : NOMEM;
        }
        int k = snprintf(list + used, sizeof(list) - used, "%s%s", n ? ", " : "",
                         e->values[n]);
        if (k > 0 && (size_t)k < sizeof(list) - used)
            used += (size_t)k;
    }
    near = sf_closest(text, e->values, n);
    if (near)
        return report(c, at, kpath, "'%s' is not one of %s (did you mean '%s'?)", text,
                      list, near);
    return report(c, at, kpath, "'%s' is not one of %s", text, list);
}

static int list_add(struct sf_strlist *l, const char *s, size_t n)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
    if (!v)
        return NOMEM;
    l->v = v;
    v[l->n] = strndup(s, n);
    if (!v[l->n])
        return NOMEM;
    l->n++;
    return 0;
}

/* "a, b, c" -> three items; "" -> no items. */
static int list_from_text(struct ctx *c, const char *text, const struct sf_node *at,
                          const char *kpath, struct sf_strlist *l)
{
    const char *p = text;

    while (*p == ' ')
        p++;
    if (!*p)
        return 0;
    for (;;) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && *b == ' ')
            b++;
        while (e > b && e[-1] == ' ')
            e--;
        if (b == e)
            return report(c, at, kpath, "empty item in list '%s'", text);
        if (list_add(l, b, (size_t)(e - b)) != 0)
            return NOMEM;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static int list_from_seq(struct ctx *c, const struct sf_node *seq, const char *kpath,
                         struct sf_strlist *l)
{
    int bad = 0;

    for (size_t i = 0; i < seq->n; i++) {
        char ipath[KPATH_MAX + 24], *text = NULL;
        snprintf(ipath, sizeof(ipath), "%s[%zu]", kpath, i);
        int rc = scalar_text(c, seq->items[i], ipath, &text);
        if (rc == NOMEM)
            return NOMEM;
        if (rc == BAD) {
            bad = 1;
            continue;
        }
        rc = list_add(l, text, strlen(text));
        free(text);
        if (rc)
            return rc;
    }
    return bad ? BAD : 0;
}

/* Converts text (an expanded value or a default) for every scalar type. */
static int convert(struct ctx *c, const struct sf_conf_entry *e, const char *text,
                   const struct sf_node *at, const char *kpath, void *dst)
{
    void *f = field(dst, e);
    long long v;
    int rc;

    switch (e->type) {
    case SF_CT_STRING:
    case SF_CT_SECRET:
        *(char **)f = strdup(text);
        return *(char **)f ? 0 : NOMEM;
    case SF_CT_ENUM:
        return bind_enum(c, e, text, at, kpath, (char **)f);
    case SF_CT_BOOL:
        if (sf_parse_bool(text, (int *)f) != 0)
            return report(c, at, kpath, "'%s' is not a boolean (true/false, yes/no, on/off)",
                          text);
        return 0;
    case SF_CT_INT:
    case SF_CT_DURATION:
    case SF_CT_SIZE:
        rc = parse_number(c, e, text, at, kpath, &v);
        if (rc == 0)
            rc = check_bounds(c, e, v, text, at, kpath);
        if (rc == 0)
            *(long long *)f = v;
        return rc;
    case SF_CT_STRLIST:
        return list_from_text(c, text, at, kpath, (struct sf_strlist *)f);
    case SF_CT_NODE:
        return 0;
    }
    return 0;
}

/* Reads a file: secret; errors name the path, never the content. */
static int read_secret_file(struct ctx *c, const struct sf_node *node, const char *kpath,
                            const char *name, char **slot)
{
    char *path = NULL, *buf = NULL;
    size_t len = 0;
    int rc = 0, fd = -1;

    if (!*name)
        return report(c, node, kpath, "file: needs a path");
    path = sf_conf_path(node, name);
    buf = malloc(SECRET_FILE_MAX + 1);
    if (!path || !buf) {
        rc = NOMEM;
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = report(c, node, kpath, "cannot read secret file %s: %s", path, strerror(errno));
        goto out;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & (S_IROTH | S_IWOTH)))
        sf_warn(NULL, NULL, "%s:%d: %s: secret file %s is %s by every user (mode %04o);"
                " chmod o-rwx it", node->file ? node->file : "-", node->line, kpath, path,
                sb.st_mode & S_IWOTH ? "writable" : "readable", (unsigned)(sb.st_mode & 07777));
    for (;;) {
        ssize_t n = read(fd, buf + len, SECRET_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = report(c, node, kpath, "cannot read secret file %s: %s", path,
                        strerror(errno));
            goto out;
        }
        len += (size_t)n;
        if (n == 0 || len > SECRET_FILE_MAX)
            break;
    }
    if (len > SECRET_FILE_MAX) {
        rc = report(c, node, kpath, "secret file %s is larger than %d bytes", path,
                    SECRET_FILE_MAX);
        goto out;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (memchr(buf, '\0', len))
        rc = report(c, node, kpath, "secret file %s contains a NUL byte", path);
    else if (len == 0)
        rc = report(c, node, kpath, "secret file %s is empty", path);
    else if (!(*slot = strdup(buf)))
        rc = NOMEM;
out:
    if (fd >= 0)
        close(fd);
    if (buf)
        explicit_bzero(buf, SECRET_FILE_MAX + 1);
    free(buf);
    free(path);
    return rc;
}

/* SECRET: "file:/path" (path may use ${VAR}) or a value with ${VAR}s. */
static int bind_secret(struct ctx *c, const struct sf_node *node, const char *kpath,
                       char **slot)
{
    struct sf_buf b;
    char why[256];
    int rc, is_file;

    if (node->type != SF_NODE_SCALAR)
        return report(c, node, kpath, "expected a scalar, got %s", sf_node_type_name(node));
    is_file = strncmp(node->str, "file:", 5) == 0;
    sf_buf_init(&b, SECRET_FILE_MAX);
    rc = expand_env(node->str + (is_file ? 5 : 0), 1, &b, why, sizeof(why));
    if (rc == BAD)
        report(c, node, kpath, "%s", why);
    else if (rc == 0 && is_file)
        rc = read_secret_file(c, node, kpath, b.data, slot);
    else if (rc == 0 && b.len == 0)
        rc = report(c, node, kpath, "the secret is empty");
    else if (rc == 0 && !(*slot = strdup(b.data)))
        rc = NOMEM;
    wipe_buf(&b);
    /* Known from here on to the one redactor: whatever a server echoes
     * back is masked before it is logged or stored (DESIGN.md §4). */
    if (rc == 0 && *slot && sf_redact_add(*slot) == SF_ERR_NOMEM)
        rc = NOMEM;
    return rc;
}

static int bind_value(struct ctx *c, const struct sf_conf_entry *e,
                      const struct sf_node *node, const char *kpath, void *dst)
{
    char *text = NULL;
    int rc;

    if (e->type == SF_CT_NODE) {
        *(const struct sf_node **)field(dst, e) = node;
        return 0;
    }
    if (e->type == SF_CT_SECRET)
        return bind_secret(c, node, kpath, (char **)field(dst, e));
    if (e->type == SF_CT_STRLIST && node->type == SF_NODE_SEQ)
        return list_from_seq(c, node, kpath, (struct sf_strlist *)field(dst, e));
    rc = scalar_text(c, node, kpath, &text);
    if (rc == 0)
        rc = convert(c, e, text, node, kpath, dst);
    free(text);
    return rc;
}

static void zero_field(const struct sf_conf_entry *e, void *dst)
{
    void *f = field(dst, e);

    switch (e->type) {
    case SF_CT_STRING:
    case SF_CT_SECRET:
    case SF_CT_ENUM:
        *(char **)f = NULL;
        break;
    case SF_CT_INT:
    case SF_CT_DURATION:
    case SF_CT_SIZE:
        *(long long *)f = 0;
        break;
    case SF_CT_BOOL:
        *(int *)f = 0;
        break;
    case SF_CT_STRLIST:
        ((struct sf_strlist *)f)->v = NULL;
        ((struct sf_strlist *)f)->n = 0;
        break;
    case SF_CT_NODE:
        *(const struct sf_node **)f = NULL;
        break;
    }
}

static int known(const char *key, const struct sf_conf_entry *table,
                 const char *const *ignore)
{
    for (size_t i = 0; table[i].key; i++)
        if (strcmp(key, table[i].key) == 0)
            return 1;
    for (size_t i = 0; ignore && ignore[i]; i++)
        if (strcmp(key, ignore[i]) == 0)
            return 1;
    return 0;
}

/* Reports every key of map that is neither in table nor in ignore. */
static void check_keys(struct ctx *c, const struct sf_node *map, const char *path,
                      const struct sf_conf_entry *table, const char *const *ignore)
{
    const char *cand[128];
    size_t n = 0;

    for (size_t i = 0; table[i].key && n < 128; i++)
        cand[n++] = table[i].key;
    for (size_t i = 0; ignore && ignore[i] && n < 128; i++)
        cand[n++] = ignore[i];
    for (size_t i = 0; i < map->n; i++) {
        const struct sf_node *k = map->keys[i];
        char kpath[KPATH_MAX];
        if (known(k->str, table, ignore))
            continue;
        join(kpath, path, k->str);
        const char *near = sf_closest(k->str, cand, n);
        if (near)
            report(c, k, kpath, "unknown key (did you mean '%s'?)", near);
        else
            report(c, k, kpath, "unknown key");
    }
}

/* map: a mapping, a null scalar (empty section) or NULL (absent section);
 * wrong_type: map was something else, already reported. */
static int bind_entry(struct ctx *c, const struct sf_conf_entry *e,
                      const struct sf_node *map, int wrong_type, const char *path,
                      void *dst)
{
    const struct sf_node *node = sf_node_get(map, e->key);
    char kpath[KPATH_MAX];

    join(kpath, path, e->key);
    if (node && !sf_node_is_null(node))
        return bind_value(c, e, node, kpath, dst);
    if (e->required && wrong_type)
        return BAD;
    if (e->required && node)
        return report(c, node, kpath, "needs a value");
    if (e->required)
        return report(c, map, kpath, "required key is missing");
    if (!e->def || e->type == SF_CT_NODE)
        return 0;
    /* Defaults go through the same parsers; a bad one is a table bug that
     * the unit tests catch by binding every table to an empty mapping. */
    return convert(c, e, e->def, map, kpath, dst);
}

sf_err sf_conf_bind(const struct sf_node *map, const char *path,
                    const struct sf_conf_entry *table, const char *const *ignore,
                    void *dst, struct sf_buf *errs)
{
    struct ctx c = { .errs = errs };
    int wrong_type = 0;

    for (size_t i = 0; table[i].key; i++)
        zero_field(&table[i], dst);
    if (map && !sf_node_is_null(map) && map->type != SF_NODE_MAP) {
        report(&c, map, path, "expected a mapping, got %s", sf_node_type_name(map));
        wrong_type = 1;
    } else if (map && map->type == SF_NODE_MAP) {
        check_keys(&c, map, path, table, ignore);
    }
    for (size_t i = 0; table[i].key; i++) {
        if (bind_entry(&c, &table[i], wrong_type ? NULL : map, wrong_type, path,
                       dst) == NOMEM)
            return SF_ERR_NOMEM;
    }
    return c.bad ? SF_ERR_CONFIG : SF_OK;
}

void sf_conf_release(const struct sf_conf_entry *table, void *dst)
{
    for (size_t i = 0; table[i].key; i++) {
        const struct sf_conf_entry *e = &table[i];
        void *f = field(dst, e);
        char **s = (char **)f;
        struct sf_strlist *l = (struct sf_strlist *)f;

        switch (e->type) {
        case SF_CT_SECRET:
            if (*s)
                explicit_bzero(*s, strlen(*s));
            /* fall through */
        case SF_CT_STRING:
        case SF_CT_ENUM:
            free(*s);
            *s = NULL;
            break;
        case SF_CT_STRLIST:
            for (size_t j = 0; j < l->n; j++)
                free(l->v[j]);
            free(l->v);
            l->v = NULL;
            l->n = 0;
            break;
        default:
            zero_field(e, dst);
            break;
        }
    }
}
