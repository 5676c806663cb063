/* netconn.c - client TCP/TLS connection shared by outputs (sf_netconn.h):
 * connect and handshake with a deadline, non-blocking I/O driven by poll(),
 * peer-close detection, TCP-level acknowledgement (SIOCOUTQ).
 * TLS itself is in netconn_tls.c. Does not frame, retry or log. The
 * connection owns its SSL_CTX, SSL and fd. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sf_clock.h"
#include "netconn_int.h"

long long sf_netconn_now_ms(void)
{
    return sf_mono_ms();
}

/* Wait until fd shows events or deadline (monotonic ms) passes.
 * Returns revents, 0 on timeout. */
int sf_netconn_wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - sf_netconn_now_ms();
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
        err = sf_netconn_tls_ctx(c, opts, errbuf, errlen);
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
    sf_netconn_tls_close(c);
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
        if (!sf_netconn_wait_fd(fd, POLLOUT, deadline))
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
sf_err sf_netconn_connect(struct sf_netconn *c, char *errbuf, size_t errlen)
{
    long long deadline = sf_netconn_now_ms() + c->connect_timeout_ms;
    sf_err err;

    sf_netconn_close(c);
    err = tcp_connect(c, deadline, errbuf, errlen);
    if (!err && c->tls)
        err = sf_netconn_tls_handshake(c, deadline, errbuf, errlen);
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
            if (!sf_netconn_wait_fd(c->fd, POLLOUT, deadline)) {
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

sf_err sf_netconn_write(struct sf_netconn *c, const void *data, size_t len,
                        long long timeout_ms, char *errbuf, size_t errlen)
{
    long long deadline = sf_netconn_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    if (c->fd < 0) {
        sf_errf(errbuf, errlen, "connection to %s is closed", c->address);
        return SF_ERR_NETWORK;
    }
    if (c->tls)
        return sf_netconn_tls_write(c, data, len, deadline, errbuf, errlen);
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
    if (c->tls ? sf_netconn_tls_drain(c, errbuf, errlen) : drain_tcp(c, errbuf, errlen)) {
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
