"""HTTP side of the Defender emulator: the shared Emulator state (tenants, tokens,
stats, quotas) and the request handler that routes token, Graph alerts_v2, MDE
/api/alerts, SIEM API and /_emu/* test-control requests, applying per-tenant
latency and faults.

Does not parse the command line (defender_emu.py does). Emulator owns the token
store and stats; tenants own their alerts (tenant.lock).
"""

import collections
import gzip
import hashlib
import hmac
import json
import random
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import emu_auth
from emu_data import (GRAPH_CLASSIFICATION, GRAPH_DETERMINATION, GRAPH_SEVERITY,
                      GRAPH_STATUS, MDE_DETECTION_SOURCE, SERVICE_SOURCE, render_graph, render_mde, render_siem)
from emu_odata import ODataError, Property, parse_filter, parse_orderby, sort_key
from emu_util import (TICKS_PER_SEC, b64url, b64url_decode, fmt7, fmt_trim, http_date,
                      new_guid, now_ticks, parse_datetime, parse_iso_duration)

JSON_GRAPH = 'application/json;odata.metadata=minimal;odata.streaming=true;' \
             'IEEE754Compatible=false;charset=utf-8'
JSON_MDE = 'application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8'
JSON_PLAIN = 'application/json; charset=utf-8'

GRAPH_SCHEMA = {
    'lastUpdateDateTime': Property('lastUpdateDateTime', 'datetime', lambda a: a['updated']),
    'createdDateTime': Property('createdDateTime', 'datetime', lambda a: a['created']),
    'resolvedDateTime': Property('resolvedDateTime', 'datetime', lambda a: a['resolved']),
    'severity': Property('severity', 'enum', lambda a: a['severity'], GRAPH_SEVERITY,
                         'microsoft.graph.security.alertSeverity'),
    'status': Property('status', 'enum', lambda a: a['status'], GRAPH_STATUS,
                       'microsoft.graph.security.alertStatus'),
    'classification': Property('classification', 'enum', lambda a: a['classification'],
                               GRAPH_CLASSIFICATION),
    'determination': Property('determination', 'enum', lambda a: a['determination'],
                              GRAPH_DETERMINATION),
    'serviceSource': Property('serviceSource', 'enum', lambda a: a['serviceSource'],
                              SERVICE_SOURCE),
    'assignedTo': Property('assignedTo', 'string', lambda a: a['assignedTo']),
}
GRAPH_ORDER = {k: GRAPH_SCHEMA[k] for k in ('lastUpdateDateTime', 'createdDateTime',
                                            'severity', 'status')}
GRAPH_OPTIONS = {'$filter', '$top', '$skip', '$orderby', '$count', '$select', '$skiptoken'}

MDE_SCHEMA = {
    'lastUpdateTime': Property('lastUpdateTime', 'datetime', lambda a: a['updated']),
    'alertCreationTime': Property('alertCreationTime', 'datetime', lambda a: a['created']),
    'lastEventTime': Property('lastEventTime', 'datetime', lambda a: a['lastActivity']),
    'firstEventTime': Property('firstEventTime', 'datetime', lambda a: a['firstActivity']),
    'incidentId': Property('incidentId', 'number', lambda a: a['incidentId']),
    'InvestigationId': Property('InvestigationId', 'number', lambda a: a['investigationId']),
    'id': Property('id', 'string', lambda a: a['id']),
    'assignedTo': Property('assignedTo', 'string', lambda a: a['assignedTo']),
    'status': Property('status', 'string', lambda a: a['status'][0].upper() + a['status'][1:]),
    'severity': Property('severity', 'string',
                         lambda a: a['severity'][0].upper() + a['severity'][1:]),
    'category': Property('category', 'string', lambda a: a['category']),
    'detectionSource': Property('detectionSource', 'string', lambda a: MDE_DETECTION_SOURCE.get(
        a['detectionSource'], 'WindowsDefenderAtp')),
}
MDE_OPTIONS = {'$filter', '$top', '$skip', '$orderby', '$expand', '$count', '$select'}

LIMITS = {'mde': [(60, 100), (3600, 1500)], 'graph': [(60, 150)]}


def _to_tuple(x):
    return tuple(_to_tuple(i) for i in x) if isinstance(x, list) else x


