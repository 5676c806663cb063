"""Per-tenant fault injection for the Defender emulator.

A FaultSet holds counted faults (throttle, server_error, slow, drop, truncate,
malformed, empty_page) and persistent paging faults (deep_paging), each scoped to
one API ('graph', 'mde', 'siem', 'token'), to all three alert APIs ('api', the
default) or to everything ('any'). State-changing commands (revoke_consent,
token_ttl, boundary_tie, ...) are applied by the server, not stored here.
The FaultSet owns its lock.
"""

import threading

COUNTED = {'throttle', 'server_error', 'slow', 'drop', 'truncate', 'malformed', 'empty_page',
           'bad_token'}
PERSISTENT = {'deep_paging'}
APIS = {'graph', 'mde', 'siem', 'token', 'api', 'any'}

DEFAULTS = {
    'throttle': {'count': 1, 'retry_after': 1},
    'server_error': {'count': 1, 'status': 503},
    'slow': {'count': None, 'delay_ms': 2000},
    'drop': {'count': 1},
    'truncate': {'count': 1, 'mode': 'body'},
    'malformed': {'count': 1, 'mode': 'json'},
    'empty_page': {'count': 1},
    'bad_token': {'count': 1, 'mode': 'crlf'},
    'deep_paging': {'after_pages': 2, 'mode': 'error'},
}
ALLOWED = {
    'throttle': {'retry_after', 'no_retry_after', 'code'},
    'server_error': {'status', 'retry_after', 'body'},
    'slow': {'delay_ms'},
    'drop': set(),
    'truncate': {'mode'},
    'malformed': {'mode'},
    'empty_page': set(),
    'bad_token': {'mode'},
    'deep_paging': {'after_pages', 'mode'},
}


class FaultError(ValueError):
    pass


def _api_matches(scope, api):
    return scope == api or scope == 'any' or (scope == 'api' and api != 'token')


class FaultSet:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    @staticmethod
    def validate(spec):
        """Normalise a fault spec dict (without 'tenant'); raises FaultError."""
        kind = spec.get('fault')
        if kind not in COUNTED and kind not in PERSISTENT:
            raise FaultError("unknown fault '%s'" % kind)
        api = spec.get('api', 'token' if kind == 'bad_token' else 'api')
        if api not in APIS:
            raise FaultError("unknown api scope '%s' (use graph, mde, siem, token, api, any)"
                             % api)
        out = dict(DEFAULTS[kind])
        out.update(fault=kind, api=api)
        for k, v in spec.items():
            if k in ('fault', 'api', 'tenant'):
                continue
            if k != 'count' and k not in ALLOWED[kind]:
                raise FaultError("fault '%s' has no parameter '%s'" % (kind, k))
            out[k] = v
        if out.get('count') is not None and (not isinstance(out['count'], int)
                                             or out['count'] < 0):
            raise FaultError("'count' must be a non-negative integer or null")
        if kind == 'server_error' and not (isinstance(out['status'], int)
                                           and 500 <= out['status'] <= 599):
            raise FaultError("server_error 'status' must be 500..599")
        if kind == 'deep_paging' and out['mode'] not in ('error', 'stop'):
            raise FaultError("deep_paging 'mode' must be error or stop")
        if kind == 'truncate' and out['mode'] not in ('body', 'connection'):
            raise FaultError("truncate 'mode' must be body or connection")
        if kind == 'bad_token' and out['mode'] not in ('crlf', 'huge'):
            raise FaultError("bad_token 'mode' must be crlf or huge")
        if kind == 'malformed' and out['mode'] not in ('json', 'html'):
            raise FaultError("malformed 'mode' must be json or html")
        return out

    def add(self, spec):
        f = self.validate(spec)
        with self.lock:
            self.items.append(f)
        return f

    def clear(self, kind=None):
        with self.lock:
            self.items = [f for f in self.items if kind is not None and f['fault'] != kind]

    def take(self, kind, api):
        """Consume one use of the first active fault of this kind for this api."""
        with self.lock:
            for f in self.items:
                if f['fault'] == kind and _api_matches(f['api'], api):
                    if f.get('count') is None:
                        return dict(f)
                    if f['count'] > 0:
                        f['count'] -= 1
                        out = dict(f)
                        if f['count'] == 0:
                            self.items.remove(f)
                        return out
        return None

    def peek(self, kind, api):
        with self.lock:
            for f in self.items:
                if f['fault'] == kind and _api_matches(f['api'], api):
                    return dict(f)
        return None

    def snapshot(self):
        with self.lock:
            return [dict(f) for f in self.items]
