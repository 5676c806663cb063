"""/_emu/* test-control and introspection endpoints of the Defender emulator:
tenants, current alerts (the expected delivered set), stats, alert generation and
updates, fault injection and behaviour changes at runtime.

Does not serve Microsoft APIs. Called from the request handler; takes tenant locks
itself. Returns (status, json-able object).
"""

import copy
import json
import time
import urllib.parse

from emu_faults import FaultError
from emu_util import TICKS_PER_SEC, fmt7, now_ticks

SETTABLE = {'latency_ms': (int, float), 'jitter_ms': (int, float), 'token_ttl': (int, float),
            'rate_per_min': (int, float), 'update_per_min': (int, float),
            'late_max_s': (int, float), 'mde_share': (int, float),
            'unknown_evidence_rate': (int, float), 'v1_numeric': bool, 'consent': bool,
            'roles': bool, 'apis': list}
STATE_FAULTS = {'revoke_consent', 'restore_consent', 'revoke_roles', 'restore_roles',
                'token_ttl', 'token_expire_after', 'expire_tokens', 'boundary_tie', 'clear'}


def _targets(emu, key):
    if key in (None, ''):
        raise LookupError("'tenant' is required (a tenant id, name, domain or '*')")
    if key == '*':
        return list(emu.tenants)
    t = emu.find(str(key))
    if t is None:
        raise LookupError("no tenant '%s'" % key)
    return [t]


def _summary(t):
    with t.lock:
        n = len(t.alerts)
        mde = sum(1 for a in t.alerts if a['serviceSource'] == 'microsoftDefenderForEndpoint')
    return {'id': t.id, 'name': t.name, 'domain': t.domain, 'client_id': t.client_id,
            'client_secret': next((s['value'] for s in t.secrets if not s.get('expired')), None),
            'cert_x5t': [c.x5t for c in t.certs], 'cert_x5t256': [c.x5t256 for c in t.certs],
            'apis': sorted(t.apis), 'consent': t.consent, 'roles': t.roles,
            'token_ttl': t.token_ttl, 'hard_ttl': t.hard_ttl, 'latency_ms': t.latency_ms,
            'rate_per_min': t.rate_per_min, 'update_per_min': t.update_per_min,
            'v1_numeric': t.v1_numeric, 'alerts': n, 'mde_alerts': mde,
            'faults': t.faults.snapshot()}


def apply_fault(emu, t, spec):
    """Apply one control spec to tenant t; returns a result for the caller."""
    kind = spec.get('fault')
    if kind == 'revoke_consent':
        t.consent = False
        return 'consent revoked'
    if kind == 'restore_consent':
        t.consent = True
        return 'consent restored'
    if kind == 'revoke_roles':
        t.roles = False
        return 'application roles removed (tokens issued from now on carry no roles)'
    if kind == 'restore_roles':
        t.roles = True
        return 'application roles restored'
    if kind == 'token_ttl':
        t.token_ttl = float(spec.get('seconds', 3600))
        return {'token_ttl': t.token_ttl}
    if kind == 'token_expire_after':
        secs = spec.get('seconds')
        t.hard_ttl = None if secs is None else float(secs)
        if secs is not None:
            emu.store.expire_tenant(t, float(secs))
        return {'hard_ttl': t.hard_ttl}
    if kind == 'expire_tokens':
        emu.store.expire_tenant(t, 0)
        return 'all tokens of the tenant expired'
    if kind == 'clear':
        t.faults.clear(spec.get('kind'))
        if spec.get('kind') is None:
            t.hard_ttl = None
        return 'faults cleared'
    if kind == 'boundary_tie':
        before, tie = int(spec.get('before', 0)), int(spec.get('tie', 5))
        at = now_ticks() - int(float(spec.get('ago_s', 0)) * TICKS_PER_SEC)
        with t.lock:
            made = t.boundary_tie(before, tie, at)
            return {'ids': [a['id'] for a in made],
                    'tie_lastUpdateDateTime': fmt7(made[-1]['updated']) if made else None}
    try:
        return t.faults.add(spec)
    except FaultError as e:
        raise FaultError('%s (state commands: %s)' % (e, ', '.join(sorted(STATE_FAULTS)))) \
            from None


def _set(t, values):
    for k, v in values.items():
        if k not in SETTABLE:
            raise FaultError("'%s' cannot be set (settable: %s)" % (k, ', '.join(sorted(SETTABLE))))
        if not isinstance(v, SETTABLE[k]):
            raise FaultError("'%s' has the wrong type" % k)
        if k == 'apis':
            bad = set(v) - {'graph', 'mde', 'siem'}
            if bad:
                raise FaultError('unknown apis %s' % sorted(bad))
            v = set(v)
        setattr(t, k, v)


def _json_body(body):
    if not body:
        return {}
    obj = json.loads(body.decode('utf-8'))
    if not isinstance(obj, dict):
        raise ValueError('the body must be a JSON object')
    return obj


