/* sf_redact.h - the one redactor (DESIGN.md §4 "Secrets"): a process-wide
 * registry of every known secret (client secrets, key passwords, HEC tokens,
 * SMTP passwords, webhook URLs) and the forms a server may echo them in:
 * raw, URL-encoded (%2B and %2b, space as + or %20), JSON-escaped (\" \\
 * \/ \u00XX, as a server quoting it in a JSON error writes it) and base64 /
 * base64url at any byte alignment (so inside AUTH PLAIN "\0user\0password" or Basic
 * "user:password" too). Any text a server sent back passes sf_redact before
 * it is logged or stored. Thread-safe: registration takes a write lock,
 * redaction a read lock. The registry copies what it is given and keeps it
 * for the life of the process (a reload adds; old secrets stay masked). */
#ifndef SF_REDACT_H
#define SF_REDACT_H

#include <stddef.h>
#include "sf_err.h"

#define SF_REDACT_MASK "***"
/* Secrets and encoded forms shorter than this are not registered: masking
 * every 3-letter word would make logs unreadable and protect nothing. */
#define SF_REDACT_MIN 4

/* Registers secret (copied) and its encoded forms. SF_OK also when it is
 * too short or already known; SF_ERR_LIMIT when the registry is full;
 * SF_ERR_NOMEM. */
sf_err sf_redact_add(const char *secret);
/* SMTP AUTH PLAIN (RFC 4616): base64 of "\0user\0password" as a whole,
 * besides password itself (sf_redact_add). */
sf_err sf_redact_add_plain(const char *user, const char *password);

/* Replaces every registered form in the NUL-terminated buf (at most cap
 * bytes, the NUL included) by "***", and a tail of buf that is the start
 * (SF_REDACT_MIN or more bytes) of a form, as left by a cut. Never grows buf.
 * Returns the new length. */
size_t sf_redact(char *buf, size_t cap);
/* Copies src into dst (dstlen bytes) with every secret removed; redaction
 * runs on the whole of src before the cut to dstlen, so a secret across the
 * cut is not left half visible. dst is always NUL-terminated. */
void sf_redact_copy(char *dst, size_t dstlen, const char *src);

/* Number of registered forms (tests, metrics). */
size_t sf_redact_count(void);
/* Forgets every secret (tests only). */
void sf_redact_reset(void);

#endif
