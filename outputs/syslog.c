/* syslog.c - the syslog output (type: syslog): RFC 5424 / 3164 / no header,
 * octet-counting or LF framing, over TCP or TLS (netconn.c), with verdicts.
 * Does not render, retry or back off (the pipeline does). Owns its
 * connection, batch buffer and the ids of records written but not yet acked.
 *
 * "Acknowledged" for syslog (DESIGN §2): the frame was fully written to the
 * socket / TLS session, the receiver's TCP stack ACKed every byte of it
 * (kernel send queue drained past it, SIOCOUTQ), and the connection still
 * showed no FIN, close_notify or RST when that was checked. Then the verdict
 * is SF_V_DELIVERED. A failed write, a peer close or no ACK within
 * write_timeout closes the connection and gives SF_V_RECONNECT to every
 * record not yet reported (at-least-once: the pipeline resends them).
 * A fresh connection is on probation for max(250 ms, twice its set-up
 * time): a receiver refusing the client after the handshake (TLS 1.3 client
 * certificate checks, rsyslog PermittedPeer) closes within that time, so
 * nothing ACKed before then counts until the connection has outlived it.
 * What plain syslog cannot show: records the receiver ACKed and then lost
 * in its own memory (kill -9 of rsyslog with an in-memory queue).
 * Verdicts for written records come from poll/flush, never from send.
 *
 * Choices: TIMESTAMP is the send time in UTC with milliseconds (the alert's
 * own times travel in the record; RFC 5424 §6.2.3 stamps origination). RFC
 * 3164 timestamps are UTC too (the format has no zone; UTC does not depend
 * on this host's TZ). Default framing: octet-counting with tls (RFC 5425
 * allows nothing else), lf with tcp (what SIEM collectors expect; records
 * carrying an LF are rejected). max_message defaults to 8 KiB, the limit
 * rsyslog applies by default (maxMessageSize) and RFC 5425 "should accept";
 * receivers truncate silently past their limit, we reject loudly instead.
 * PRI defaults to local4.warning = 164. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "sf_clock.h"
#include "sf_conf.h"
#include "sf_netconn.h"
#include "sf_syslog.h"
#include "sf_tls_conf.h"

#define CHUNK_BYTES ((size_t)64 * 1024)   /* write the batch in pieces this big */

struct syslog_conf {
    char *address, *transport, *framing, *header, *facility, *severity;
    char *app_name, *hostname, *msgid;
    long long max_message, connect_timeout, write_timeout;
    const struct sf_node *tls;
};

struct tls_pin {
    char *fingerprint_sha256;
};

static const char *const transports[] = { "tcp", "tls", NULL };
static const char *const framings[] = { "octet-counting", "lf", NULL };
static const char *const headers[] = { "rfc5424", "rfc3164", "none", NULL };
static const char *const facility_names[] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2",
    "local3", "local4", "local5", "local6", "local7", NULL };
static const char *const severity_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL };

#define C(f) offsetof(struct syslog_conf, f)
static const struct sf_conf_entry table[] = {
    { "address", SF_CT_STRING, NULL, C(address), 0, 0, NULL, 1,
      "receiver as host:port or [ipv6]:port" },
    { "transport", SF_CT_ENUM, "tcp", C(transport), 0, 0, transports, 0,
      "tcp or tls (RFC 5425)" },
    { "framing", SF_CT_ENUM, NULL, C(framing), 0, 0, framings, 0,
      "RFC 6587 framing; default octet-counting with tls, lf with tcp" },
    { "header", SF_CT_ENUM, "rfc5424", C(header), 0, 0, headers, 0,
      "syslog header in front of each record: rfc5424, rfc3164 or none" },
    { "facility", SF_CT_ENUM, "local4", C(facility), 0, 0, facility_names, 0,
      "syslog facility of every message (local4 = 20)" },
    { "severity", SF_CT_ENUM, "warning", C(severity), 0, 0, severity_names, 0,
      "syslog severity of every message (PRI = facility * 8 + severity)" },
    { "app_name", SF_CT_STRING, "siemfwd", C(app_name), 0, 0, NULL, 0,
      "RFC 5424 APP-NAME (<= 48 chars) / RFC 3164 TAG (<= 32 chars)" },
    { "hostname", SF_CT_STRING, NULL, C(hostname), 0, 0, NULL, 0,
      "HOSTNAME field; default: this host's name (gethostname)" },
    { "msgid", SF_CT_STRING, "alert", C(msgid), 0, 0, NULL, 0,
      "RFC 5424 MSGID (<= 32 chars, '-' for none)" },
    { "max_message", SF_CT_SIZE, "8KiB", C(max_message), 480, 16 << 20, NULL, 0,
      "largest message (header + record, without framing); larger records are rejected" },
    { "connect_timeout", SF_CT_DURATION, "10s", C(connect_timeout), 100, 600000, NULL, 0,
      "TCP connect plus TLS handshake" },
    { "write_timeout", SF_CT_DURATION, "30s", C(write_timeout), 100, 600000, NULL, 0,
      "time for a batch to be written and ACKed by the receiver's TCP" },
    { "tls", SF_CT_NODE, NULL, C(tls), 0, 0, NULL, 0,
      "TLS settings (transport: tls): ca_file, cert_file, key_file, server_name, "
      "verify, fingerprint_sha256" },
    SF_CONF_END
};
#undef C

