/* syslog_header.c - RFC 5424 / RFC 3164 headers and RFC 6587 framing bytes
 * (sf_syslog.h). Does no I/O and reads no clock; the caller owns buffers.
 * Spec facts: /work/shared/reference/formats-and-outputs.md §3. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sf_syslog.h"

static const char *const facilities[] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};
static const char *const severities[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int index_of(const char *const *names, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

int sf_syslog_facility(const char *name)
{
    return index_of(facilities, 24, name);
}

int sf_syslog_severity(const char *name)
{
    return index_of(severities, 8, name);
}

int sf_syslog_check_field(const char *s, size_t maxlen)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > maxlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
            return -1;
    return 0;
}

/* "<PRI>" is at most 5 bytes; a pid at most 10 digits (or "-"). */
#define PRI_MAX 5
#define PID_MAX 10
#define TS5424_LEN 24   /* 2024-05-02T10:11:12.345Z */
#define TS3164_LEN 15   /* May  2 10:11:12 */

size_t sf_syslog_header_max(const struct sf_syslog_fmt *f)
{
    size_t host = strlen(f->hostname), app = strlen(f->app_name);

    switch (f->header) {
    case SF_SYSLOG_RFC5424:
        /* PRI "1 " TS " " HOST " " APP " " PID " " MSGID " - " */
        return PRI_MAX + 2 + TS5424_LEN + 1 + host + 1 + app + 1 + PID_MAX + 1 +
               strlen(f->msgid) + 3;
    case SF_SYSLOG_RFC3164:
        /* PRI TS " " HOST " " APP "[" PID "]: " */
        return PRI_MAX + TS3164_LEN + 1 + host + 1 + app + 1 + PID_MAX + 3;
    case SF_SYSLOG_NOHEADER:
        break;
    }
    return 0;
}

/* Broken-down UTC time; 0 when the year does not fit four digits. */
static int utc_tm(int64_t now_ms, struct tm *tm, int *ms)
{
    int64_t sec = now_ms / 1000;
    int rem = (int)(now_ms % 1000);

    if (rem < 0) {
        rem += 1000;
        sec -= 1;
    }
    time_t t = (time_t)sec;
    if (!gmtime_r(&t, tm) || tm->tm_year + 1900 < 0 || tm->tm_year + 1900 > 9999)
        return 0;
    *ms = rem;
    return 1;
}

static sf_err header_5424(const struct sf_syslog_fmt *f, int pri, int64_t now_ms,
                          struct sf_buf *out)
{
    struct tm tm;
    int ms;
    char ts[40] = "-";   /* NILVALUE when the time cannot be written */
    char pid[24] = "-";

    if (utc_tm(now_ms, &tm, &ms))
        snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ms);
    if (f->pid >= 0)
        snprintf(pid, sizeof(pid), "%ld", f->pid);
    return sf_buf_printf(out, "<%d>1 %s %s %s %s %s - ", pri, ts, f->hostname,
                         f->app_name, pid, f->msgid);
}

static sf_err header_3164(const struct sf_syslog_fmt *f, int pri, int64_t now_ms,
                          struct sf_buf *out)
{
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    int ms;
    sf_err err;

    if (!utc_tm(now_ms, &tm, &ms))
        memset(&tm, 0, sizeof(tm));  /* no nil value in 3164: Jan  0 00:00:00 */
    /* Day of month space-padded (RFC 3164 §4.1.2): "May  2". */
    err = sf_buf_printf(out, "<%d>%s %2d %02d:%02d:%02d %s %s", pri, mon[tm.tm_mon],
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f->hostname,
                        f->app_name);
    if (!err && f->pid >= 0)
        err = sf_buf_printf(out, "[%ld]", f->pid);
    if (!err)
        err = sf_buf_add(out, ": ", 2);
    return err;
}

sf_err sf_syslog_header(const struct sf_syslog_fmt *f, int64_t now_ms, struct sf_buf *out)
{
    int pri = f->facility * 8 + f->severity;

    switch (f->header) {
    case SF_SYSLOG_RFC5424:
        return header_5424(f, pri, now_ms, out);
    case SF_SYSLOG_RFC3164:
        return header_3164(f, pri, now_ms, out);
    case SF_SYSLOG_NOHEADER:
        break;
    }
    return SF_OK;
}

sf_err sf_syslog_frame(const struct sf_syslog_fmt *f, int64_t now_ms,
                       const char *rec, size_t len, size_t max_message,
                       struct sf_buf *out, char *errbuf, size_t errlen)
{
    size_t start = out->len, hdr_at, msglen;
    char prefix[24];
    sf_err err;

    if (f->framing == SF_SYSLOG_LF && len && memchr(rec, '\n', len)) {
        sf_errf(errbuf, errlen, "record contains a line feed, which LF framing "
                "cannot carry (the renderer should have escaped it)");
        return SF_ERR_INVALID;
    }
    /* Octet counting needs the length first: build the header where the
     * frame will go, then insert "LEN " in front of it. */
    hdr_at = out->len;
    err = sf_syslog_header(f, now_ms, out);
    if (err)
        goto out;
    msglen = out->len - hdr_at + len;
    if (max_message && msglen > max_message) {
        sf_errf(errbuf, errlen, "message is %zu bytes (header %zu + record %zu), "
                "over max_message %zu", msglen, out->len - hdr_at, len, max_message);
        err = SF_ERR_LIMIT;
        goto out;
    }
    err = sf_buf_add(out, rec, len);
    if (!err && f->framing == SF_SYSLOG_LF)
        err = sf_buf_addc(out, '\n');
    if (!err && f->framing == SF_SYSLOG_OCTET) {
        int n = snprintf(prefix, sizeof(prefix), "%zu ", msglen);
        err = sf_buf_reserve(out, (size_t)n);
        if (!err) {
            memmove(out->data + hdr_at + n, out->data + hdr_at, msglen);
            memcpy(out->data + hdr_at, prefix, (size_t)n);
            out->len += (size_t)n;
            out->data[out->len] = '\0';
        }
    }
out:
    if (err)
        sf_buf_truncate(out, start);
    return err;
}
