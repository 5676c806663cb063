/* netconn_tls.c - the OpenSSL half of netconn: context (trust, client
 * certificate), handshake with SNI, host-name and fingerprint checks, writes
 * and reads that never raise SIGPIPE. Does no TCP connect and no framing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "netconn_int.h"

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

sf_err sf_netconn_tls_ctx(struct sf_netconn *c, const struct sf_netconn_opts *opts,
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

static int wait_ssl(struct sf_netconn *c, int want, long long deadline)
{
    short ev = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
    return sf_netconn_wait_fd(c->fd, ev, deadline) != 0;
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

sf_err sf_netconn_tls_handshake(struct sf_netconn *c, long long deadline,
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

sf_err sf_netconn_tls_write(struct sf_netconn *c, const char *p, size_t len,
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

int sf_netconn_tls_drain(struct sf_netconn *c, char *errbuf, size_t errlen)
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

void sf_netconn_tls_close(struct sf_netconn *c)
{
    struct pipe_guard g;

    if (!c->ssl)
        return;
    guard_on(&g);
    SSL_shutdown(c->ssl);   /* close_notify; not waiting for the reply */
    guard_off(&g);
    SSL_free(c->ssl);
    c->ssl = NULL;
    ERR_clear_error();
}
