/* sf_syslog.h - syslog message headers (RFC 5424, RFC 3164, none) and TCP
 * framing (RFC 6587 octet counting or LF), shared by the syslog output and
 * its tests. Pure byte building: no clock, no sockets; the caller passes the
 * time and owns every string and buffer. */
#ifndef SF_SYSLOG_H
#define SF_SYSLOG_H

#include <stddef.h>
#include <stdint.h>
#include "sf_buf.h"
#include "sf_output.h"

enum sf_syslog_header { SF_SYSLOG_RFC5424, SF_SYSLOG_RFC3164, SF_SYSLOG_NOHEADER };
enum sf_syslog_framing { SF_SYSLOG_OCTET, SF_SYSLOG_LF };

struct sf_syslog_fmt {
    enum sf_syslog_header header;
    enum sf_syslog_framing framing;
    int facility;           /* 0..23 */
    int severity;           /* 0..7 */
    const char *hostname;   /* PRINTUSASCII, 1..255 bytes (sf_syslog_check_field) */
    const char *app_name;   /* 5424 APP-NAME (<= 48) / 3164 TAG (<= 32) */
    const char *msgid;      /* 5424 MSGID (<= 32), "-" for none */
    long pid;               /* 5424 PROCID / 3164 TAG[pid]; < 0 leaves it out */
};

/* Most bytes a header (everything before the record) can take with f,
 * whatever the time and pid. 0 for SF_SYSLOG_NOHEADER. */
size_t sf_syslog_header_max(const struct sf_syslog_fmt *f);

/* Append the header for time now_ms (epoch ms, rendered in UTC) to out:
 *   5424: "<PRI>1 2024-05-02T10:11:12.345Z HOST APP PID MSGID - "
 *   3164: "<PRI>May  2 10:11:12 HOST APP[PID]: "
 *   none: nothing. */
sf_err sf_syslog_header(const struct sf_syslog_fmt *f, int64_t now_ms, struct sf_buf *out);

/* Append one whole frame (framing + header + record) to out. The message
 * (header + record) must fit in max_message bytes (0 = no limit) and, with
 * LF framing, the record must hold no LF: either -> SF_ERR_LIMIT /
 * SF_ERR_INVALID with the reason in errbuf and out left as it was. */
sf_err sf_syslog_frame(const struct sf_syslog_fmt *f, int64_t now_ms,
                       const char *rec, size_t len, size_t max_message,
                       struct sf_buf *out, char *errbuf, size_t errlen);

/* 0 if s may be a header field of at most maxlen PRINTUSASCII bytes
 * (RFC 5424 §6), -1 otherwise. */
int sf_syslog_check_field(const char *s, size_t maxlen);

/* Names -> numbers (RFC 5424 §6.2.1 tables); -1 if unknown. */
int sf_syslog_facility(const char *name);
int sf_syslog_severity(const char *name);

/* The syslog output type (outputs/syslog.c). */
extern const struct sf_output_type sf_output_syslog;

/* Test hook: fix the clock (now_ms >= 0) and PROCID (pid >= 0) of a syslog
 * output instance so tests can compare exact bytes; -1 restores the real one. */
void sf_syslog_test_fix(struct sf_output *o, int64_t now_ms, long pid);

#endif
