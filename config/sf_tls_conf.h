/* sf_tls_conf.h - the one `tls:` table of every TLS-speaking part (syslog,
 * hec, email, webhook, and http: for the Microsoft APIs): the same keys with
 * the same meaning everywhere, the deprecated bare keys mapped into it, and
 * the one "verification is OFF" warning. It does not open connections:
 * netconn (syslog), libcurl (sf_curl_tls.h) and librdkafka (the kafka
 * output's ssl.* properties) apply what it binds.
 *
 * ca_file means "trust exactly these CAs instead of the system store", as
 * curl --cacert, OpenSSL, rsyslog and Fluent Bit read it: naming a CA
 * narrows trust to it, never widens it. The one exception is the
 * deprecated http.ca_file, which kept its old meaning (added to the system
 * store: ca_add) so configs written for it behave as before. */
#ifndef SF_TLS_CONF_H
#define SF_TLS_CONF_H

#include "sf_buf.h"
#include "sf_conf.h"
#include "sf_err.h"
#include "sf_yaml.h"

struct sf_tls_conf {
    char *ca_file;      /* owned, absolute; NULL: the system trust store */
    char *cert_file;    /* owned, absolute; client certificate (PEM) or NULL */
    char *key_file;     /* owned, absolute; its key (PEM); both or neither */
    char *server_name;  /* owned; SNI and the name to verify, NULL: the URL's or
                           address's host */
    int verify;         /* 1 (default): chain and host name; 0 only if asked */
    int ca_add;         /* 1 only for the deprecated http.ca_file: ca_file is
                           trusted in addition to the system store */
};

/* The table, for docs (the keys of every `tls:` block). */
extern const struct sf_conf_entry sf_tls_table[];

/* What the caller's own table must leave to this binder. */
struct sf_tls_bind_opts {
    const char *who;            /* output name for the warnings; NULL for http: */
    const char *legacy_ca_file; /* name of a deprecated bare key in parent
                                   holding a CA file ("ca_file"), or NULL */
    int legacy_ca_add;          /* that key meant "add to the system store" */
    int no_server_name;         /* libcurl and librdkafka peers: server_name
                                   is refused (they take SNI and the name to
                                   verify from the URL or broker address) */
    int quiet;                  /* no "verification is OFF" warning: the
                                   caller warned of worse (plain http://) */
    const char *const *extra;   /* further keys the caller binds itself from
                                   the tls: map (syslog: fingerprint_sha256),
                                   NULL-terminated, or NULL */
};

/* Bind parent's `tls:` map (parent may be NULL: all defaults) onto *t, which
 * the caller zeroes first and releases with sf_tls_release. path is parent's
 * key path ("outputs[1]", "http"). A deprecated bare key is taken into *t
 * with a warning naming FILE:LINE and the new spelling; giving both is an
 * error. Problems go to errs as "FILE:LINE: path.tls.key: message" lines
 * (SF_ERR_CONFIG); SF_ERR_NOMEM on allocation failure. With verify off it
 * warns once per call ("TLS certificate verification is OFF (FILE:LINE)"),
 * which callers make once per load. */
sf_err sf_tls_bind(const struct sf_node *parent, const char *path,
                   const struct sf_tls_bind_opts *opts, struct sf_tls_conf *t,
                   struct sf_buf *errs);

/* Deep copy of src into *dst (zeroed by the caller); SF_ERR_NOMEM. */
sf_err sf_tls_copy(struct sf_tls_conf *dst, const struct sf_tls_conf *src);

/* Free what sf_tls_bind allocated; *t is zeroed. NULL-safe. */
void sf_tls_release(struct sf_tls_conf *t);

#endif
