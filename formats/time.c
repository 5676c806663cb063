/* time.c - ISO-8601 parsing and formatting in UTC (see sf_time.h).
 * Calendar arithmetic is Howard Hinnant's days_from_civil / civil_from_days,
 * so results never depend on TZ or the C library's time zone database. */
#include <string.h>

#include "sf_time.h"

#define MS_PER_DAY INT64_C(86400000)

int64_t sf_time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* n decimal digits at s[*i] -> *v; advances *i. -1 if any is not a digit. */
static int digits(const char *s, size_t len, size_t *i, int n, int *v)
{
    int x = 0;
    if (*i + (size_t)n > len)
        return -1;
    for (int k = 0; k < n; k++) {
        char c = s[*i + (size_t)k];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *i += (size_t)n;
    *v = x;
    return 0;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return -1;
    (*i)++;
    return 0;
}

/* Optional ".F" (1-7 digits) -> milliseconds, truncated (floor, F >= 0). */
static int fraction(const char *s, size_t len, size_t *i, int *ms)
{
    *ms = 0;
    if (*i >= len || s[*i] != '.')
        return 0;
    (*i)++;
    int n = 0, scaled = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (++n > 7)
            return -1;
        if (n <= 3)
            scaled = scaled * 10 + (s[*i] - '0');
        (*i)++;
    }
    if (n == 0)
        return -1;
    for (int k = n; k < 3; k++)
        scaled *= 10;
    *ms = scaled;
    return 0;
}

/* Zone suffix -> offset in minutes east of UTC. Nothing = UTC. */
static int zone(const char *s, size_t len, size_t *i, int *off_min)
{
    *off_min = 0;
    if (*i == len)
        return 0;
    if (s[*i] == 'Z' || s[*i] == 'z') {
        (*i)++;
        return 0;
    }
    if (s[*i] != '+' && s[*i] != '-')
        return -1;
    int sign = s[*i] == '-' ? -1 : 1, hh, mm;
    (*i)++;
    if (digits(s, len, i, 2, &hh))
        return -1;
    if (*i < len && s[*i] == ':')
        (*i)++;
    if (digits(s, len, i, 2, &mm) || hh > 23 || mm > 59)
        return -1;
    *off_min = sign * (hh * 60 + mm);
    return 0;
}

int sf_time_parse_iso8601(const char *s, size_t len, int64_t *epoch_ms)
{
    size_t i = 0;
    int y, mo, d, h, mi, sec, ms, off;
    if (!s || digits(s, len, &i, 4, &y) || expect(s, len, &i, '-') ||
        digits(s, len, &i, 2, &mo) || expect(s, len, &i, '-') ||
        digits(s, len, &i, 2, &d))
        return -1;
    if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
        return -1;
    i++;
    if (digits(s, len, &i, 2, &h) || expect(s, len, &i, ':') ||
        digits(s, len, &i, 2, &mi) || expect(s, len, &i, ':') ||
        digits(s, len, &i, 2, &sec) || fraction(s, len, &i, &ms) ||
        zone(s, len, &i, &off) || i != len)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo) ||
        h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t days = sf_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off * 60;
    *epoch_ms = secs * 1000 + ms;
    return 0;
}

int sf_time_gmtime_ms(int64_t ms, struct tm *tm, int *msec)
{
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y - 1900 < -2147483647 || y - 1900 > 2147483647)
        return -1;
    memset(tm, 0, sizeof(*tm));
    tm->tm_year = (int)(y - 1900);
    tm->tm_mon = (int)m - 1;
    tm->tm_mday = (int)d;
    tm->tm_hour = (int)(rem / 3600000);
    tm->tm_min = (int)(rem / 60000 % 60);
    tm->tm_sec = (int)(rem / 1000 % 60);
    tm->tm_wday = (int)(days >= -4 ? (days + 4) % 7 : (days + 5) % 7 + 6);
    tm->tm_yday = (int)(days - sf_time_days_from_civil(y, 1, 1));
    if (msec)
        *msec = (int)(rem % 1000);
    return 0;
}

int sf_time_format_ms(int64_t ms, char *buf, size_t n)
{
    struct tm tm;
    int msec;
    if (!buf || n < 25 || sf_time_gmtime_ms(ms, &tm, &msec))
        return -1;
    int64_t y = (int64_t)tm.tm_year + 1900;
    if (y < 0 || y > 9999)
        return -1;
    static const char dig[] = "0123456789";
    int v[7] = { (int)y, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msec };
    memcpy(buf, "0000-00-00T00:00:00.000Z", 25);
    buf[0] = dig[v[0] / 1000];
    buf[1] = dig[v[0] / 100 % 10];
    buf[2] = dig[v[0] / 10 % 10];
    buf[3] = dig[v[0] % 10];
    static const int pos[5] = { 5, 8, 11, 14, 17 };
    for (int k = 0; k < 5; k++) {
        buf[pos[k]] = dig[v[k + 1] / 10];
        buf[pos[k] + 1] = dig[v[k + 1] % 10];
    }
    buf[20] = dig[msec / 100];
    buf[21] = dig[msec / 10 % 10];
    buf[22] = dig[msec % 10];
    return 24;
}
