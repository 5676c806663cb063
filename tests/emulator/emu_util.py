"""Shared helpers for the Defender emulator: time in 100 ns ticks, ISO-8601 / OData
datetime formatting and parsing, durations, ids and base64url.

Times are integers counting 100 ns units since the Unix epoch ("ticks"), so the
7-digit fractions Microsoft emits round-trip exactly. Pure functions, no state.
"""

import base64
import calendar
import re
import time
import uuid

TICKS_PER_SEC = 10_000_000
DOTNET_EPOCH_TICKS = 621_355_968_000_000_000   # .NET ticks at 1970-01-01

_DT_RE = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?'
    r'(Z|[+-]\d{2}:\d{2})?$')
_DUR_RE = re.compile(r'^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$')
_ISO_DUR_RE = re.compile(
    r'^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$')


def now_ticks():
    return time.time_ns() // 100


def fmt7(ticks):
    """2021-05-02T14:19:01.3266667Z (always 7 fraction digits, Graph style)."""
    secs, frac = divmod(ticks, TICKS_PER_SEC)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(secs)) + '.%07dZ' % frac


def fmt_trim(ticks):
    """2021-01-26T20:33:59.2Z: trailing zeros dropped, no dot when whole (MDE style)."""
    secs, frac = divmod(ticks, TICKS_PER_SEC)
    base = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(secs))
    if frac == 0:
        return base + 'Z'
    return base + ('.%07d' % frac).rstrip('0') + 'Z'


def fmt_ms(ticks):
    """2021-04-26T07:45:50.116Z (milliseconds)."""
    secs, frac = divmod(ticks, TICKS_PER_SEC)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(secs)) + '.%03dZ' % (frac // 10_000)


def parse_datetime(text, require_offset=True, max_digits=7):
    """Parse an ISO-8601 / OData DateTimeOffset literal into ticks.

    Raises ValueError with a sentence on any malformed input (bad field ranges,
    more than max_digits fraction digits, missing offset when required)."""
    m = _DT_RE.match(text)
    if not m:
        raise ValueError("'%s' is not a valid DateTimeOffset literal" % text)
    y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
    s = int(m.group(6) or 0)
    frac = m.group(7) or ''
    off = m.group(8)
    if off is None and require_offset:
        raise ValueError("'%s' has no time zone offset (expected Z or +hh:mm)" % text)
    if len(frac) > max_digits:
        raise ValueError("'%s' has more than %d fraction digits" % (text, max_digits))
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 59):
        raise ValueError("'%s' has a field out of range" % text)
    try:
        secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
        time.strptime('%04d-%02d-%02d' % (y, mo, d), '%Y-%m-%d')
    except ValueError:
        raise ValueError("'%s' is not a valid date" % text) from None
    if off and off != 'Z':
        sign = 1 if off[0] == '+' else -1
        oh, om = int(off[1:3]), int(off[4:6])
        if oh > 14 or om > 59:
            raise ValueError("'%s' has an invalid offset" % text)
        secs -= sign * (oh * 3600 + om * 60)
    return secs * TICKS_PER_SEC + int((frac + '0000000')[:7])


def parse_duration(text):
    """'2h', '30m', '90s', '250ms', '1d' or a bare number of seconds -> seconds (float)."""
    m = _DUR_RE.match(str(text).strip())
    if not m:
        raise ValueError("'%s' is not a duration (use e.g. 90s, 30m, 2h, 1d)" % text)
    mult = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, None: 1}[m.group(2)]
    return float(m.group(1)) * mult


def parse_iso_duration(text):
    """ISO-8601 duration as used by the SIEM API 'ago' parameter (PT10M, P1DT2H) -> seconds."""
    m = _ISO_DUR_RE.match(text)
    if not m or text in ('P', 'PT') or text.endswith('T'):
        raise ValueError("'%s' is not an ISO-8601 duration" % text)
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def b64url_decode(text):
    if isinstance(text, str):
        text = text.encode('ascii')
    return base64.urlsafe_b64decode(text + b'=' * (-len(text) % 4))


def guid_from(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_guid():
    return str(uuid.uuid4())


def tenant_guid(n):
    """Deterministic tenant id for generated tenant number n (1-based)."""
    return '00000000-0000-0000-0000-%012d' % n


def dotnet_ticks(ticks):
    return ticks + DOTNET_EPOCH_TICKS


def aad_timestamp(ticks=None):
    """'2016-01-09 02:02:12Z' as Entra puts it in error bodies."""
    secs = (ticks if ticks is not None else now_ticks()) // TICKS_PER_SEC
    return time.strftime('%Y-%m-%d %H:%M:%SZ', time.gmtime(secs))


def http_date():
    return time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())
