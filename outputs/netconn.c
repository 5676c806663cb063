/* netconn.c - client TCP/TLS connection shared by outputs (sf_netconn.h):
 * connect and handshake with a deadline, non-blocking I/O driven by poll(),
 * peer-close detection, TCP-level acknowledgement (SIOCOUTQ).
 * Does not frame, retry or log. The connection owns its SSL_CTX, SSL and fd. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd shows events or deadline (monotonic ms) passes.
 * Returns revents, 0 on timeout. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = { .fd = fd, .events = events };
        int rc = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (rc > 0)
            return p.revents;
        if (rc < 0 && errno != EINTR)
            return POLLERR;
    }
}

/* OpenSSL's socket BIO writes with write(2): a peer reset would raise
 * SIGPIPE. Block it in this thread around SSL calls and swallow one raised
 * meanwhile (thread-local, unlike changing the process-wide handler). */
struct pipe_guard {
    sigset_t old;
    int was_pending;
};

static void guard_on(struct pipe_guard *g)
{
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pend);
    g->was_pending = sigismember(&pend, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void guard_off(struct pipe_guard *g)
{
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pend);
    if (!g->was_pending && sigismember(&pend, SIGPIPE)) {
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void ssl_errf(char *errbuf, size_t errlen, const char *what, const char *addr)
{
    char detail[256] = "unknown TLS error";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, detail, sizeof(detail));
    else if (errno)
        snprintf(detail, sizeof(detail), "%s", strerror(errno));
    sf_errf(errbuf, errlen, "%s %s: %s", what, addr, detail);
    ERR_clear_error();
}

static int is_ip_literal(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int parse_port(const char *s)
{
    long v = 0;
    if (!*s || strlen(s) > 5)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= 65535 ? (int)v : -1;
}

sf_err sf_netconn_parse_address(const char *address, char **host, char **port,
                                char *errbuf, size_t errlen)
{
    const char *h, *he, *p;

    if (!address || !*address) {
        sf_errf(errbuf, errlen, "address is empty; expected host:port");
        return SF_ERR_CONFIG;
    }
    if (address[0] == '[') {
        h = address + 1;
        he = strchr(h, ']');
        if (!he || he[1] != ':') {
            sf_errf(errbuf, errlen, "'%s': expected [ipv6-address]:port", address);
            return SF_ERR_CONFIG;
        }
        p = he + 2;
    } else {
        h = address;
        he = strrchr(address, ':');
        if (!he) {
            sf_errf(errbuf, errlen, "'%s': missing port; expected host:port", address);
            return SF_ERR_CONFIG;
        }
        if (memchr(address, ':', (size_t)(he - address))) {
            sf_errf(errbuf, errlen, "'%s': an IPv6 address needs brackets: [addr]:port",
                    address);
            return SF_ERR_CONFIG;
        }
        p = he + 1;
    }
    if (he == h) {
        sf_errf(errbuf, errlen, "'%s': empty host name", address);
        return SF_ERR_CONFIG;
    }
    if (parse_port(p) < 0) {
        sf_errf(errbuf, errlen, "'%s': port '%s' is not a number in 1..65535", address, p);
        return SF_ERR_CONFIG;
    }
    *host = strndup(h, (size_t)(he - h));
    *port = strdup(p);
    if (!*host || !*port) {
        free(*host);
        free(*port);
        *host = *port = NULL;
        return SF_ERR_NOMEM;
    }
    return SF_OK;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int sf_netconn_parse_fingerprint(const char *text, unsigned char out[32])
{
    size_t n = 0;
    const char *s = text;

    if (!s)
        return -1;
    if (strncasecmp(s, "sha256:", 7) == 0 || strncasecmp(s, "sha-256:", 8) == 0)
        s = strchr(s, ':') + 1;
    while (*s) {
        if (*s == ':' || *s == ' ') {
            s++;
            continue;
        }
        int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0 || n == 32)
            return -1;
        out[n++] = (unsigned char)(hi << 4 | lo);
        s += 2;
    }
    return n == 32 ? 0 : -1;
}

static sf_err build_ctx(struct sf_netconn *c, const struct sf_netconn_opts *opts,
                        char *errbuf, size_t errlen)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        ssl_errf(errbuf, errlen, "cannot create TLS context for", c->address);
        return SF_ERR_NOMEM;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (opts->verify) {
        int ok = opts->ca_file
            ? SSL_CTX_load_verify_locations(c->ctx, opts->ca_file, NULL)
            : SSL_CTX_set_default_verify_paths(c->ctx);
        if (ok != 1) {
            sf_errf(errbuf, errlen, "cannot load CA file '%s' for %s",
                    opts->ca_file ? opts->ca_file : "(system default)", c->address);
            ERR_clear_error();
            return SF_ERR_CONFIG;
        }
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
    }
    if (!opts->cert_file != !opts->key_file) {
        sf_errf(errbuf, errlen, "cert_file and key_file must be given together");
        return SF_ERR_CONFIG;
    }
    if (opts->cert_file) {
        if (SSL_CTX_use_certificate_chain_file(c->ctx, opts->cert_file) != 1) {
            ssl_errf(errbuf, errlen, "cannot load client certificate for", opts->cert_file);
            return SF_ERR_CONFIG;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ctx, opts->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(c->ctx) != 1) {
            ssl_errf(errbuf, errlen, "cannot use private key (or it does not match "
                     "the certificate)", opts->key_file);
            return SF_ERR_CONFIG;
        }
    }
    return SF_OK;
}

static char *dup_opt(const char *s, int *oom)
{
    char *d;
    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *oom = 1;
    return d;
}

sf_err sf_netconn_new(const struct sf_netconn_opts *opts, struct sf_netconn **out,
                      char *errbuf, size_t errlen)
{
    sf_err err = SF_ERR_NOMEM;
    int oom = 0;
    struct sf_netconn *c = calloc(1, sizeof(*c));

    if (!c)
        goto out;
    c->fd = -1;
    c->tls = opts->tls;
    c->verify = opts->verify;
    c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 10000;
    c->address = dup_opt(opts->address, &oom);
    c->server_name = dup_opt(opts->server_name, &oom);
    if (oom)
        goto out;
    err = sf_netconn_parse_address(opts->address, &c->host, &c->port, errbuf, errlen);
    if (err)
        goto out;
    if (opts->fingerprint_sha256) {
        if (sf_netconn_parse_fingerprint(opts->fingerprint_sha256, c->fp) < 0) {
            sf_errf(errbuf, errlen, "fingerprint_sha256 '%s' is not 32 hex bytes "
                    "(AB:CD:... or abcd...)", opts->fingerprint_sha256);
            err = SF_ERR_CONFIG;
            goto out;
        }
        c->has_fp = 1;
    }
    if (c->tls)
        err = build_ctx(c, opts, errbuf, errlen);
out:
    if (err) {
        sf_netconn_free(c);
        c = NULL;
    }
    *out = c;
    return err;
}

void sf_netconn_free(struct sf_netconn *c)
{
    if (!c)
        return;
    sf_netconn_close(c);
    SSL_CTX_free(c->ctx);
    free(c->address);
    free(c->host);
    free(c->port);
    free(c->server_name);
    free(c);
}

void sf_netconn_close(struct sf_netconn *c)
{
    if (c->ssl) {
        struct pipe_guard g;
        guard_on(&g);
        SSL_shutdown(c->ssl);   /* close_notify; not waiting for the reply */
        guard_off(&g);
        SSL_free(c->ssl);
        c->ssl = NULL;
        ERR_clear_error();
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->written = 0;
}

int sf_netconn_is_open(const struct sf_netconn *c)
{
    return c->fd >= 0;
}

/* Non-blocking connect to one address; returns fd or -1 with errno set. */
static int connect_one(const struct addrinfo *ai, long long deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno == EINPROGRESS) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (!wait_fd(fd, POLLOUT, deadline))
            soerr = ETIMEDOUT;
        else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (!soerr)
            return fd;
        errno = soerr;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

static sf_err tcp_connect(struct sf_netconn *c, long long deadline,
                          char *errbuf, size_t errlen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
    struct addrinfo *res = NULL;
    int one = 1, saved = ECONNREFUSED;

    int rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc) {
        sf_errf(errbuf, errlen, "cannot resolve %s: %s", c->address, gai_strerror(rc));
        return SF_ERR_NETWORK;
    }
    for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        c->fd = connect_one(ai, deadline);
        if (c->fd < 0)
            saved = errno;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        sf_errf(errbuf, errlen, "cannot connect to %s: %s", c->address, strerror(saved));
        return saved == ETIMEDOUT ? SF_ERR_TIMEOUT : SF_ERR_NETWORK;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    return SF_OK;
}

/* Wait for what SSL asked for (want = SSL_get_error result). 1 ready, 0 not. */
static int wait_ssl(struct sf_netconn *c, int want, long long deadline)
{
    short ev = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
    return wait_fd(c->fd, ev, deadline) != 0;
}

static sf_err check_fingerprint(struct sf_netconn *c, char *errbuf, size_t errlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    int ok = cert && X509_digest(cert, EVP_sha256(), md, &mdlen) == 1 && mdlen == 32 &&
             memcmp(md, c->fp, 32) == 0;

    X509_free(cert);
    if (ok)
        return SF_OK;
    sf_errf(errbuf, errlen, "TLS peer %s: certificate SHA-256 fingerprint does not "
            "match fingerprint_sha256", c->address);
    return SF_ERR_NETWORK;
}

static sf_err tls_setup(struct sf_netconn *c, char *errbuf, size_t errlen)
{
    const char *name = c->server_name ? c->server_name : c->host;
    int ip = is_ip_literal(name);

    c->ssl = SSL_new(c->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        ssl_errf(errbuf, errlen, "cannot create TLS session for", c->address);
        return SF_ERR_NOMEM;
    }
    if (!ip && SSL_set_tlsext_host_name(c->ssl, name) != 1) {
        ssl_errf(errbuf, errlen, "cannot set TLS server name for", c->address);
        return SF_ERR_NETWORK;
    }
    if (c->verify) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) : SSL_set1_host(c->ssl, name);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (ok != 1) {
            ssl_errf(errbuf, errlen, "cannot set the name to verify for", c->address);
            return SF_ERR_NETWORK;
        }
    }
    return SF_OK;
}

