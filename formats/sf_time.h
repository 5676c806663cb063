/* sf_time.h - ISO-8601 / RFC 3339 timestamps <-> epoch milliseconds, in UTC
 * and independent of the process time zone (no mktime/timegm/TZ).
 * Pure functions: no allocation, no global state. */
#ifndef SF_TIME_H
#define SF_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Parse exactly len bytes of s:
 *   YYYY-MM-DD(T|t| )HH:MM:SS[.F] [Z|z|+hh:mm|-hh:mm|+hhmm|-hhmm]
 * F is 1-7 digits (Graph and MDE send up to 7); no zone means UTC. Ranges are
 * checked (month 1-12, day within the month incl. leap years, hour 0-23,
 * minute/second 0-59, offset up to 23:59). The result is rounded toward
 * negative infinity to whole milliseconds. 0 on success, -1 otherwise
 * (*epoch_ms untouched). */
int sf_time_parse_iso8601(const char *s, size_t len, int64_t *epoch_ms);

/* Write "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL) for ms. Returns the
 * length written, or -1 if n < 25 or the year is outside 0000..9999. */
int sf_time_format_ms(int64_t ms, char *buf, size_t n);

/* Break ms down into a UTC struct tm (tm_wday/tm_yday filled, tm_isdst 0)
 * plus the millisecond part (0-999). -1 if the year does not fit an int. */
int sf_time_gmtime_ms(int64_t ms, struct tm *tm, int *msec);

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12, d 1-31). */
int64_t sf_time_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
