/* sf_err.h - the one error enum every module returns, plus its names.
 * Append only: values are logged and tested, never renumber.
 * The human sentence travels separately in a caller-supplied errbuf. */
#ifndef SF_ERR_H
#define SF_ERR_H

typedef enum {
    SF_OK = 0,
    SF_ERR_NOMEM,     /* allocation failed */
    SF_ERR_IO,        /* file or socket I/O failed */
    SF_ERR_PARSE,     /* malformed input: JSON, YAML, time, path */
    SF_ERR_CONFIG,    /* configuration or map is invalid */
    SF_ERR_NOTFOUND,  /* a looked-up thing is absent */
    SF_ERR_LIMIT,     /* a size limit was reached */
    SF_ERR_RANGE,     /* a value is outside its bounds */
    SF_ERR_NETWORK,   /* connect/resolve/TLS failure */
    SF_ERR_AUTH,      /* token refused, consent missing (401/403) */
    SF_ERR_HTTP,      /* unexpected HTTP status */
    SF_ERR_TIMEOUT,   /* deadline passed */
    SF_ERR_THROTTLED, /* 429 / Retry-After */
    SF_ERR_INTERNAL,  /* a bug: an invariant did not hold */
    SF_ERR_INVALID,   /* bad argument or input record */
    SF_ERR_STOPPED,   /* cancelled: stop or reload was requested */
} sf_err;

const char *sf_strerror(sf_err err);

/* Format into errbuf (may be NULL / errlen 0); always NUL-terminates. */
void sf_errf(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