static sf_err tls_handshake(struct sf_netconn *c, long long deadline,
                            char *errbuf, size_t errlen)
{
    struct pipe_guard g;
    sf_err err = tls_setup(c, errbuf, errlen);

    if (err)
        return err;
    ERR_clear_error();
    guard_on(&g);
    for (;;) {
        errno = 0;
        int rc = SSL_connect(c->ssl);
        if (rc == 1)
            break;
        int e = SSL_get_error(c->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (wait_ssl(c, e, deadline))
                continue;
            sf_errf(errbuf, errlen, "TLS handshake with %s timed out", c->address);
            err = SF_ERR_TIMEOUT;
        } else if (SSL_get_verify_result(c->ssl) != X509_V_OK) {
            sf_errf(errbuf, errlen, "TLS handshake with %s: certificate verification "
                    "failed: %s", c->address,
                    X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)));
            err = SF_ERR_NETWORK;
        } else {
            ssl_errf(errbuf, errlen, "TLS handshake failed with", c->address);
            err = SF_ERR_NETWORK;
        }
        break;
    }
    guard_off(&g);
    ERR_clear_error();
    if (!err && c->has_fp)
        err = check_fingerprint(c, errbuf, errlen);
    return err;
}

sf_err sf_netconn_connect(struct sf_netconn *c, char *errbuf, size_t errlen)
{
    long long deadline = now_ms() + c->connect_timeout_ms;
    sf_err err;

    sf_netconn_close(c);
    err = tcp_connect(c, deadline, errbuf, errlen);
    if (!err && c->tls)
        err = tls_handshake(c, deadline, errbuf, errlen);
    if (err)
        sf_netconn_close(c);
    return err;
}

