/* sf_netconn.h - one client TCP connection, optionally TLS (OpenSSL, TLS 1.2+),
 * for any output: connect with a deadline, non-blocking writes with a
 * deadline, peer-close detection and "how much did the peer's TCP ACK".
 * No framing, no retry policy, no threads: one owner thread per connection.
 *
 * TLS: chain verification against ca_file (or the system store), SNI and
 * host-name verification (server_name, else the address host) are ON unless
 * verify is explicitly 0. fingerprint_sha256 pins the leaf certificate
 * (checked whether verify is on or off; with verify off it is the only
 * authentication, which is how a self-signed receiver is accepted). */
#ifndef SF_NETCONN_H
#define SF_NETCONN_H

#include <stddef.h>
#include <stdint.h>
#include "sf_err.h"

struct sf_netconn_opts {
    const char *address;            /* "host:port" or "[v6addr]:port" (required) */
    int tls;                        /* 0 plain TCP, 1 TLS */
    long long connect_timeout_ms;   /* TCP connect + TLS handshake; <= 0: 10 s */
    const char *ca_file;            /* NULL: system default trust store */
    const char *cert_file;          /* client certificate chain (PEM), mutual TLS */
    const char *key_file;           /* its private key (PEM); both or neither */
    const char *server_name;        /* SNI + name to verify; NULL: address host */
    int verify;                     /* 1: chain + host name; 0 only if asked */
    const char *fingerprint_sha256; /* hex, colons optional, "sha256:" prefix ok */
};

struct sf_netconn;

/* Split "host:port" / "[v6]:port" into *host and *port (malloc'ed, caller
 * frees). SF_ERR_CONFIG with a sentence in errbuf when malformed. */
sf_err sf_netconn_parse_address(const char *address, char **host, char **port,
                                char *errbuf, size_t errlen);

/* Parse a SHA-256 fingerprint text into 32 bytes. 0 ok, -1 malformed. */
int sf_netconn_parse_fingerprint(const char *text, unsigned char out[32]);

/* Validate opts and prepare (TLS: load CA, client cert and key now, so
 * config errors surface before any network I/O). opts strings are copied.
 * *out is owned by the caller (sf_netconn_free). No network I/O. */
sf_err sf_netconn_new(const struct sf_netconn_opts *opts, struct sf_netconn **out,
                      char *errbuf, size_t errlen);
void sf_netconn_free(struct sf_netconn *c);

/* Resolve, connect (each address in turn) and, for TLS, handshake and
 * authenticate, all within connect_timeout. Closes a previous connection
 * first. SF_ERR_NETWORK / SF_ERR_TIMEOUT with the address in errbuf. */
sf_err sf_netconn_connect(struct sf_netconn *c, char *errbuf, size_t errlen);
int sf_netconn_is_open(const struct sf_netconn *c);
/* Close (TLS: send close_notify without waiting for the answer). Idempotent. */
void sf_netconn_close(struct sf_netconn *c);

/* Write all len bytes or fail: SF_ERR_NETWORK (peer gone, reset, TLS error)
 * or SF_ERR_TIMEOUT (not all bytes accepted within timeout_ms). After a
 * failure the connection is unusable; close it. Never raises SIGPIPE. */
sf_err sf_netconn_write(struct sf_netconn *c, const void *data, size_t len,
                        long long timeout_ms, char *errbuf, size_t errlen);

/* Zero-wait health check: reads and discards anything the peer sent
 * (receivers of syslog send nothing; TLS may send tickets), SF_OK while the
 * connection is healthy, SF_ERR_NETWORK with the reason once the peer closed
 * (FIN, close_notify) or reset it. */
sf_err sf_netconn_check(struct sf_netconn *c, char *errbuf, size_t errlen);

/* Bytes handed to the socket since connect (TLS: encrypted bytes on the
 * wire), and how many of those the peer's TCP stack has acknowledged
 * (written minus the kernel's unacknowledged send queue, SIOCOUTQ). */
uint64_t sf_netconn_wire_written(const struct sf_netconn *c);
sf_err sf_netconn_wire_acked(const struct sf_netconn *c, uint64_t *acked);

/* Socket descriptor for poll(), -1 when closed. */
int sf_netconn_fd(const struct sf_netconn *c);
/* "host:port" as configured (for messages); owned by c. */
const char *sf_netconn_address(const struct sf_netconn *c);

#endif
