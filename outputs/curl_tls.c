/* curl_tls.c - one bound tls: block onto a libcurl handle (sf_curl_tls.h):
 * every HTTP and SMTP peer gets the same verification, trust and client
 * certificate handling, and the same CA-path speed-up. */
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "sf_curl_tls.h"

#define SYSTEM_CA_PATH "/etc/ssl/certs"

/* Deprecated http.ca_file: add the file to the store curl already filled
 * from the system trust, so it is extra trust (CURLOPT_CAINFO replaces). */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *ud)
{
    const char *file = ud;
    X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);

    (void)curl;
    if (!store || X509_STORE_load_file(store, file) != 1) {
        ERR_clear_error();
        return CURLE_SSL_CACERT_BADFILE;
    }
    return CURLE_OK;
}

sf_err sf_curl_tls_apply(CURL *e, const struct sf_tls_conf *t, char *errbuf, size_t errlen)
{
    int verify = t ? t->verify : 1;
    const char *ca = t ? t->ca_file : NULL;
    CURLcode rc = CURLE_OK;

    rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    rc |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (ca && !t->ca_add) {
        /* these CAs instead of the system store */
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO, ca);
        rc |= curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    } else if (access(SYSTEM_CA_PATH, R_OK | X_OK) == 0) {
        /* The system store through its hashed directory, which OpenSSL reads
         * lazily, rather than the bundle file, which every new connection
         * would otherwise parse whole: ~140 PEM certificates, most of the CPU
         * of a 1,000-tenant cycle. */
        rc |= curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        rc |= curl_easy_setopt(e, CURLOPT_CAPATH, SYSTEM_CA_PATH);
    }
    if (ca && t->ca_add) {
        rc |= curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        rc |= curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, (void *)ca);
    }
    if (t && t->cert_file) {
        rc |= curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
        rc |= curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
    }
    if (rc != CURLE_OK) {
        sf_errf(errbuf, errlen, "libcurl lacks a needed TLS option (OpenSSL)");
        return SF_ERR_INTERNAL;
    }
    return SF_OK;
}