static sf_err tcp_write(struct sf_netconn *c, const char *p, size_t len,
                        long long deadline, char *errbuf, size_t errlen)
{
    while (len) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            c->written += (uint64_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(c->fd, POLLOUT, deadline)) {
                sf_errf(errbuf, errlen, "write to %s timed out (%zu bytes left)",
                        c->address, len);
                return SF_ERR_TIMEOUT;
            }
        } else if (n < 0 && errno != EINTR) {
            sf_errf(errbuf, errlen, "write to %s failed: %s", c->address, strerror(errno));
            return SF_ERR_NETWORK;
        }
    }
    return SF_OK;
}

static sf_err tls_write(struct sf_netconn *c, const char *p, size_t len,
                        long long deadline, char *errbuf, size_t errlen)
{
    struct pipe_guard g;
    sf_err err = SF_OK;

    ERR_clear_error();
    guard_on(&g);
    while (len && !err) {
        int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
        errno = 0;
        int n = SSL_write(c->ssl, p, chunk);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!wait_ssl(c, e, deadline)) {
                sf_errf(errbuf, errlen, "TLS write to %s timed out (%zu bytes left)",
                        c->address, len);
                err = SF_ERR_TIMEOUT;
            }
        } else {
            ssl_errf(errbuf, errlen, "TLS write failed to", c->address);
            err = SF_ERR_NETWORK;
        }
    }
    guard_off(&g);
    return err;
}

