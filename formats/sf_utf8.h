/* sf_utf8.h - UTF-8 validation, sanitising (invalid -> U+FFFD) and
 * boundary-safe truncation, shared by the renderers and other modules.
 * Pure functions on caller-owned bytes; nothing here allocates except
 * sf_utf8_sanitize, which appends to a caller-owned sf_buf. */
#ifndef SF_UTF8_H
#define SF_UTF8_H

#include <stddef.h>
#include "sf_buf.h"

/* U+FFFD REPLACEMENT CHARACTER, UTF-8 encoded (3 bytes). */
#define SF_UTF8_REPLACEMENT "\xEF\xBF\xBD"
#define SF_UTF8_REPLACEMENT_LEN 3

/* Decode the unit starting at s (n >= 1 bytes available). Returns how many
 * bytes it spans. *valid is 1 for a well-formed character, 0 for a maximal
 * invalid subpart (Unicode ch. 3 "U+FFFD substitution of maximal subparts":
 * overlongs, surrogates, > U+10FFFF, stray continuations and truncated
 * sequences), which a sanitiser replaces with exactly one U+FFFD. */
size_t sf_utf8_next(const char *s, size_t n, int *valid);

/* 1 if s[0..n) is well-formed UTF-8, else 0. */
int sf_utf8_valid(const char *s, size_t n);

/* Append s[0..n) to out with every maximal invalid subpart replaced by
 * U+FFFD. Returns SF_ERR_LIMIT / SF_ERR_NOMEM from the buffer. */
sf_err sf_utf8_sanitize(struct sf_buf *out, const char *s, size_t n);

/* Largest length <= max (and <= n) such that s[0..len) ends on a unit
 * boundary (never inside a multi-byte character). Exact for any input,
 * valid or not. */
size_t sf_utf8_prefix(const char *s, size_t n, size_t max);

/* Escaping copy for the renderers. esc[c] gives the action for each 7-bit
 * byte c: 0 = copy; 0x01..0x7F = write that byte instead (replacement);
 * 0x80 | b = write a backslash then b (escape). Bytes >= 0x80 are copied
 * when they form valid UTF-8, else each maximal invalid subpart becomes
 * U+FFFD. The C1 controls U+0080..U+009F (NEL U+0085 included) and the line
 * and paragraph separators U+2028 / U+2029 take the action of DEL,
 * esc[0x7F]: a table that replaces DEL replaces them the same way. Output stops before the first character that would make more
 * than max_chars characters (0 = no limit; a character is one unescaped
 * code point, U+FFFD included) or more than max_bytes output bytes, so a
 * character or an escape sequence is never cut. out may be NULL to only
 * measure. *wrote receives the output byte count. */
#define SF_UTF8_ESC(b) ((unsigned char)(0x80 | (b)))
sf_err sf_utf8_escape(struct sf_buf *out, const unsigned char esc[128],
                      const char *s, size_t n, size_t max_chars,
                      size_t max_bytes, size_t *wrote);

#endif