/* The shared tls: keys are sf_tls_table's; pinning is syslog's own. */
static const char *const shared_tls_keys[] = { "ca_file", "cert_file", "key_file",
                                               "server_name", "verify", NULL };
static const char *const pin_keys[] = { "fingerprint_sha256", NULL };
#define T(f) offsetof(struct tls_pin, f)
static const struct sf_conf_entry pin_table[] = {
    { "fingerprint_sha256", SF_CT_STRING, NULL, T(fingerprint_sha256), 0, 0, NULL, 0,
      "pin the receiver's certificate by SHA-256 (AB:CD:...); with verify: false "
      "it is the only check (self-signed receivers)" },
    SF_CONF_END
};
#undef T

struct pending {
    uint64_t id;
    uint64_t wire_end;        /* wire bytes written once this record was out */
    long long written_at;     /* monotonic ms */
};

struct syslog_ctx {
    struct syslog_conf conf;       /* owned strings */
    struct sf_tls_conf tlsc;       /* owned strings: the shared tls: keys */
    struct tls_pin pin;            /* owned: tls.fingerprint_sha256 */
    struct sf_syslog_fmt fmt;      /* borrows conf strings and hostname */
    char *hostname;                /* owned */
    struct sf_netconn *conn;       /* owned */
    struct sf_buf batch;           /* frames not yet written */
    uint64_t *chunk;               /* ids of the frames in batch */
    size_t nchunk, capchunk;
    struct pending *pend;          /* written, waiting for the ACK; in order */
    size_t npend, cappend;
    long long trusted_at;          /* monotonic ms: connection past probation */
    int64_t fixed_now;             /* test hook, -1 = real clock */
    char err[512];
};

static int64_t wall_ms(const struct syslog_ctx *s)
{
    if (s->fixed_now >= 0)
        return s->fixed_now;
    return sf_now_ms();
}

static void verdict(struct sf_output *o, uint64_t id, enum sf_verdict v, const char *why)
{
    if (o->verdict)
        o->verdict(o->verdict_opaque, id, v, why);
}

/* The connection is gone: close it and send back every record not yet
 * reported, written or not, for resending. */
static void fail_all(struct sf_output *o, const char *why)
{
    struct syslog_ctx *s = o->ctx;

    sf_netconn_close(s->conn);
    for (size_t i = 0; i < s->npend; i++)
        verdict(o, s->pend[i].id, SF_V_RECONNECT, why);
    for (size_t i = 0; i < s->nchunk; i++)
        verdict(o, s->chunk[i], SF_V_RECONNECT, why);
    s->npend = s->nchunk = 0;
    sf_buf_reset(&s->batch);
}

/* Report DELIVERED for records the peer ACKed, on a connection still
 * healthy; fail everything if it is not. Waits up to wait_ms for ACKs. */