def _requests(emu, q):
    """The alert-API request log: [[epoch_s, tenant_id, api, user_agent, status], ...]
    in arrival order, optionally only of one tenant and from `since` (epoch s) on."""
    if emu.requests is None:
        raise ValueError('the request log is off (--request-log-max 0)')
    tid = None
    if q.get('tenant') not in (None, '', '*'):
        tid = _targets(emu, q['tenant'])[0].id
    since = float(q.get('since') or 0)
    with emu.stats_lock:
        rows = [list(r) for r in emu.requests if r[0] >= since and (tid is None or r[1] == tid)]
        dropped = emu.requests.maxlen is not None and len(emu.requests) == emu.requests.maxlen
    return {'now': round(time.time(), 3), 'full': dropped, 'count': len(rows),
            'requests': rows}


def handle(emu, method, parts, query, body):
    from emu_server import expected_view
    q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    route = '/'.join(parts)
    try:
        req = _json_body(body) if method == 'POST' else {}
        if method == 'GET' and route == 'health':
            return 200, {'ok': True, 'tenants': len(emu.tenants),
                         'uptime_s': round(time.time() - emu.started, 3)}
        if method == 'GET' and route == 'tenants':
            return 200, {'tenants': [_summary(t) for t in emu.tenants]}
        if method == 'GET' and route == 'alerts':
            source = q.get('source', 'graph')
            if source not in ('graph', 'mde', 'siem'):
                return 400, {'error': "source must be graph, mde or siem"}
            full = q.get('full', '') in ('1', 'true')
            out = {}
            for t in _targets(emu, q.get('tenant')):
                with t.lock:
                    out[t.id] = expected_view(t, source, full)
            if q.get('tenant') != '*':
                tid, rows = next(iter(out.items()))
                return 200, {'tenant': tid, 'source': source, 'now': fmt7(now_ticks()),
                             'count': len(rows), 'alerts': rows}
            return 200, {'source': source, 'now': fmt7(now_ticks()),
                         'count': sum(len(v) for v in out.values()), 'tenants': out}
        if method == 'GET' and route == 'stats':
            with emu.stats_lock:
                stats = copy.deepcopy(emu.stats)
            totals = {'calls': {}, 'status': {}, 'throttled': 0, 'tokens_issued': 0,
                      'token_errors': 0, 'alerts_served': 0, 'pages': 0, 'faults_served': {}}
            for s in stats.values():
                for k in ('calls', 'status', 'faults_served'):
                    for kk, vv in s[k].items():
                        totals[k][kk] = totals[k].get(kk, 0) + vv
                for k in ('throttled', 'tokens_issued', 'token_errors', 'alerts_served',
                          'pages'):
                    totals[k] += s[k]
            if q.get('tenant'):
                t = _targets(emu, q['tenant'])[0]
                return 200, {'tenant': t.id, 'stats': stats.get(t.id) or {}}
            return 200, {'uptime_s': round(time.time() - emu.started, 3), 'totals': totals,
                         'tenants': stats}
        if method == 'GET' and route == 'requests':
            return 200, _requests(emu, q)
        if method == 'POST' and route == 'stats/reset':
            with emu.stats_lock:
                emu.stats.clear()
            return 200, {'ok': True}
        if method == 'GET' and route == 'faults':
            return 200, {t.id: t.faults.snapshot() for t in _targets(emu, q.get('tenant', '*'))}
        if method == 'POST' and route == 'generate':
            count = int(req.get('count', 1))
            res = {}
            for t in _targets(emu, req.get('tenant')):
                with t.lock:
                    made = t.generate(count, now_ticks(), 0, bool(req.get('mde_only')))
                    res[t.id] = [{'id': a['id'], 'lastUpdateDateTime': fmt7(a['updated'])}
                                 for a in made]
            return 200, {'ok': True, 'created': res}
        if method == 'POST' and route == 'update':
            count = int(req.get('count', 1))
            res = {}
            for t in _targets(emu, req.get('tenant')):
                with t.lock:
                    done = t.update(count, now_ticks(), req.get('ids'))
                    res[t.id] = [{'id': a['id'], 'status': a['status'],
                                  'lastUpdateDateTime': fmt7(a['updated'])} for a in done]
            return 200, {'ok': True, 'updated': res}
        if method == 'POST' and route == 'control':
            res = {}
            for t in _targets(emu, req.get('tenant')):
                if 'set' in req:
                    if not isinstance(req['set'], dict):
                        raise FaultError("'set' must be an object")
                    _set(t, req['set'])
                    res[t.id] = 'set'
                if 'fault' in req:
                    spec = {k: v for k, v in req.items() if k not in ('tenant', 'set')}
                    res[t.id] = apply_fault(emu, t, spec)
                if 'set' not in req and 'fault' not in req:
                    raise FaultError("give 'fault' and/or 'set'")
            return 200, {'ok': True, 'result': res}
        return 404, {'error': 'no emulator endpoint %s /_emu/%s' % (method, route)}
    except LookupError as e:
        return 404, {'error': str(e)}
    except (FaultError, ValueError, TypeError) as e:
        return 400, {'error': str(e)}