class Emulator:
    """Everything shared between request threads."""

    def __init__(self, tenants, opts, log):
        self.tenants = tenants
        self.opts = opts
        self.log = log
        self.by_key = {}
        for t in tenants:
            for k in (t.id, t.name, t.domain):
                self.by_key[k.lower()] = t
        self.store = emu_auth.TokenStore()
        self.hmac_key = secrets.token_bytes(32)
        self.stats_lock = threading.Lock()
        self.stats = {}
        self.started = time.time()
        self.quota_lock = threading.Lock()
        self.quota = collections.defaultdict(collections.deque)
        self.jti_seen = set()
        # (epoch s, tenant id, api, User-Agent, status) of every alert-API call, in
        # order: who polled which tenant when (GET /_emu/requests)
        keep = getattr(opts, 'request_log_max', 200000)
        self.requests = collections.deque(maxlen=keep) if keep > 0 else None

    def find(self, key):
        return self.by_key.get((key or '').lower())

    def tenant_stats(self, tid):
        s = self.stats.get(tid)
        if s is None:
            s = self.stats[tid] = {'calls': {}, 'status': {}, 'throttled': 0,
                                   'tokens_issued': 0, 'token_errors': 0,
                                   'assertions': 0, 'jti_replays': 0,
                                   'alerts_served': 0, 'pages': 0, 'faults_served': {},
                                   'user_agent': None, 'agents': {}}
        return s

    def fault_served(self, tenant, kind):
        with self.stats_lock:
            s = self.tenant_stats(tenant.id)
            s['faults_served'][kind] = s['faults_served'].get(kind, 0) + 1

    def count(self, tenant, api, status, served=0, ua=None, token=False,
              token_error=False):
        tid = tenant.id if tenant else '-'
        with self.stats_lock:
            s = self.tenant_stats(tid)
            s['calls'][api] = s['calls'].get(api, 0) + 1
            s['status'][str(status)] = s['status'].get(str(status), 0) + 1
            if status == 429:
                s['throttled'] += 1
            s['alerts_served'] += served
            if status == 200 and api in ('graph', 'mde', 'siem'):
                s['pages'] += 1
            if ua:
                s['user_agent'] = ua
            if api in ('graph', 'mde', 'siem'):
                agent = ua or '-'
                s['agents'][agent] = s['agents'].get(agent, 0) + 1
                if self.requests is not None:
                    self.requests.append((round(time.time(), 3), tid, api, agent, status))
            if token:
                s['tokens_issued'] += 1
            if token_error:
                s['token_errors'] += 1

    def note_jti(self, tenant, jti):
        with self.stats_lock:
            s = self.tenant_stats(tenant.id)
            s['assertions'] += 1
            key = (tenant.id, jti)
            if key in self.jti_seen:
                s['jti_replays'] += 1
            else:
                self.jti_seen.add(key)

    def quota_wait(self, tenant, api):
        """With --enforce-limits: seconds to wait if this call exceeds the documented
        per-tenant rate limits, else 0 (and the call is counted)."""
        limits = LIMITS.get(api)
        if not self.opts.enforce_limits or not limits:
            return 0
        now = time.monotonic()
        with self.quota_lock:
            q = self.quota[(tenant.id, api)]
            while q and q[0] <= now - 3600:
                q.popleft()
            for window, limit in limits:
                inside = [t for t in q if t > now - window]
                if len(inside) >= limit:
                    return max(1, int(inside[0] + window - now + 0.999))
            q.append(now)
        return 0

    # -------------------------------------------------------------- skip tokens
    def make_skiptoken(self, payload):
        raw = json.dumps(payload, separators=(',', ':')).encode()
        mac = hmac.new(self.hmac_key, raw, hashlib.sha256).digest()[:12]
        return b64url(raw) + b64url(mac)

    def read_skiptoken(self, token):
        try:
            raw, mac = b64url_decode(token[:-16]), b64url_decode(token[-16:])
        except (ValueError, TypeError):
            return None
        good = hmac.new(self.hmac_key, raw, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(good, mac):
            return None
        return json.loads(raw)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024
    allow_reuse_address = True

    def __init__(self, addr, handler, emu, ssl_ctx):
        self.emu, self.ssl_ctx = emu, ssl_ctx
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # TLS handshake in the worker thread, not in the accept loop.
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        try:
            request.settimeout(15)
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return None
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass
        return None

    def handle_error(self, request, client_address):
        pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # headers and body are separate writes: without TCP_NODELAY a keep-alive
    # client waits ~40 ms per request for its own delayed ACK
    disable_nagle_algorithm = True
    server_version = 'Microsoft-HTTPAPI/2.0'
    sys_version = ''
    timeout = 60

    # ------------------------------------------------------------ plumbing
    def log_message(self, fmt, *args):
        self.server.emu.log(fmt % args)

    def do_GET(self):
        self.dispatch('GET')

    def do_POST(self):
        self.dispatch('POST')

    def do_PUT(self):
        self.dispatch('PUT')

    def do_DELETE(self):
        self.dispatch('DELETE')

    def do_PATCH(self):
        self.dispatch('PATCH')

    def read_body(self):
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            out = b''
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n > 0 else b''

    def base_url(self):
        scheme = 'http' if self.server.ssl_ctx is None else 'https'
        host = self.headers.get('Host') or '127.0.0.1:%d' % self.server.server_address[1]
        return '%s://%s' % (scheme, host)

    def send_raw(self, status, body, ctype, extra=None, api=None, tenant=None):
        """Send a response; applies body faults (truncate, malformed) for api calls."""
        emu = self.server.emu
        extra = dict(extra or {})
        cut_connection = None
        if tenant is not None and api is not None and status == 200:
            f = tenant.faults.take('malformed', api)
            if f:
                emu.fault_served(tenant, 'malformed')
                if f['mode'] == 'html':
                    body = (b'<!DOCTYPE html><html><head><title>Service Unavailable</title>'
                            b'</head><body><h1>The service is unavailable.</h1></body></html>')
                    ctype = 'text/html; charset=utf-8'
                else:
                    mid = len(body) // 2
                    body = body[:mid] + b',,{unquoted: NaN, "x": [}' + body[mid:]
            f = tenant.faults.take('truncate', api)
            if f:
                emu.fault_served(tenant, 'truncate')
                if f['mode'] == 'connection':
                    cut_connection = max(1, len(body) // 2)
                else:
                    body = body[:max(1, len(body) // 2)]
        gz = False
        if len(body) > 1024 and 'gzip' in self.headers.get('Accept-Encoding', '') \
                and cut_connection is None and not emu.opts.no_gzip:
            body, gz = gzip.compress(body, 5), True
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        if gz:
            self.send_header('Content-Encoding', 'gzip')
            self.send_header('Vary', 'Accept-Encoding')
        self.send_header('Date', http_date())
        rid = new_guid()
        self.send_header('request-id', rid)
        self.send_header('client-request-id',
                         self.headers.get('client-request-id') or rid)
        for k, v in extra.items():
            self.send_header(k, v)
        if cut_connection is not None:
            self.send_header('Connection', 'close')
        self.end_headers()
        if cut_connection is not None:
            self.wfile.write(body[:cut_connection])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.wfile.write(body)

    def send_json(self, status, obj, ctype=JSON_PLAIN, extra=None, api=None, tenant=None):
        body = json.dumps(obj, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
        self.send_raw(status, body, ctype, extra, api, tenant)

    # ------------------------------------------------------------ errors
    def api_error(self, api, status, code, message, extra=None, tenant=None):
        if api == 'graph':
            body = {'error': {'code': code, 'message': message, 'innerError': {
                'date': fmt7(now_ticks())[:19], 'request-id': new_guid(),
                'client-request-id': new_guid()}}}
            ctype = JSON_GRAPH
        else:
            body = {'error': {'code': code, 'message': message, 'target': new_guid()}}
            ctype = JSON_MDE if api == 'mde' else JSON_PLAIN
        self.server.emu.count(tenant, api, status, ua=self.headers.get('User-Agent'))
        self.send_json(status, body, ctype, extra)

    def unauthorized(self, api, message, tenant_id=None, expired=False):
        desc = 'The access token is expired' if expired else message
        if api == 'graph':
            www = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                   'common/oauth2/authorize", client_id="%s"' % emu_auth.GRAPH_APP_ID)
            code = 'InvalidAuthenticationToken'
        else:
            www = ('Bearer authorization_uri="https://login.microsoftonline.com/%s/oauth2/'
                   'authorize", error="invalid_token", error_description="%s"'
                   % (tenant_id or 'common', desc))
            code = 'Unauthorized'
        self.api_error(api, 401, code, message, {'WWW-Authenticate': www})

    # ------------------------------------------------------------ routing
    def dispatch(self, method):
        emu = self.server.emu
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip('/') or '/'
        parts = [p for p in path.split('/') if p]
        try:
            if parts and parts[0] == '_emu':
                body = self.read_body() if method in ('POST', 'PUT') else b''
                return self.control(method, parts[1:], url.query, body)
            if len(parts) >= 3 and parts[1] == 'oauth2' and parts[-1] == 'token' and \
                    (len(parts) == 3 or (len(parts) == 4 and parts[2] == 'v2.0')):
                body = self.read_body() if method == 'POST' else b''
                return self.token(method, parts[0], 'v2' if len(parts) == 4 else 'v1', body)
            prefix = None
            if parts and parts[0] in ('graph', 'mde', 'siem'):
                prefix, parts = parts[0], parts[1:]
            if method != 'GET':
                self.read_body()
                return self.api_error('graph', 405, 'MethodNotAllowed',
                                      'The emulator serves alert reads only (GET).')
            if len(parts) >= 3 and parts[0] in ('v1.0', 'beta') and parts[1] == 'security' \
                    and parts[2] == 'alerts_v2' and len(parts) <= 4 and prefix in (None, 'graph'):
                return self.graph(parts[0], parts[3] if len(parts) == 4 else None, url.query)
            if len(parts) in (2, 3) and parts[0] == 'api' and parts[1] == 'alerts':
                aid = parts[2] if len(parts) == 3 else None
                return self.api_alerts(prefix, aid, url.query)
            return self.api_error('graph', 404, 'UnknownError' if prefix else 'BadRequest',
                                  "Resource not found for the segment '%s'."
                                  % (parts[-1] if parts else '/'))
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True
        except Exception as e:          # a bug in the emulator: say so, keep serving
            emu.log('internal error on %s %s: %r' % (method, self.path, e))
            import traceback
            emu.log(traceback.format_exc())
            try:
                self.send_json(500, {'error': {'code': 'EmulatorBug', 'message': repr(e)}})
            except OSError:
                self.close_connection = True

    def delay(self, tenant, api):
        """Configured latency plus a 'slow' fault."""
        ms = tenant.latency_ms + (random.random() * tenant.jitter_ms if tenant.jitter_ms else 0)
        f = tenant.faults.take('slow', api)
        if f:
            ms += f['delay_ms']
            self.server.emu.fault_served(tenant, 'slow')
        if ms > 0:
            time.sleep(ms / 1000.0)

    def pre_faults(self, tenant, api):
        """drop / throttle / server_error / quota. True when a response was sent."""
        emu = self.server.emu
        f = tenant.faults.take('drop', api)
        if f:
            emu.fault_served(tenant, 'drop')
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        f = tenant.faults.take('throttle', api)
        wait = 0 if f else emu.quota_wait(tenant, api)
        if f or wait:
            retry = f['retry_after'] if f else wait
            extra = {} if (f and f.get('no_retry_after')) else {'Retry-After': str(retry)}
            if f:
                emu.fault_served(tenant, 'throttle')
            if api == 'token':
                self.send_json(429, {'error': 'temporarily_unavailable',
                                     'error_description': 'AADSTS50196: The server terminated '
                                     'an operation because it encountered a client request '
                                     'loop. Please contact your app vendor.',
                                     'error_codes': [50196]}, JSON_PLAIN, extra)
                emu.count(tenant, api, 429)
                return True
            self.api_error(api, 429, 'TooManyRequests',
                           'Too many requests, please try again later.', extra, tenant)
            return True
        f = tenant.faults.take('server_error', api)
        if f:
            emu.fault_served(tenant, 'server_error')
            extra = {'Retry-After': str(f['retry_after'])} if f.get('retry_after') else {}
            if f.get('body') == 'html' or f['status'] in (502, 504):
                emu.count(tenant, api, f['status'])
                self.send_raw(f['status'], b'<html><head><title>%d Bad Gateway</title></head>'
                              b'<body><h1>%d</h1></body></html>' % (f['status'], f['status']),
                              'text/html', extra)
                return True
            code = {500: 'InternalServerError', 503: 'ServiceUnavailable'}.get(
                f['status'], 'UnknownError')
            if api == 'token':
                emu.count(tenant, api, f['status'])
                self.send_json(f['status'], {'error': 'temporarily_unavailable',
                                             'error_description': 'AADSTS90033: A transient '
                                             'error has occurred. Please try again.',
                                             'error_codes': [90033]}, JSON_PLAIN, extra)
                return True
            self.api_error(api, f['status'], code, 'The service is temporarily unavailable.',
                           extra, tenant)
            return True
        return False

    # ------------------------------------------------------------ token endpoint
    def token(self, method, path_tenant, version, body):
        emu = self.server.emu
        tenant = emu.find(path_tenant)
        if tenant is not None:
            self.delay(tenant, 'token')
            if self.pre_faults(tenant, 'token'):
                return
        if method != 'POST':
            e = emu_auth.AuthError(400, 'invalid_request', 900561,
                                   'The endpoint only accepts POST requests. Received a %s '
                                   'request.' % method)
            emu.count(tenant, 'token', 400, token_error=True)
            return self.send_json(400, e.body(), JSON_PLAIN)
        form = {}
        ctype = self.headers.get('Content-Type', '').split(';')[0].strip().lower()
        if ctype == 'application/x-www-form-urlencoded':
            try:
                for k, v in urllib.parse.parse_qsl(body.decode('utf-8'), keep_blank_values=True,
                                                   strict_parsing=False):
                    form.setdefault(k, v)
            except UnicodeDecodeError:
                form = {}

        def ttl(t):
            hard = t.hard_ttl if t.hard_ttl is not None else t.token_ttl
            return t.token_ttl, hard

        def replays(jti):
            emu.note_jti(tenant, jti)

        bases = {self.base_url(), 'https://login.microsoftonline.com'}
        status, obj, tenant2, how = emu_auth.token_request(
            emu.find, path_tenant, version, form, self.headers, bases, emu.store, ttl, replays)
        f = tenant2.faults.take('bad_token', 'token') if status == 200 and tenant2 else None
        if f:
            # A hostile token endpoint: a token that injects a header, or 8 MiB of it.
            emu.fault_served(tenant2, 'bad_token')
            obj = dict(obj)
            obj['access_token'] = (obj['access_token'] + '\r\nX-Injected: yes'
                                   if f['mode'] == 'crlf' else 'A' * (8 << 20))
        emu.count(tenant2, 'token', status, ua=self.headers.get('User-Agent'),
                  token=status == 200, token_error=status != 200)
        self.send_json(status, obj, JSON_PLAIN, {'Cache-Control': 'no-store, no-cache',
                                                 'Pragma': 'no-cache'})

    # ------------------------------------------------------------ bearer check
    def bearer(self, want):
        """Validate the bearer token for API kind want. Returns (tenant, kind) or None
        after sending 401/403. want None: accept mde or siem (bare /api/alerts)."""
        emu = self.server.emu
        auth = self.headers.get('Authorization', '')
        api = want or 'mde'
        if not auth:
            self.unauthorized(api, 'Access token is empty.' if api == 'graph'
                              else 'Authorization has been denied for this request.')
            return None
        if auth[:7].lower() != 'bearer ' or not auth[7:].strip():
            self.unauthorized(api, 'Access token validation failure. Invalid token.')
            return None
        tok = auth[7:].strip()
        info = emu.store.get(tok)
        if info is None:
            msg = ('CompactToken parsing failed with error code: 80049217' if tok.count('.') != 2
                   else 'Access token validation failure. Invalid token.')
            self.unauthorized(api, msg)
            return None
        tenant = info.tenant
        if want is None:
            want = 'siem' if info.kind == 'siem' else 'mde'
            api = want
        if info.exp <= now_ticks():
            self.unauthorized(api, 'Lifetime validation failed, the token is expired.',
                              tenant.id, expired=True)
            return None
        if info.kind != want:
            self.unauthorized(api, 'Access token validation failure. Invalid audience.',
                              tenant.id)
            return None
        self.delay(tenant, api)
        if not tenant.consent:
            self.api_error(api, 403, 'Forbidden',
                           'The application is not consented in tenant %s (consent revoked)'
                           % tenant.id if api != 'graph' else
                           "Application has no service principal in tenant '%s'; admin "
                           "consent was revoked." % tenant.id, tenant=tenant)
            return None
        if not info.roles or api not in tenant.apis:
            need = {'graph': 'SecurityAlert.Read.All, SecurityAlert.ReadWrite.All',
                    'mde': 'Alert.ReadWrite.All, Alert.Read.All',
                    'siem': 'Alert.Read.All'}[api]
            self.api_error(api, 403, 'Forbidden',
                           'The application does not have any of the required application '
                           'permissions (%s) to access the resource.' % need, tenant=tenant)
            return None
        if self.pre_faults(tenant, api):
            return None
        return tenant, api

    # ------------------------------------------------------------ query helpers
    def query_options(self, api, query, allowed):
        """Parse the query string; reject duplicates and unknown $options (400)."""
        seen = {}
        order = []
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if k in seen:
                raise ODataError("Query option '%s' was specified more than once, but it must "
                                 "be specified at most once." % k)
            if k.startswith('$') and k not in allowed:
                raise ODataError("Query option '%s' is not supported by this resource." % k)
            seen[k] = v
            order.append(k)
        return seen, order

    @staticmethod
    def top_value(text, maximum):
        try:
            n = int(text)
        except ValueError:
            raise ODataError("Invalid value '%s' for $top query option found. The $top query "
                             "option requires a non-negative integer value." % text) from None
        if n < 0:
            raise ODataError("Invalid value '%s' for $top query option found. The $top query "
                             "option requires a non-negative integer value." % text)
        if n > maximum:
            raise ODataError("The limit of '%d' for Top query has been exceeded. The value from "
                             "the incoming request is '%d'." % (maximum, n))
        return n

    @staticmethod
    def skip_value(text):
        try:
            n = int(text)
            if n < 0:
                raise ValueError
        except ValueError:
            raise ODataError("Invalid value '%s' for $skip query option found. The $skip query "
                             "option requires a non-negative integer value." % text) from None
        return n

    def link(self, path, opts, order, extra):
        q = [(k, opts[k]) for k in order if k not in extra and k != '$skiptoken']
        q += list(extra.items())
        return '%s%s?%s' % (self.base_url(), path, urllib.parse.urlencode(
            q, quote_via=urllib.parse.quote, safe="$'(),:"))

    # ------------------------------------------------------------ Graph alerts_v2
    def graph(self, version, alert_id, query):
        emu = self.server.emu
        got = self.bearer('graph')
        if got is None:
            return
        tenant, _ = got
        include_unknown = 'include-unknown-enum-members' in self.headers.get('Prefer', '').lower()
        extra = {'Preference-Applied': 'include-unknown-enum-members'} if include_unknown else {}
        beta = version == 'beta'
        ua = self.headers.get('User-Agent')
        if alert_id is not None:
            with tenant.lock:
                a = tenant.by_id.get(alert_id)
                obj = render_graph(a, tenant.id, include_unknown, beta) if a else None
            if obj is None:
                return self.api_error('graph', 404, 'NotFound', "Alert '%s' was not found."
                                      % alert_id, tenant=tenant)
            obj = dict({'@odata.context': '%s/%s/$metadata#security/alerts_v2/$entity'
                        % (self.base_url(), version)}, **obj)
            emu.count(tenant, 'graph', 200, 1, ua)
            return self.send_json(200, obj, JSON_GRAPH, extra, 'graph', tenant)
        try:
            opts, order = self.query_options('graph', query, GRAPH_OPTIONS)
            page = self.graph_page(tenant, opts, order, version, include_unknown)
        except ODataError as e:
            return self.api_error('graph', 400, 'BadRequest', str(e), tenant=tenant)
        if page is None:
            return
        emu.count(tenant, 'graph', 200, len(page['value']), ua)
        self.send_json(200, page, JSON_GRAPH, extra, 'graph', tenant)

    def graph_page(self, tenant, opts, order, version, include_unknown):
        emu = self.server.emu
        o = emu.opts
        pred = parse_filter(opts['$filter'], GRAPH_SCHEMA) if opts.get('$filter') else None
        ordering = parse_orderby(opts['$orderby'], GRAPH_ORDER) if opts.get('$orderby') \
            else [(GRAPH_SCHEMA['createdDateTime'], True)]
        top = self.top_value(opts['$top'], o.graph_max_top) if '$top' in opts else None
        skip = self.skip_value(opts['$skip']) if '$skip' in opts else 0
        count = opts.get('$count', '').lower()
        if count not in ('', 'true', 'false'):
            raise ODataError("'%s' is not a valid count option." % opts['$count'])
        select = [s.strip() for s in opts['$select'].split(',')] if opts.get('$select') else None
        size = top if top is not None else o.graph_page_size
        pref = self.headers.get('Prefer', '').lower()
        if 'odata.maxpagesize=' in pref:
            try:
                size = min(size, int(pref.split('odata.maxpagesize=')[1].split(',')[0]))
            except ValueError:
                pass
        canon = hashlib.sha256(json.dumps(sorted((k, v) for k, v in opts.items()
                                                 if k != '$skiptoken')).encode()).hexdigest()[:16]
        state = None
        if '$skiptoken' in opts:
            state = emu.read_skiptoken(opts['$skiptoken'])
            if state is None or state.get('q') != canon or state.get('t') != tenant.id:
                raise ODataError('The provided $skiptoken is invalid or does not belong to '
                                 'this query; follow @odata.nextLink unchanged.')
            dp = tenant.faults.peek('deep_paging', 'graph')
            if dp and dp['mode'] == 'error' and state['n'] >= dp['after_pages']:
                emu.fault_served(tenant, 'deep_paging')
                raise ODataError('The $skiptoken is no longer valid: paging beyond this point '
                                 'is not supported. Narrow the query (e.g. by '
                                 'lastUpdateDateTime) and start again.')
        with tenant.lock:
            rows = [a for a in tenant.alerts if pred is None or pred(a)]
            keyed = sorted(((sort_key(ordering, a), a) for a in rows), key=lambda x: x[0])
            total = len(keyed)
            if state is not None:
                last = _to_tuple(state['k'])
                start = next((i for i, (k, _) in enumerate(keyed) if k > last), total)
                page_no = state['n']
            else:
                start, page_no = min(skip, total), 0
            if select:
                bad = [s for s in select if s not in render_graph(keyed[0][1], '', True)] \
                    if keyed else []
                if bad:
                    raise ODataError("Could not find a property named '%s' on type "
                                     "'microsoft.graph.security.alert'." % bad[0])
            empty = tenant.faults.take('empty_page', 'graph') if start < total else None
            chunk = [] if empty else keyed[start:start + size] if size else []
            value = [render_graph(a, tenant.id, include_unknown, version == 'beta')
                     for _, a in chunk]
        if empty:
            emu.fault_served(tenant, 'empty_page')
        if select:
            value = [{k: v[k] for k in select if k in v} for v in value]
        out = {'@odata.context': '%s/%s/$metadata#security/alerts_v2' % (self.base_url(),
                                                                          version)}
        if count == 'true':
            out['@odata.count'] = total
        nxt = start + len(chunk)
        more = nxt < total and size > 0
        dp = tenant.faults.peek('deep_paging', 'graph')
        if more and dp and dp['mode'] == 'stop' and page_no + 1 >= dp['after_pages']:
            emu.fault_served(tenant, 'deep_paging')
            more = False
        if more:
            last_key = chunk[-1][0] if chunk else (
                _to_tuple(state['k']) if state else keyed[start - 1][0] if start else None)
            if last_key is None:
                last_key = ()
            tok = emu.make_skiptoken({'t': tenant.id, 'q': canon, 'k': last_key,
                                      'n': page_no + 1})
            out['@odata.nextLink'] = self.link('/%s/security/alerts_v2' % version, opts, order,
                                               {'$skiptoken': tok})
        out['value'] = value
        return out

    # ------------------------------------------------------------ /api/alerts (MDE or SIEM)
    def api_alerts(self, prefix, alert_id, query):
        host = (self.headers.get('Host') or '').lower()
        want = prefix if prefix in ('mde', 'siem') else (
            'siem' if host.startswith('wdatp-alertexporter') else None)
        got = self.bearer(want)
        if got is None:
            return
        tenant, api = got
        if api == 'siem':
            return self.siem(tenant, prefix, query)
        return self.mde(tenant, prefix, alert_id, query)

    def mde(self, tenant, prefix, alert_id, query):
        emu = self.server.emu
        ua = self.headers.get('User-Agent')
        base_path = ('/' + prefix if prefix else '') + '/api'
        ctx = '%s%s/$metadata#Alerts' % (self.base_url(), base_path)
        try:
            opts, order = self.query_options('mde', query, MDE_OPTIONS)
            expand = opts.get('$expand')
            if expand is not None and expand.strip() not in ('evidence', 'Evidence'):
                raise ODataError("Could not find a property named '%s' on type "
                                 "'WindowsDefenderATP.Api.Alert' to expand." % expand)
            expand = expand is not None
            if alert_id is not None:
                with tenant.lock:
                    a = tenant.by_id.get(alert_id)
                    ok = a is not None and a['serviceSource'] == 'microsoftDefenderForEndpoint'
                    obj = render_mde(a, tenant.id, expand) if ok else None
                if obj is None:
                    return self.api_error('mde', 404, 'ResourceNotFound',
                                          'Alert %s was not found' % alert_id, tenant=tenant)
                emu.count(tenant, 'mde', 200, 1, ua)
                return self.send_json(200, dict({'@odata.context': ctx + '/$entity'}, **obj),
                                      JSON_MDE, None, 'mde', tenant)
            page = self.mde_page(tenant, opts, order, expand, ctx, base_path)
        except ODataError as e:
            return self.api_error('mde', 400, 'ODataError', str(e), tenant=tenant)
        if page is None:
            return
        emu.count(tenant, 'mde', 200, len(page['value']), ua)
        self.send_json(200, page, JSON_MDE, None, 'mde', tenant)

    def mde_page(self, tenant, opts, order, expand, ctx, base_path):
        emu = self.server.emu
        o = emu.opts
        pred = parse_filter(opts['$filter'], MDE_SCHEMA, True) if opts.get('$filter') else None
        ordering = parse_orderby(opts['$orderby'], MDE_SCHEMA, True) if opts.get('$orderby') \
            else [(MDE_SCHEMA['alertCreationTime'], True)]
        top = self.top_value(opts['$top'], 10000) if '$top' in opts else None
        skip = self.skip_value(opts['$skip']) if '$skip' in opts else 0
        size = top if top is not None else o.mde_page_size
        dp = tenant.faults.peek('deep_paging', 'mde')
        page_no = skip // max(1, o.mde_page_size) if top is None else 0
        if dp and top is None and dp['mode'] == 'error' and skip and \
                page_no >= dp['after_pages']:
            emu.fault_served(tenant, 'deep_paging')
            raise ODataError('Paging beyond $skip=%d is not supported; narrow the time window.'
                             % skip)
        with tenant.lock:
            rows = [a for a in tenant.alerts
                    if a['serviceSource'] == 'microsoftDefenderForEndpoint'
                    and (pred is None or pred(a))]
            rows.sort(key=lambda a: sort_key(ordering, a))
            chunk = rows[skip:skip + size]
            value = [render_mde(a, tenant.id, expand) for a in chunk]
            total = len(rows)
        out = {'@odata.context': ctx}
        if opts.get('$count', '').lower() == 'true':
            out['@odata.count'] = total
        more = top is None and skip + len(chunk) < total
        if more and dp and dp['mode'] == 'stop' and page_no + 1 >= dp['after_pages']:
            emu.fault_served(tenant, 'deep_paging')
            more = False
        out['value'] = value
        if more:
            out['@odata.nextLink'] = self.link(base_path + '/alerts', opts, order,
                                               {'$skip': str(skip + len(chunk))})
        return out

    def siem(self, tenant, prefix, query):
        emu = self.server.emu
        params = collections.defaultdict(list)
        for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
            params[k.lower()].append(v)
        now = now_ticks()
        try:
            if params.get('ago'):
                since = now - int(parse_iso_duration(params['ago'][0]) * TICKS_PER_SEC)
                until = now
            else:
                since = parse_datetime(params['sincetimeutc'][0], False) \
                    if params.get('sincetimeutc') else now - 2 * 3600 * TICKS_PER_SEC
                until = parse_datetime(params['untiltimeutc'][0], False) \
                    if params.get('untiltimeutc') else now
            limit = int(params['limit'][0]) if params.get('limit') else None
            if limit is not None and limit < 0:
                raise ValueError('limit must not be negative')
        except ValueError as e:
            return self.api_error('siem', 400, 'BadRequest', 'Invalid request: %s' % e,
                                  tenant=tenant)
        groups = set(params.get('machinegroups', []))
        dtags = params.get('devicecreatedmachinetags', [None])[0]
        ctags = params.get('cloudcreatedmachinetags', [None])[0]
        with tenant.lock:
            recs = []
            for a in tenant.alerts:
                if groups and a['device']['rbacGroupName'] not in groups:
                    continue
                if dtags and dtags not in a['device']['tags']:
                    continue
                if ctags and ctags != a['device']['cloudTags']:
                    continue
                for p in a['siem']:
                    if since <= p['processed'] <= until:
                        recs.append((p['processed'], a, p))
            recs.sort(key=lambda r: (r[0], r[1]['id'], r[2]['part']))
            if limit is not None:
                recs = recs[len(recs) - limit:] if limit else []
            out = [render_siem(a, p) for _, a, p in recs]
        emu.count(tenant, 'siem', 200, len(out), self.headers.get('User-Agent'))
        self.send_json(200, out, JSON_PLAIN, None, 'siem', tenant)

    # ------------------------------------------------------------ /_emu control
    def control(self, method, parts, query, body):
        import emu_control
        status, obj = emu_control.handle(self.server.emu, method, parts, query, body)
        self.send_json(status, obj, JSON_PLAIN)


def expected_view(tenant, source, full):
    """Current alerts of a tenant as the test sees them (called with tenant.lock held)."""
    if source == 'graph':
        if full:
            return [render_graph(a, tenant.id, True) for a in tenant.alerts]
        return [{'id': a['id'], 'lastUpdateDateTime': fmt7(a['updated']),
                 'createdDateTime': fmt7(a['created']), 'status': a['status'],
                 'severity': a['severity'], 'serviceSource': a['serviceSource']}
                for a in tenant.alerts]
    mde = [a for a in tenant.alerts if a['serviceSource'] == 'microsoftDefenderForEndpoint']
    if source == 'mde':
        if full:
            return [render_mde(a, tenant.id, True) for a in mde]
        return [{'id': a['id'], 'lastUpdateTime': fmt_trim(a['updated']),
                 'alertCreationTime': fmt_trim(a['created']),
                 'status': a['status'][0].upper() + a['status'][1:]} for a in mde]
    out = []
    for a in mde:
        for p in a['siem']:
            out.append(render_siem(a, p) if full else {
                'FullId': '%s:%s' % (a['id'], p['ioc']), 'AlertId': a['id'],
                'LastProcessedTimeUtc': fmt7(p['processed'])})
    return out