static size_t settle(struct sf_output *o, int wait_ms)
{
    struct syslog_ctx *s = o->ctx;
    long long deadline = sf_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
    int nap = 1;

    while (s->npend) {
        uint64_t acked = 0;
        size_t done = 0;
        sf_err err = sf_netconn_check(s->conn, s->err, sizeof(s->err));
        if (!err && sf_netconn_wire_acked(s->conn, &acked)) {
            snprintf(s->err, sizeof(s->err), "cannot read the send queue of the "
                     "connection to %s", s->conf.address);
            err = SF_ERR_NETWORK;
        }
        if (err) {
            fail_all(o, s->err);
            break;
        }
        long long now = sf_mono_ms();
        while (now >= s->trusted_at && done < s->npend && s->pend[done].wire_end <= acked)
            verdict(o, s->pend[done++].id, SF_V_DELIVERED, NULL);
        memmove(s->pend, s->pend + done, (s->npend - done) * sizeof(*s->pend));
        s->npend -= done;
        if (s->npend && s->pend[0].wire_end > acked &&
            now - s->pend[0].written_at > s->conf.write_timeout) {
            snprintf(s->err, sizeof(s->err), "%s did not acknowledge the data within "
                     "write_timeout (%lld ms)", s->conf.address, s->conf.write_timeout);
            fail_all(o, s->err);
            break;
        }
        if (!s->npend || now >= deadline)
            break;
        /* ACKs raise no poll event: nap briefly, but wake on a peer close. */
        struct pollfd p = { .fd = sf_netconn_fd(s->conn), .events = POLLRDHUP };
        long long left = deadline - now;
        poll(&p, 1, left < nap ? (int)left : nap);
        nap = nap < 16 ? nap * 2 : 16;
    }
    return s->npend;
}

/* v with room for one more element of size elem (capacity *cap), or NULL
 * when out of memory (v is then still valid and unchanged). */
