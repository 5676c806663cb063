/* sf_err.c - names for sf_err and the errbuf formatter. */
#include <stdarg.h>
#include <stdio.h>

#include "sf_err.h"

const char *sf_strerror(sf_err err)
{
    switch (err) {
    case SF_OK: return "ok";
    case SF_ERR_NOMEM: return "out of memory";
    case SF_ERR_IO: return "I/O error";
    case SF_ERR_PARSE: return "parse error";
    case SF_ERR_CONFIG: return "configuration error";
    case SF_ERR_NOTFOUND: return "not found";
    case SF_ERR_LIMIT: return "size limit reached";
    case SF_ERR_RANGE: return "out of range";
    case SF_ERR_NETWORK: return "network error";
    case SF_ERR_AUTH: return "authentication failed";
    case SF_ERR_HTTP: return "unexpected HTTP status";
    case SF_ERR_TIMEOUT: return "timed out";
    case SF_ERR_THROTTLED: return "throttled";
    case SF_ERR_INTERNAL: return "internal error";
    case SF_ERR_INVALID: return "invalid argument";
    case SF_ERR_STOPPED: return "stopped";
    }
    return "unknown error";
}

void sf_errf(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (!errbuf || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}
