/* netconn_int.h - internals shared by netconn.c (TCP, public API) and
 * netconn_tls.c (OpenSSL). Not for other modules: use sf_netconn.h. */
#ifndef NETCONN_INT_H
#define NETCONN_INT_H

#include <openssl/ssl.h>
#include "sf_netconn.h"

struct sf_netconn {
    char *address;            /* owned: as configured */
    char *host, *port;        /* owned: split address */
    char *server_name;        /* owned: SNI / verified name, or NULL */
    int tls;
    int verify;
    int has_fp;
    unsigned char fp[32];
    long long connect_timeout_ms;
    SSL_CTX *ctx;             /* owned, TLS only */
    SSL *ssl;                 /* owned while connected (TLS) */
    int fd;                   /* owned while connected, else -1 */
    uint64_t written;         /* plain TCP: bytes sent since connect */
};

long long sf_netconn_now_ms(void);
/* revents of fd for events before deadline (monotonic ms), 0 on timeout. */
int sf_netconn_wait_fd(int fd, short events, long long deadline);

/* TLS half (netconn_tls.c); all report errors as sentences in errbuf. */
sf_err sf_netconn_tls_ctx(struct sf_netconn *c, const struct sf_netconn_opts *opts,
                          char *errbuf, size_t errlen);
sf_err sf_netconn_tls_handshake(struct sf_netconn *c, long long deadline,
                                char *errbuf, size_t errlen);
sf_err sf_netconn_tls_write(struct sf_netconn *c, const char *p, size_t len,
                            long long deadline, char *errbuf, size_t errlen);
/* 1 healthy, 0 closed or failed (errbuf set). */
int sf_netconn_tls_drain(struct sf_netconn *c, char *errbuf, size_t errlen);
/* Send close_notify (no wait) and free the session. */
void sf_netconn_tls_close(struct sf_netconn *c);

#endif
