/* conf_scalar.c - the scalar parsers and formatters behind sf_conf.h
 * (booleans, durations, sizes), key suggestions (sf_closest) and config-
 * relative paths. Pure functions on text; no YAML, no error lines. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_conf.h"

int sf_parse_bool(const char *text, int *b)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };

    if (!text)
        return -1;
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *b = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *b = 0;
            return 0;
        }
    }
    return -1;
}

/* Largest first; a duration lists each unit at most once, in this order. */
static const struct {
    const char *name;
    long long ms;
} dur_units[] = {
    { "d", 86400000LL }, { "h", 3600000LL }, { "m", 60000LL },
    { "s", 1000LL }, { "ms", 1LL },
};
#define N_DUR_UNITS (sizeof(dur_units) / sizeof(dur_units[0]))

/* Reads digits at *p into *v; -1 if none or on overflow. */
static int read_number(const char **p, long long *v)
{
    const char *s = *p;
    long long n = 0;

    if (!isdigit((unsigned char)*s))
        return -1;
    while (isdigit((unsigned char)*s)) {
        int d = *s - '0';
        if (n > (LLONG_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
        s++;
    }
    *p = s;
    *v = n;
    return 0;
}

/* "0", or one or more <number><unit> groups with units strictly
 * decreasing: "250ms", "30s", "1m30s", "1d12h". */
int sf_parse_duration_ms(const char *text, long long *ms)
{
    const char *p = text;
    long long total = 0;
    size_t next = 0; /* first unit still allowed */

    if (!text || !*text)
        return -1;
    if (strcmp(text, "0") == 0) {
        *ms = 0;
        return 0;
    }
    while (*p) {
        long long v;
        size_t u;
        if (read_number(&p, &v) != 0)
            return -1;
        if (p[0] == 'm' && p[1] == 's')
            u = 4;
        else
            for (u = 0; u < 4 && *p != dur_units[u].name[0]; u++)
                ;
        if (u >= N_DUR_UNITS || u < next || (u == 4 && p[0] != 'm'))
            return -1;
        p += strlen(dur_units[u].name);
        next = u + 1;
        if (v > (LLONG_MAX - total) / dur_units[u].ms)
            return -1;
        total += v * dur_units[u].ms;
    }
    *ms = total;
    return 0;
}

/* Sizes are binary: k, KB and KiB all mean 1024 (memory limits, where
 * operators mean powers of two either way). Units are case-insensitive. */
static const struct {
    const char *name;
    long long mul;
} size_units[] = {
    { "", 1 }, { "b", 1 },
    { "k", 1LL << 10 }, { "kb", 1LL << 10 }, { "kib", 1LL << 10 },
    { "m", 1LL << 20 }, { "mb", 1LL << 20 }, { "mib", 1LL << 20 },
    { "g", 1LL << 30 }, { "gb", 1LL << 30 }, { "gib", 1LL << 30 },
};

int sf_parse_size(const char *text, long long *bytes)
{
    const char *p = text;
    long long v;

    if (!text || read_number(&p, &v) != 0)
        return -1;
    if (*p == ' ' && p[1] != '\0')
        p++;
    for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
        if (strcasecmp(p, size_units[i].name) != 0)
            continue;
        if (v > LLONG_MAX / size_units[i].mul)
            return -1;
        *bytes = v * size_units[i].mul;
        return 0;
    }
    return -1;
}

void sf_format_duration(long long ms, char *buf, size_t len)
{
    size_t used = 0;

    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    if (ms <= 0) {
        snprintf(buf, len, ms == 0 ? "0s" : "%lldms", ms);
        return;
    }
    for (size_t u = 0; u < N_DUR_UNITS && ms > 0; u++) {
        long long q = ms / dur_units[u].ms;
        if (q == 0)
            continue;
        int n = snprintf(buf + used, len - used, "%lld%s", q, dur_units[u].name);
        if (n < 0 || (size_t)n >= len - used)
            return;
        used += (size_t)n;
        ms -= q * dur_units[u].ms;
    }
}

void sf_format_size(long long bytes, char *buf, size_t len)
{
    static const struct {
        const char *name;
        long long mul;
    } units[] = { { "GiB", 1LL << 30 }, { "MiB", 1LL << 20 }, { "KiB", 1LL << 10 } };

    if (!buf || len == 0)
        return;
    for (size_t i = 0; i < 3; i++) {
        if (bytes != 0 && bytes % units[i].mul == 0) {
            snprintf(buf, len, "%lld%s", bytes / units[i].mul, units[i].name);
            return;
        }
    }
    snprintf(buf, len, "%lld", bytes);
}

#define MAX_WORD 64

/* Optimal string alignment distance (Levenshtein plus adjacent
 * transpositions, so "wran" -> "warn" is 1), ASCII case-insensitive. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t rows[3][MAX_WORD + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];

    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t best = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

/* A suggestion must be close relative to the word: at most 3 edits and at
 * most half its length, so "tls" never suggests "tcp". Failing that, a
 * candidate the word (3+ characters) begins: "arcsight" -> "arcsight-cef". */
const char *sf_closest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, wl;

    if (!word || !candidates)
        return NULL;
    wl = strlen(word);
    if (wl == 0 || wl > MAX_WORD)
        return NULL;
    size_t limit = wl / 2 < 3 ? wl / 2 : 3;
    if (limit == 0)
        limit = 1;
    for (size_t i = 0; i < n && candidates[i]; i++) {
        if (strlen(candidates[i]) > MAX_WORD)
            continue;
        size_t d = distance(word, candidates[i]);
        if (d <= limit && d < best_d) {
            best = candidates[i];
            best_d = d;
        }
    }
    for (size_t i = 0; !best && wl >= 3 && i < n && candidates[i]; i++)
        if (strncasecmp(candidates[i], word, wl) == 0)
            best = candidates[i];
    return best;
}

char *sf_conf_path(const struct sf_node *node, const char *path)
{
    const char *file = node ? node->file : NULL;
    const char *slash = file ? strrchr(file, '/') : NULL;
    char *out;

    if (!path)
        return NULL;
    if (path[0] == '/' || !slash)
        return strdup(path);
    size_t dl = (size_t)(slash - file), pl = strlen(path);
    out = malloc(dl + 1 + pl + 1);
    if (!out)
        return NULL;
    memcpy(out, file, dl);
    out[dl] = '/';
    memcpy(out + dl + 1, path, pl + 1);
    return out;
}
