/* log.c - logfmt / JSON event lines on stderr (journald-friendly); every
 * message passes sf_redact before it is written. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sf_clock.h"
#include "sf_buf.h"
#include "sf_log.h"
#include "sf_redact.h"

static enum sf_log_level g_level = SF_LOG_INFO;
static int g_json;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void sf_log_setup(enum sf_log_level level, int json)
{
    g_level = level;
    g_json = json;
}

int sf_log_level_parse(const char *name, enum sf_log_level *level)
{
    for (int i = 0; i <= SF_LOG_DEBUG; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = (enum sf_log_level)i;
            return 0;
        }
    }
    return -1;
}

int sf_log_enabled(enum sf_log_level level)
{
    return level <= g_level;
}

/* Quote a value for logfmt or JSON: escape quotes, backslashes, controls. */
static void add_quoted(struct sf_buf *b, const char *s)
{
    sf_buf_addc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            sf_buf_addc(b, '\\');
            sf_buf_addc(b, (char)c);
        } else if (c == '\n') {
            sf_buf_adds(b, "\\n");
        } else if (c < 0x20 || c == 0x7f) {
            sf_buf_printf(b, "\\u%04x", c);
        } else {
            sf_buf_addc(b, (char)c);
        }
    }
    sf_buf_addc(b, '"');
}

static void add_pair(struct sf_buf *b, const char *key, const char *val, int first)
{
    if (g_json) {
        sf_buf_adds(b, first ? "{" : ",");
        add_quoted(b, key);
        sf_buf_addc(b, ':');
        add_quoted(b, val);
        return;
    }
    if (!first)
        sf_buf_addc(b, ' ');
    sf_buf_adds(b, key);
    sf_buf_addc(b, '=');
    if (val[0] && !strpbrk(val, " \"=\\\n\t"))
        sf_buf_adds(b, val);
    else
        add_quoted(b, val);
}

void sf_log(enum sf_log_level level, const char *tenant, const char *output,
            const char *fmt, ...)
{
    if (level > g_level)
        return;
    char msg[2048], ts[40];
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int need = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Every line passes the redactor (DESIGN.md §4), on the whole message
     * before the cut, so a secret across the 2 KiB cut is not half shown. */
    char *full = need >= (int)sizeof(msg) ? malloc((size_t)need + 1) : NULL;
    if (full && vsnprintf(full, (size_t)need + 1, fmt, ap2) >= 0)
        sf_redact_copy(msg, sizeof(msg), full);
    else
        sf_redact(msg, sizeof(msg));
    va_end(ap2);
    free(full);

    struct tm tm;
    int64_t now = sf_now_ms();
    time_t secs = (time_t)(now / 1000);
    gmtime_r(&secs, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(now % 1000));

    struct sf_buf b;
    sf_buf_init(&b, 8192);
    add_pair(&b, "ts", ts, 1);
    add_pair(&b, "level", level_names[level], 0);
    if (tenant)
        add_pair(&b, "tenant", tenant, 0);
    if (output)
        add_pair(&b, "output", output, 0);
    add_pair(&b, "msg", msg, 0);
    sf_buf_adds(&b, g_json ? "}\n" : "\n");
    if (b.data) {
        ssize_t n = write(STDERR_FILENO, b.data, b.len);
        (void)n;
    }
    sf_buf_free(&b);
}
