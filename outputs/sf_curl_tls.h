/* sf_curl_tls.h - applies one bound `tls:` block (sf_tls_conf.h) to a
 * libcurl easy handle, the same way for fetch, HEC, webhook and email:
 * verification, trust (ca_file instead of the system store; the system store
 * through its hashed directory, read lazily), client certificate.
 * It does not own the handle or t; t must outlive the handle (the ca_add
 * callback reads t->ca_file at every new connection). */
#ifndef SF_CURL_TLS_H
#define SF_CURL_TLS_H

#include <stddef.h>
#include <curl/curl.h>
#include "sf_err.h"
#include "sf_tls_conf.h"

/* t NULL: the defaults (verify against the system store). SF_ERR_INTERNAL
 * with a sentence when libcurl lacks an option. */
sf_err sf_curl_tls_apply(CURL *e, const struct sf_tls_conf *t, char *errbuf, size_t errlen);

#endif