sf_err sf_netconn_write(struct sf_netconn *c, const void *data, size_t len,
                        long long timeout_ms, char *errbuf, size_t errlen)
{
    long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    if (c->fd < 0) {
        sf_errf(errbuf, errlen, "connection to %s is closed", c->address);
        return SF_ERR_NETWORK;
    }
    if (c->tls)
        return tls_write(c, data, len, deadline, errbuf, errlen);
    return tcp_write(c, data, len, deadline, errbuf, errlen);
}

/* Drain what the peer sent. 1 healthy, 0 closed/failed (errbuf set). */
static int drain_tcp(struct sf_netconn *c, char *errbuf, size_t errlen)
{
    char buf[4096];
    for (int i = 0; i < 64; i++) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0) {
            sf_errf(errbuf, errlen, "%s closed the connection", c->address);
            return 0;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 1;
        sf_errf(errbuf, errlen, "connection to %s failed: %s", c->address, strerror(errno));
        return 0;
    }
    return 1;
}

static int drain_tls(struct sf_netconn *c, char *errbuf, size_t errlen)
{
    char buf[4096];
    struct pipe_guard g;
    int ok = 1;

    ERR_clear_error();
    guard_on(&g);
    for (int i = 0; i < 64; i++) {
        errno = 0;
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n > 0)
            continue;
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        ok = 0;
        if (e == SSL_ERROR_ZERO_RETURN)
            sf_errf(errbuf, errlen, "%s closed the TLS session", c->address);
        else if (e == SSL_ERROR_SYSCALL && !ERR_peek_error())
            sf_errf(errbuf, errlen, "%s closed the connection%s%s", c->address,
                    errno ? ": " : "", errno ? strerror(errno) : "");
        else
            ssl_errf(errbuf, errlen, "TLS read failed from", c->address);
        break;
    }
    guard_off(&g);
    ERR_clear_error();
    return ok;
}

sf_err sf_netconn_check(struct sf_netconn *c, char *errbuf, size_t errlen)
{
    struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

    if (c->fd < 0) {
        sf_errf(errbuf, errlen, "connection to %s is closed", c->address);
        return SF_ERR_NETWORK;
    }
    if (poll(&p, 1, 0) < 0)
        return errno == EINTR ? SF_OK : SF_ERR_NETWORK;
    if (p.revents & POLLERR) {
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        sf_errf(errbuf, errlen, "connection to %s failed: %s", c->address,
                strerror(soerr ? soerr : ECONNRESET));
        return SF_ERR_NETWORK;
    }
    if (!(p.revents & (POLLIN | POLLRDHUP | POLLHUP)) && !(c->ssl && SSL_pending(c->ssl)))
        return SF_OK;
    if (c->tls ? drain_tls(c, errbuf, errlen) : drain_tcp(c, errbuf, errlen)) {
        if (!(p.revents & (POLLRDHUP | POLLHUP)))
            return SF_OK;
        sf_errf(errbuf, errlen, "%s closed the connection", c->address);
    }
    return SF_ERR_NETWORK;
}

uint64_t sf_netconn_wire_written(const struct sf_netconn *c)
{
    if (c->ssl)
        return BIO_number_written(SSL_get_wbio(c->ssl));
    return c->written;
}

sf_err sf_netconn_wire_acked(const struct sf_netconn *c, uint64_t *acked)
{
    int outq = 0;
    uint64_t written = sf_netconn_wire_written(c);

    *acked = 0;
    if (c->fd < 0 || ioctl(c->fd, SIOCOUTQ, &outq) < 0)
        return SF_ERR_NETWORK;
    *acked = (uint64_t)outq > written ? 0 : written - (uint64_t)outq;
    return SF_OK;
}

int sf_netconn_fd(const struct sf_netconn *c)
{
    return c->fd;
}

const char *sf_netconn_address(const struct sf_netconn *c)
{
    return c->address;
}