static void *grow(void *v, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(v, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

/* Write the frames gathered in batch; on success their ids become pending. */
static sf_err write_chunk(struct sf_output *o)
{
    struct syslog_ctx *s = o->ctx;
    sf_err err;

    if (!s->batch.len)
        return SF_OK;
    err = sf_netconn_write(s->conn, s->batch.data, s->batch.len, s->conf.write_timeout,
                           s->err, sizeof(s->err));
    if (err) {
        fail_all(o, s->err);
        return err;
    }
    struct pending p = { .wire_end = sf_netconn_wire_written(s->conn),
                         .written_at = sf_mono_ms() };
    for (size_t i = 0; i < s->nchunk; i++) {
        p.id = s->chunk[i];
        struct pending *np = grow(s->pend, s->npend, &s->cappend, sizeof(p));
        if (!np) {
            /* Out of memory keeping the id: nothing may be lost, resend all. */
            snprintf(s->err, sizeof(s->err), "out of memory tracking sent records");
            for (size_t j = i; j < s->nchunk; j++)
                verdict(o, s->chunk[j], SF_V_RETRY, s->err);
            break;
        }
        s->pend = np;
        s->pend[s->npend++] = p;
    }
    s->nchunk = 0;
    sf_buf_reset(&s->batch);
    return SF_OK;
}

/* Make sure a healthy connection is open; SF_OK or a network error. */
static sf_err ensure_conn(struct sf_output *o)
{
    struct syslog_ctx *s = o->ctx;
    long long t0 = sf_mono_ms(), took;
    sf_err err;

    if (sf_netconn_is_open(s->conn)) {
        if (!sf_netconn_check(s->conn, s->err, sizeof(s->err)))
            return SF_OK;
        fail_all(o, s->err);
    }
    err = sf_netconn_connect(s->conn, s->err, sizeof(s->err));
    took = sf_mono_ms() - t0;
    s->trusted_at = sf_mono_ms() + (took * 2 > 250 ? took * 2 : 250);
    return err;
}

/* Frame one record. 1 framed into batch, 0 a verdict was given instead. */
static int frame_one(struct sf_output *o, const struct sf_msg *m, int64_t now, int down)
{
    struct syslog_ctx *s = o->ctx;
    char why[256];
    size_t mark = s->batch.len;
    sf_err err = sf_syslog_frame(&s->fmt, now, m->data, m->len,
                                 (size_t)s->conf.max_message, &s->batch, why, sizeof(why));

    if (err == SF_ERR_LIMIT || err == SF_ERR_INVALID) {
        verdict(o, m->id, SF_V_REJECTED, why);
        return 0;
    }
    uint64_t *nc = err || down ? NULL : grow(s->chunk, s->nchunk, &s->capchunk, sizeof(m->id));
    if (!nc) {
        sf_buf_truncate(&s->batch, mark);
        if (down)
            verdict(o, m->id, SF_V_RECONNECT, s->err);
        else
            verdict(o, m->id, SF_V_RETRY, "out of memory framing the record");
        return 0;
    }
    s->chunk = nc;
    s->chunk[s->nchunk++] = m->id;
    return 1;
}

static sf_err syslog_send(struct sf_output *o, const struct sf_msg *msgs, size_t n)
{
    struct syslog_ctx *s = o->ctx;
    int64_t now = wall_ms(s);
    sf_err err = ensure_conn(o);
    int down = err != SF_OK;

    for (size_t i = 0; i < n; i++) {
        if (!frame_one(o, &msgs[i], now, down))
            continue;
        if (s->batch.len >= CHUNK_BYTES && write_chunk(o)) {
            err = SF_ERR_NETWORK;
            down = 1;
        }
    }
    if (!down && write_chunk(o)) {
        err = SF_ERR_NETWORK;
        down = 1;
    }
    /* Verdicts for what was written come from poll/flush, which check the
     * connection before trusting an ACK. */
    return down ? (err ? err : SF_ERR_NETWORK) : SF_OK;
}

static void syslog_poll(struct sf_output *o, int timeout_ms)
{
    struct syslog_ctx *s = o->ctx;

    if (s->npend) {
        settle(o, timeout_ms);
        return;
    }
    /* Idle: notice a receiver that went away, so the next send reconnects. */
    if (sf_netconn_is_open(s->conn)) {
        struct pollfd p = { .fd = sf_netconn_fd(s->conn), .events = POLLIN | POLLRDHUP };
        if (poll(&p, 1, timeout_ms > 0 ? timeout_ms : 0) > 0 &&
            sf_netconn_check(s->conn, s->err, sizeof(s->err)))
            sf_netconn_close(s->conn);
    }
}

static size_t syslog_flush(struct sf_output *o, int timeout_ms)
{
    return settle(o, timeout_ms);
}

static sf_err syslog_start(struct sf_output *o, char *errbuf, size_t errlen)
{
    struct syslog_ctx *s = o->ctx;
    sf_err err = ensure_conn(o);

    if (err)
        sf_errf(errbuf, errlen, "syslog output '%s': %s", o->name ? o->name : "?", s->err);
    return err ? SF_ERR_NETWORK : SF_OK;
}

static void syslog_destroy(struct sf_output *o)
{
    struct syslog_ctx *s = o->ctx;

    if (!s)
        return;
    sf_netconn_free(s->conn);
    sf_buf_free(&s->batch);
    free(s->chunk);
    free(s->pend);
    free(s->hostname);
    sf_conf_release(table, &s->conf);
    sf_tls_release(&s->tlsc);
    sf_conf_release(pin_table, &s->pin);
    free(s);
    o->ctx = NULL;
}

void sf_syslog_test_fix(struct sf_output *o, int64_t now_ms, long pid)
{
    struct syslog_ctx *s = o->ctx;

    s->fixed_now = now_ms >= 0 ? now_ms : -1;
    s->fmt.pid = pid >= 0 ? pid : (long)getpid();
}

/* This host's name made fit for HOSTNAME: PRINTUSASCII, <= 255 bytes. */
static char *local_hostname(void)
{
    char name[256] = "";

    if (gethostname(name, sizeof(name) - 1) < 0 || !name[0])
        strcpy(name, "-");
    for (char *p = name; *p; p++)
        if ((unsigned char)*p < 33 || (unsigned char)*p > 126)
            *p = '-';
    return strdup(name);
}

static void key_error(struct sf_buf *errs, const struct sf_node *cfg, const char *path,
                      const char *key, const char *msg)
{
    const struct sf_node *node = sf_node_get(cfg, key);
    char kp[256];

    snprintf(kp, sizeof(kp), "%s%s%s", path, *path ? "." : "", key);
    sf_conf_error(errs, node ? node : cfg, kp, "%s", msg);
}

/* Header fields from the bound config; SF_ERR_CONFIG after reporting. */
static sf_err build_fmt(struct syslog_ctx *s, const struct sf_node *cfg, const char *path,
                        struct sf_buf *errs)
{
    struct syslog_conf *c = &s->conf;
    struct sf_syslog_fmt *f = &s->fmt;
    int bad = 0, tls = strcmp(c->transport, "tls") == 0;
    const char *framing = c->framing ? c->framing : tls ? "octet-counting" : "lf";

    f->framing = strcmp(framing, "lf") == 0 ? SF_SYSLOG_LF : SF_SYSLOG_OCTET;
    f->header = strcmp(c->header, "rfc3164") == 0 ? SF_SYSLOG_RFC3164
              : strcmp(c->header, "none") == 0 ? SF_SYSLOG_NOHEADER : SF_SYSLOG_RFC5424;
    f->facility = sf_syslog_facility(c->facility);
    f->severity = sf_syslog_severity(c->severity);
    f->pid = (long)getpid();
    f->msgid = c->msgid;
    f->app_name = c->app_name;
    s->hostname = c->hostname ? strdup(c->hostname) : local_hostname();
    if (!s->hostname)
        return SF_ERR_NOMEM;
    f->hostname = s->hostname;
    if (c->tls && !tls && (bad = 1))
        key_error(errs, cfg, path, "tls", "tls settings given but transport is tcp; "
                  "set transport: tls");
    if (c->hostname && sf_syslog_check_field(c->hostname, 255) && (bad = 1))
        key_error(errs, cfg, path, "hostname", "must be 1..255 printable ASCII "
                  "characters without spaces (RFC 5424 HOSTNAME)");
    if (sf_syslog_check_field(c->msgid, 32) && (bad = 1))
        key_error(errs, cfg, path, "msgid", "must be 1..32 printable ASCII characters "
                  "without spaces (RFC 5424 MSGID)");
    if (f->header == SF_SYSLOG_RFC3164
        ? (sf_syslog_check_field(c->app_name, 32) || strpbrk(c->app_name, ":[]"))
        : sf_syslog_check_field(c->app_name, 48)) {
        bad = 1;
        key_error(errs, cfg, path, "app_name", f->header == SF_SYSLOG_RFC3164
                  ? "must be 1..32 printable ASCII characters without spaces, ':', "
                    "'[' or ']' (RFC 3164 TAG)"
                  : "must be 1..48 printable ASCII characters without spaces "
                    "(RFC 5424 APP-NAME)");
    }
    if (!bad && sf_syslog_header_max(f) + 1 > (size_t)c->max_message && (bad = 1))
        key_error(errs, cfg, path, "max_message", "leaves no room for a record after "
                  "the syslog header");
    return bad ? SF_ERR_CONFIG : SF_OK;
}

static sf_err build_conn(struct syslog_ctx *s, const struct sf_node *cfg, const char *path,
                         struct sf_buf *errs)
{
    char why[512];
    struct sf_netconn_opts no = {
        .address = s->conf.address,
        .tls = strcmp(s->conf.transport, "tls") == 0,
        .connect_timeout_ms = s->conf.connect_timeout,
        .ca_file = s->tlsc.ca_file,
        .cert_file = s->tlsc.cert_file,
        .key_file = s->tlsc.key_file,
        .server_name = s->tlsc.server_name,
        .verify = s->tlsc.verify,
        .fingerprint_sha256 = s->pin.fingerprint_sha256,
    };
    sf_err err = sf_netconn_new(&no, &s->conn, why, sizeof(why));

    if (err == SF_ERR_CONFIG) {
        /* Address problems belong to address:, everything else to tls:. */
        char *host = NULL, *port = NULL;
        int addr_bad = sf_netconn_parse_address(no.address, &host, &port, NULL, 0) != SF_OK;
        free(host);
        free(port);
        key_error(errs, cfg, path, addr_bad ? "address" : "tls", why);
    }
    return err;
}

static sf_err syslog_init(struct sf_output *o, const struct sf_node *cfg, const char *path,
                          struct sf_buf *errs)
{
    struct syslog_ctx *s = calloc(1, sizeof(*s));
    char tpath[256];
    sf_err err, terr;

    if (!s)
        return SF_ERR_NOMEM;
    s->fixed_now = -1;
    sf_buf_init(&s->batch, 0);
    o->ctx = s;
    path = path ? path : "";
    err = sf_conf_bind(cfg, path, table, sf_output_common_keys, &s->conf, errs);
    snprintf(tpath, sizeof(tpath), "%s%stls", path, *path ? "." : "");
    struct sf_tls_bind_opts to = { .who = o->name, .extra = pin_keys };
    terr = sf_tls_bind(cfg, path, &to, &s->tlsc, errs);
    if (!terr && s->conf.tls && !sf_node_is_null(s->conf.tls))
        terr = sf_conf_bind(s->conf.tls, tpath, pin_table, shared_tls_keys, &s->pin, errs);
    if (err == SF_ERR_NOMEM || terr == SF_ERR_NOMEM)
        err = SF_ERR_NOMEM;
    else if (!err)
        err = terr;
    if (!err)
        err = build_fmt(s, cfg, path, errs);
    if (!err)
        err = build_conn(s, cfg, path, errs);
    if (!err)
        o->max_record = (size_t)s->conf.max_message - sf_syslog_header_max(&s->fmt);
    if (err)
        syslog_destroy(o);
    return err;
}

const struct sf_output_type sf_output_syslog = {
    .name = "syslog",
    .init = syslog_init,
    .start = syslog_start,
    .send = syslog_send,
    .poll = syslog_poll,
    .flush = syslog_flush,
    .destroy = syslog_destroy,
};
