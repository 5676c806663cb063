#!/usr/bin/python3
"""Self-test of the Defender emulator: makes a test PKI with mkcerts.sh, starts
defender_emu.py as a subprocess over HTTPS and checks, with plain http.client
requests, the token endpoint (secret, HTTP Basic, v1, certificate assertions
built with python3-cryptography, Entra error codes), Graph alerts_v2 (filters,
paging, skiptoken, enums), MDE /api/alerts, the SIEM API, faults (429, 5xx,
malformed, truncated, revoked consent, expiring tokens, deep paging, boundary tie)
and the /_emu endpoints. Exits 1 on any failure. Runs in well under 30 s.

  /usr/bin/python3 tests/emulator/test_emulator_selftest.py [--keep] [--scale]

--scale additionally runs 1,000 tenants x 10 alerts with 20 ms latency under
parallel load (about 10 s more; not part of the default run).
"""

import base64
import functools
import gzip
import hashlib
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'data')
PY = '/usr/bin/python3'
CLIENT_ID = '11111111-1111-1111-1111-111111111111'
SECRET = 'emu8Q~Secret+/=&%.value_1'
GRAPH_SCOPE = 'https://graph.microsoft.com/.default'
MDE_RES = 'https://api.securitycenter.microsoft.com'
SIEM_RES = 'https://graph.windows.net'

FAILS = []
PASSES = [0]


def check(cond, what):
    if cond:
        PASSES[0] += 1
    else:
        FAILS.append(what)
        print('FAIL: %s' % what, flush=True)


class Emu:
    """A running emulator subprocess plus a tiny HTTPS client for it."""

    def __init__(self, certdir, args):
        self.certdir = certdir
        self.proc = subprocess.Popen([PY, os.path.join(HERE, 'defender_emu.py'),
                                      '--certdir', certdir] + args,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith('READY port='):
            raise SystemExit('emulator did not start: %r %s' % (line, self.proc.stderr.read()))
        self.port = int(line.strip().split('=')[1])
        self.base = 'https://127.0.0.1:%d' % self.port
        self.ctx = ssl.create_default_context(cafile=os.path.join(certdir, 'ca.crt'))
        self.local = threading.local()

    def conn(self, fresh=False):
        c = getattr(self.local, 'c', None)
        if c is None or fresh:
            c = http.client.HTTPSConnection('127.0.0.1', self.port, context=self.ctx,
                                            timeout=30)
            self.local.c = c
        return c

    def request(self, method, path, body=None, headers=None, raw=False):
        """Returns (status, headers dict (lower-case), parsed JSON or bytes)."""
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers.setdefault('Content-Type', 'application/json')
        for attempt in (0, 1):
            c = self.conn(fresh=attempt == 1)
            try:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                if attempt:
                    raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if r.getheader('Connection', '').lower() == 'close':
            self.local.c = None
        if hdrs.get('content-encoding') == 'gzip':
            data = gzip.decompress(data)
        if raw:
            return r.status, hdrs, data
        try:
            return r.status, hdrs, json.loads(data)
        except ValueError:
            return r.status, hdrs, data

    def get(self, path, token=None, headers=None, raw=False):
        h = dict(headers or {})
        if token:
            h['Authorization'] = 'Bearer ' + token
        return self.request('GET', path, headers=h, raw=raw)

    def form(self, path, fields, headers=None):
        h = {'Content-Type': 'application/x-www-form-urlencoded'}
        h.update(headers or {})
        return self.request('POST', path, urllib.parse.urlencode(fields).encode(), h)

    def control(self, **spec):
        st, _, body = self.request('POST', '/_emu/control', spec)
        assert st == 200, (st, body)
        return body

    def token(self, tenant, scope=GRAPH_SCOPE, resource=None, secret=SECRET):
        if resource:
            st, _, body = self.form('/%s/oauth2/token' % tenant, {
                'grant_type': 'client_credentials', 'client_id': CLIENT_ID,
                'client_secret': secret, 'resource': resource})
        else:
            st, _, body = self.form('/%s/oauth2/v2.0/token' % tenant, {
                'grant_type': 'client_credentials', 'client_id': CLIENT_ID,
                'client_secret': secret, 'scope': scope})
        assert st == 200, (st, body)
        return body['access_token']

    def stop(self):
        self.proc.terminate()
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        return rc


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


@functools.lru_cache(maxsize=None)
def load_pair(certdir, name):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    with open(os.path.join(certdir, name + '.crt'), 'rb') as f:
        der = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)
    with open(os.path.join(certdir, name + '.key'), 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), None)
    return der, key


def assertion(certdir, aud, name='client', alg='RS256', iss=CLIENT_ID, exp_in=600, jti=True,
              tamper=False):
    """A client assertion JWT signed with name.key (RS256+x5t or PS256+x5t#S256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    der, key = load_pair(certdir, name)
    header = {'alg': alg, 'typ': 'JWT'}
    if alg == 'RS256':
        header['x5t'] = b64url(hashlib.sha1(der).digest())
    else:
        header['x5t#S256'] = b64url(hashlib.sha256(der).digest())
    now = int(time.time())
    claims = {'aud': aud, 'iss': iss, 'sub': iss, 'nbf': now, 'iat': now, 'exp': now + exp_in}
    if jti:
        claims['jti'] = str(uuid.uuid4())
    signing = '%s.%s' % (b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()))
    pad = padding.PKCS1v15() if alg == 'RS256' else padding.PSS(
        mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    sig = key.sign(signing.encode(), pad, hashes.SHA256())
    if tamper:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    return signing + '.' + b64url(sig)


def q(params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe='$')


def aad_code(body):
    return body.get('error_codes', [None])[0] if isinstance(body, dict) else None


# ------------------------------------------------------------------ tests

def test_tokens(emu):
    st, h, b = emu.form('/contoso/oauth2/v2.0/token', {
        'grant_type': 'client_credentials', 'client_id': CLIENT_ID, 'client_secret': SECRET,
        'scope': GRAPH_SCOPE})
    check(st == 200 and b['token_type'] == 'Bearer' and isinstance(b['expires_in'], int)
          and 'ext_expires_in' in b and b['access_token'].count('.') == 2,
          'v2 secret token response %s %s' % (st, b))
    check('no-store' in h.get('cache-control', ''), 'token response not cacheable')
    basic = base64.b64encode(('%s:%s' % (CLIENT_ID, urllib.parse.quote_plus(SECRET)))
                             .encode()).decode()
    st, _, b = emu.form('/contoso/oauth2/v2.0/token', {'grant_type': 'client_credentials',
                                                       'scope': GRAPH_SCOPE},
                        {'Authorization': 'Basic ' + basic})
    check(st == 200, 'HTTP Basic client auth %s %s' % (st, b))
    st, _, b = emu.form('/contoso/oauth2/token', {
        'grant_type': 'client_credentials', 'client_id': CLIENT_ID, 'client_secret': SECRET,
        'resource': MDE_RES})
    check(st == 200 and b['resource'] == MDE_RES and isinstance(b['expires_on'], str)
          and int(b['expires_on']) > time.time(), 'v1 token response %s' % b)
    cases = [
        ('/contoso/oauth2/v2.0/token', {'client_secret': 'wrong'}, 401, 'invalid_client', 7000215),
        ('/contoso/oauth2/v2.0/token', {'client_secret': 'old-secret'}, 401, 'invalid_client',
         7000222),
        ('/99999999-0000-0000-0000-000000000000/oauth2/v2.0/token', {}, 400, 'invalid_request',
         90002),
        ('/contoso/oauth2/v2.0/token', {'client_id': str(uuid.uuid4())}, 400,
         'unauthorized_client', 700016),
        ('/contoso/oauth2/v2.0/token', {'scope': 'https://graph.microsoft.com/SecurityAlert.Read.All'},
         400, 'invalid_scope', 1002012),
        ('/contoso/oauth2/v2.0/token', {'scope': GRAPH_SCOPE + ' ' + MDE_RES + '/.default'}, 400,
         'invalid_scope', 28000),
        ('/graphonly/oauth2/v2.0/token', {'scope': MDE_RES + '/.default'}, 400,
         'invalid_resource', 500011),
        ('/contoso/oauth2/v2.0/token', {'grant_type': 'password'}, 400,
         'unsupported_grant_type', 70003),
        ('/contoso/oauth2/v2.0/token', {'client_secret': None}, 401, 'invalid_client', 7000218),
    ]
    for path, over, status, err, code in cases:
        fields = {'grant_type': 'client_credentials', 'client_id': CLIENT_ID,
                  'client_secret': SECRET, 'scope': GRAPH_SCOPE}
        fields.update(over)
        fields = {k: v for k, v in fields.items() if v is not None}
        st, _, b = emu.form(path, fields)
        check(st == status and b.get('error') == err and aad_code(b) == code
              and ('AADSTS%d:' % code) in b.get('error_description', '')
              and 'trace_id' in b and 'correlation_id' in b,
              'token error %s expected %d %s %d, got %s %s' % (over, status, err, code, st, b))


def test_cert_assertions(emu, certdir):
    tenant_id = '7a1c2c51-98b7-4a8e-9f0f-0123456789ab'
    aud = '%s/%s/oauth2/v2.0/token' % (emu.base, tenant_id)

    def post(tok, path='/%s/oauth2/v2.0/token' % tenant_id):
        return emu.form(path, {
            'grant_type': 'client_credentials', 'client_id': CLIENT_ID, 'scope': GRAPH_SCOPE,
            'client_assertion_type': 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            'client_assertion': tok})
    st, _, b = post(assertion(certdir, aud))
    check(st == 200 and 'access_token' in b, 'RS256/x5t assertion accepted: %s %s' % (st, b))
    if st == 200:
        s2, _, page = emu.get('/v1.0/security/alerts_v2?$top=1', b['access_token'])
        check(s2 == 200 and page['value'] and page['value'][0]['tenantId'] == tenant_id,
              'certificate token reads its tenant')
    st, _, b = post(assertion(certdir, aud, alg='PS256'))
    check(st == 200, 'PS256/x5t#S256 assertion accepted: %s %s' % (st, b))
    bad = [
        (assertion(certdir, aud, name='rogue'), 700027),
        (assertion(certdir, aud, tamper=True), 700027),
        (assertion(certdir, aud, exp_in=-3600), 700024),
        (assertion(certdir, emu.base + '/other-tenant/oauth2/v2.0/token'), 700212),
        (assertion(certdir, aud, iss=str(uuid.uuid4())), 700021),
        (assertion(certdir, aud, jti=False), 50027),
        ('not.a.jwt', 50027),
    ]
    for tok, code in bad:
        st, _, b = post(tok)
        check(st == 401 and b.get('error') == 'invalid_client' and aad_code(b) == code,
              'bad assertion expected AADSTS%d, got %s %s' % (code, st, b))
    # contoso has no certificate registered
    st, _, b = post(assertion(certdir, '%s/contoso/oauth2/v2.0/token' % emu.base),
                    '/contoso/oauth2/v2.0/token')
    check(st == 401 and aad_code(b) == 700027, 'assertion for app without cert: %s' % b)


def window_ids(rows, key, lo, hi):
    return {r['id'] for r in rows if lo <= r[key] < hi}


def fetch_all(emu, path, token, headers=None, max_pages=200):
    """Follow @odata.nextLink unchanged; returns (items, pages)."""
    items, pages, url = [], 0, path
    while url and pages < max_pages:
        st, _, b = emu.get(url, token, headers)
        assert st == 200, (st, b)
        pages += 1
        items += b['value']
        nxt = b.get('@odata.nextLink')
        url = nxt[len(emu.base):] if nxt else None
        assert not nxt or nxt.startswith(emu.base), nxt
    return items, pages


def test_graph(emu):
    tok = emu.token('tenant1')
    mde_tok = emu.token('tenant1', MDE_RES + '/.default')
    st, h, b = emu.get('/v1.0/security/alerts_v2')
    check(st == 401 and 'www-authenticate' in h and
          b['error']['code'] == 'InvalidAuthenticationToken', 'graph without token -> 401')
    st, _, b = emu.get('/v1.0/security/alerts_v2', mde_tok)
    check(st == 401 and 'audience' in b['error']['message'], 'MDE token on Graph -> 401')
    st, _, b = emu.get('/v1.0/security/alerts_v2', 'garbage')
    check(st == 401, 'garbage token -> 401')

    _, _, exp = emu.get('/_emu/alerts?tenant=tenant1&source=graph')
    rows = exp['alerts']
    times = sorted(r['lastUpdateDateTime'] for r in rows)
    lo, hi = times[3], times[-3]
    want = window_ids(rows, 'lastUpdateDateTime', lo, hi)
    filt = 'lastUpdateDateTime ge %s and lastUpdateDateTime lt %s' % (lo, hi)
    path = '/v1.0/security/alerts_v2?' + q({'$filter': filt, '$top': 7,
                                            '$orderby': 'lastUpdateDateTime asc'})
    items, pages = fetch_all(emu, path, tok)
    got = [i['id'] for i in items]
    check(set(got) == want and len(got) == len(want),
          'graph window via nextLink: %d items, want %d' % (len(got), len(want)))
    check(pages == (len(want) + 6) // 7 or pages == (len(want) + 6) // 7 + (len(want) % 7 == 0),
          'graph page count %d for %d items' % (pages, len(want)))
    lu = [i['lastUpdateDateTime'] for i in items]
    check(lu == sorted(lu), 'graph $orderby lastUpdateDateTime asc')
    check(all(len(x) == 28 and x.endswith('Z') for x in lu), 'graph 7-digit timestamps')
    # skiptoken must be followed unchanged
    st, _, b = emu.get(path, tok)
    nxt = b['@odata.nextLink'][len(emu.base):]
    st, _, b = emu.get(nxt.replace('%24top=7', '%24top=8').replace('$top=7', '$top=8'), tok)
    check(st == 400, 'altered nextLink rejected: %s' % st)
    st, _, b = emu.get(nxt[:-3] + 'AAA', tok)
    check(st == 400, 'forged skiptoken rejected')
    # combined filter
    filt2 = "severity eq 'high' and (lastUpdateDateTime gt %s and lastUpdateDateTime le %s)" % (
        lo, hi)
    items, _ = fetch_all(emu, '/v1.0/security/alerts_v2?' + q({'$filter': filt2}), tok)
    want2 = {r['id'] for r in rows if r['severity'] == 'high' and lo < r['lastUpdateDateTime'] <= hi}
    check({i['id'] for i in items} == want2, 'combined severity/time filter')
    # createdDateTime filter
    ctimes = sorted(r['createdDateTime'] for r in rows)
    items, _ = fetch_all(emu, '/v1.0/security/alerts_v2?' + q({
        '$filter': 'createdDateTime ge %s' % ctimes[5]}), tok)
    check({i['id'] for i in items} == {r['id'] for r in rows if r['createdDateTime'] >= ctimes[5]},
          'createdDateTime filter')
    # literal parsing: 0..7 fraction digits and offsets
    for lit in ('2020-01-01T00:00:00Z', '2020-01-01T00:00:00.1Z', '2020-01-01T01:00:00+01:00',
                '2020-01-01T00:00:00.1234567Z'):
        st, _, b = emu.get('/v1.0/security/alerts_v2?' + q({
            '$filter': 'lastUpdateDateTime ge %s' % lit, '$top': 1}), tok)
        check(st == 200, 'datetime literal %s accepted (%s)' % (lit, st))
    for bad in ("lastUpdateDateTime ge '2020-01-01T00:00:00Z'",
                'lastUpdateDateTime ge 2020-13-01T00:00:00Z',
                'lastUpdateDateTime ge 2020-01-01T00:00:00.12345678Z',
                'investigationState eq \'running\'', "severity eq 'High'",
                'lastUpdateDateTime ge', 'evidence/any(e: e/verdict eq \'malicious\')'):
        st, _, b = emu.get('/v1.0/security/alerts_v2?' + q({'$filter': bad}), tok)
        check(st == 400 and b['error']['code'] == 'BadRequest', 'bad filter %r -> 400 (%s)'
              % (bad, st))
    st, _, b = emu.get('/v1.0/security/alerts_v2?$top=5000', tok)
    check(st == 400 and 'limit' in b['error']['message'], '$top over max -> 400')
    st, _, b = emu.get('/v1.0/security/alerts_v2?$top=2&$count=true&$skip=1', tok)
    check(st == 200 and b['@odata.count'] == len(rows) and len(b['value']) == 2
          and '@odata.context' in b, '$count/$skip/@odata.context')
    st, _, b = emu.get('/v1.0/security/alerts_v2?$foo=1', tok)
    check(st == 400, 'unknown query option -> 400')
    st, _, b = emu.get('/v1.0/security/alerts_v2/%s' % rows[0]['id'], tok)
    check(st == 200 and b['id'] == rows[0]['id'], 'single alert by id')
    # schema parity with Microsoft's example
    with open(os.path.join(DATA, 'graph-alerts_v2.json')) as f:
        sample = json.load(f)['value'][0]
    st, _, b = emu.get('/v1.0/security/alerts_v2?$top=50', tok)
    check(all(set(sample) <= set(a) for a in b['value']), 'graph alert has every sample field')
    kinds = {e['@odata.type'] for a in b['value'] for e in a['evidence']}
    check(len(kinds) >= 4 and '#microsoft.graph.security.deviceEvidence' in kinds,
          'several evidence kinds: %s' % sorted(kinds))


def test_enums_and_evidence(emu):
    tok = emu.token('tenant2')
    found = None
    for _ in range(20):
        _, _, exp = emu.get('/_emu/alerts?tenant=tenant2&source=graph')
        found = [r['id'] for r in exp['alerts'] if r['serviceSource'] == 'microsoftDefenderForCloud']
        if found:
            break
        emu.request('POST', '/_emu/generate', {'tenant': 'tenant2', 'count': 20})
    check(bool(found), 'a Defender for Cloud alert exists')
    if not found:
        return
    st, _, a = emu.get('/v1.0/security/alerts_v2/%s' % found[0], tok)
    check(a['serviceSource'] == 'unknownFutureValue' and
          a['detectionSource'] == 'unknownFutureValue', 'evolvable enums hidden without Prefer')
    st, h, a = emu.get('/v1.0/security/alerts_v2/%s' % found[0], tok,
                       {'Prefer': 'include-unknown-enum-members'})
    check(a['serviceSource'] == 'microsoftDefenderForCloud' and
          a['detectionSource'] == 'microsoftDefenderForContainers',
          'Prefer: include-unknown-enum-members honoured')
    items, _ = fetch_all(emu, '/v1.0/security/alerts_v2', tok)
    known = {'device', 'file', 'process', 'user', 'ip', 'url', 'registryKey', 'registryValue',
             'mailbox', 'analyzedMessage', 'cloudApplication', 'kubernetesPod', 'azureResource'}
    odd = [e['@odata.type'] for i in items for e in i['evidence']
           if e['@odata.type'].split('.')[-1][:-len('Evidence')] not in known]
    check(len(odd) > 0, 'some alerts carry an evidence type clients do not know')


def test_paging_faults(emu):
    tok = emu.token('tenant3')
    emu.control(tenant='tenant3', fault='deep_paging', after_pages=2, mode='error', api='graph')
    path = '/v1.0/security/alerts_v2?' + q({'$top': 3, '$orderby': 'lastUpdateDateTime asc'})
    st, _, b = emu.get(path, tok)
    n1 = b['@odata.nextLink'][len(emu.base):]
    st, _, b = emu.get(n1, tok)
    check(st == 200, 'deep paging: page 2 ok')
    st, _, b = emu.get(b['@odata.nextLink'][len(emu.base):], tok)
    check(st == 400, 'deep paging: page 3 -> 400 (%s)' % st)
    emu.control(tenant='tenant3', fault='clear', kind='deep_paging')
    emu.control(tenant='tenant3', fault='deep_paging', after_pages=1, mode='stop', api='graph')
    st, _, b = emu.get(path, tok)
    check(st == 200 and '@odata.nextLink' not in b and len(b['value']) == 3,
          'deep paging stop: full page without nextLink')
    emu.control(tenant='tenant3', fault='clear')
    emu.control(tenant='tenant3', fault='empty_page', count=1)
    st, _, b = emu.get(path, tok)
    check(st == 200 and b['value'] == [] and '@odata.nextLink' in b, 'empty page with nextLink')
    st, _, b = emu.get(b['@odata.nextLink'][len(emu.base):], tok)
    check(st == 200 and len(b['value']) == 3, 'after the empty page the data follows')
    # boundary tie: 4 distinct, then 5 sharing one lastUpdateDateTime; page size 6
    r = emu.control(tenant='tenant3', fault='boundary_tie', before=4, tie=5, ago_s=30)
    res = next(iter(r['result'].values()))
    tie = res['tie_lastUpdateDateTime']
    lo = tie[:17] + '00.0000000Z'          # start of that minute
    _, _, exp = emu.get('/_emu/alerts?tenant=tenant3&source=graph')
    same = [x for x in exp['alerts'] if x['lastUpdateDateTime'] == tie]
    check(len(same) == 5, 'boundary tie: 5 alerts share %s' % tie)
    filt = 'lastUpdateDateTime ge %s and lastUpdateDateTime le %s' % (lo, tie)
    items, pages = fetch_all(emu, '/v1.0/security/alerts_v2?' + q({
        '$filter': filt, '$top': 6, '$orderby': 'lastUpdateDateTime asc'}), tok)
    ids = [i['id'] for i in items]
    check(set(res['ids']) <= set(ids) and len(ids) == len(set(ids)),
          'boundary tie: nextLink paging loses nothing')
    if len(items) >= 7:
        pos = [k for k, i in enumerate(items) if i['lastUpdateDateTime'] == tie]
        check(min(pos) < 6 <= max(pos), 'boundary tie straddles the page boundary: %s' % pos)


def test_http_faults(emu):
    tok = emu.token('tenant1')
    path = '/v1.0/security/alerts_v2?$top=2'
    emu.get('/_emu/stats')
    emu.control(tenant='tenant1', fault='throttle', count=2, retry_after=1, api='graph')
    s1, h1, b1 = emu.get(path, tok)
    s2, h2, _ = emu.get(path, tok)
    s3, _, _ = emu.get(path, tok)
    check(s1 == 429 and s2 == 429 and s3 == 200 and h1.get('retry-after') == '1'
          and b1['error']['code'] == 'TooManyRequests', '429 burst with Retry-After')
    _, _, st = emu.get('/_emu/stats?tenant=tenant1')
    check(st['stats']['throttled'] >= 2, '429s counted in stats')
    emu.control(tenant='tenant1', fault='server_error', count=1, status=503, api='graph')
    s1, _, b1 = emu.get(path, tok)
    s2, _, _ = emu.get(path, tok)
    check(s1 == 503 and s2 == 200, '5xx once then recovery')
    emu.control(tenant='tenant1', fault='malformed', count=1, api='graph')
    s1, _, b1 = emu.get(path, tok, raw=True)
    try:
        json.loads(b1)
        ok = False
    except ValueError:
        ok = True
    check(s1 == 200 and ok, 'malformed JSON body')
    emu.control(tenant='tenant1', fault='truncate', count=1, api='graph')
    s1, h1, b1 = emu.get(path, tok, raw=True)
    try:
        json.loads(b1)
        ok = False
    except ValueError:
        ok = True
    check(s1 == 200 and ok and int(h1['content-length']) == len(b1), 'truncated JSON body')
    emu.control(tenant='tenant1', fault='truncate', count=1, mode='connection', api='graph')
    try:
        emu.get(path, tok, raw=True)
        ok = False
    except (http.client.IncompleteRead, ConnectionError, http.client.HTTPException):
        ok = True
        emu.local.c = None
    check(ok, 'connection cut mid-body')
    s1, h1, b1 = emu.get('/v1.0/security/alerts_v2?$top=20', tok,
                         {'Accept-Encoding': 'gzip'}, raw=True)
    check(s1 == 200 and h1.get('content-encoding') == 'gzip' and json.loads(b1)['value'],
          'gzip when asked')
    emu.control(tenant='tenant1', fault='drop', count=1, api='graph')
    c = http.client.HTTPSConnection('127.0.0.1', emu.port, context=emu.ctx, timeout=10)
    try:
        c.request('GET', path, headers={'Authorization': 'Bearer ' + tok})
        c.getresponse().read()
        ok = False
    except (http.client.HTTPException, ConnectionError):
        ok = True
    c.close()
    check(ok, 'drop: connection closed without a response')
    emu.control(tenant='tenant1', set={'latency_ms': 150})
    t0 = time.time()
    emu.get(path, tok)
    check(time.time() - t0 >= 0.15, 'per-tenant latency')
    emu.control(tenant='tenant1', set={'latency_ms': 0})


def test_consent_and_expiry(emu):
    tok = emu.token('tenant2')
    emu.control(tenant='tenant2', fault='revoke_consent')
    st, _, b = emu.get('/v1.0/security/alerts_v2?$top=1', tok)
    check(st == 403 and b['error']['code'] == 'Forbidden', 'revoked consent: API 403')
    st, _, b = emu.form('/tenant2/oauth2/v2.0/token', {
        'grant_type': 'client_credentials', 'client_id': CLIENT_ID, 'client_secret': SECRET,
        'scope': GRAPH_SCOPE})
    check(st == 400 and aad_code(b) == 700016, 'revoked consent: token AADSTS700016')
    emu.control(tenant='tenant2', fault='restore_consent')
    st, _, _ = emu.get('/v1.0/security/alerts_v2?$top=1', tok)
    check(st == 200, 'consent restored')
    emu.control(tenant='tenant2', fault='token_expire_after', seconds=1)
    tok2 = emu.token('tenant2')
    st, _, _ = emu.get('/v1.0/security/alerts_v2?$top=1', tok2)
    check(st == 200, 'token valid before hard expiry')
    time.sleep(1.2)
    st, h, b = emu.get('/v1.0/security/alerts_v2?$top=1', tok2)
    check(st == 401 and 'expired' in b['error']['message'], 'token expired mid-run -> 401')
    emu.control(tenant='tenant2', fault='clear')
    emu.control(tenant='tenant2', fault='token_ttl', seconds=30)
    _, _, b = emu.form('/tenant2/oauth2/v2.0/token', {
        'grant_type': 'client_credentials', 'client_id': CLIENT_ID, 'client_secret': SECRET,
        'scope': GRAPH_SCOPE})
    check(b.get('expires_in') == 30, 'token_ttl changes expires_in')
    tok3 = b['access_token']
    emu.control(tenant='tenant2', fault='expire_tokens')
    st, _, _ = emu.get('/v1.0/security/alerts_v2?$top=1', tok3)
    check(st == 401, 'expire_tokens -> 401')
    emu.control(tenant='tenant2', fault='token_ttl', seconds=3600)
    emu.control(tenant='tenant2', fault='throttle', count=1, retry_after=2, api='token')
    st, h, _ = emu.form('/tenant2/oauth2/v2.0/token', {
        'grant_type': 'client_credentials', 'client_id': CLIENT_ID, 'client_secret': SECRET,
        'scope': GRAPH_SCOPE})
    check(st == 429 and h.get('retry-after') == '2', 'token endpoint 429')


def test_mde(emu):
    tok = emu.token('tenant1', resource=MDE_RES)
    _, _, exp = emu.get('/_emu/alerts?tenant=tenant1&source=mde')
    rows = exp['alerts']
    times = sorted(r['lastUpdateTime'] for r in rows)
    from_t, to_t = times[1], times[-1]
    # compare as instants: MDE trims fraction digits, so sort by parsed value
    filt = 'lastUpdateTime ge %s and lastUpdateTime lt %s' % (from_t, to_t)
    st, _, b = emu.get('/api/alerts?' + q({'$filter': filt, '$top': 10000,
                                           '$expand': 'evidence'}), tok)
    check(st == 200 and '@odata.nextLink' not in b and
          b['@odata.context'].endswith('/api/$metadata#Alerts'), 'MDE envelope, no nextLink')

    def inst(s):
        base, _, frac = s[:-1].partition('.')
        return base + '.' + (frac + '0000000')[:7]
    want = {r['id'] for r in rows if inst(from_t) <= inst(r['lastUpdateTime']) < inst(to_t)}
    check({a['id'] for a in b['value']} == want, 'MDE time window: %d vs %d'
          % (len(b['value']), len(want)))
    check(any(a['evidence'] for a in b['value']), 'MDE $expand=evidence fills evidence')
    with open(os.path.join(DATA, 'mde-api-alerts.json')) as f:
        sample = json.load(f)['value'][0]
    check(all(set(a) == set(sample) for a in b['value']), 'MDE fields equal the sample')
    ev_keys = set(sample['evidence'][0])
    check(all(set(e) == ev_keys for a in b['value'] for e in a['evidence']),
          'MDE evidence fields equal the sample')
    st, _, b = emu.get('/api/alerts?$top=3', tok)
    check(st == 200 and all(a['evidence'] == [] for a in b['value']) and
          '@odata.nextLink' not in b, 'MDE without $expand: empty evidence')
    st, _, b = emu.get('/api/alerts', tok)
    check(st == 200 and '@odata.nextLink' in b and len(b['value']) == 5,
          'MDE without $top pages with nextLink (page size 5)')
    items, _ = fetch_all(emu, '/api/alerts', tok)
    check(len(items) == len(rows) and len({a['id'] for a in items}) == len(rows),
          'MDE nextLink paging complete')
    st, _, b = emu.get('/api/alerts?$top=10001', tok)
    check(st == 400 and b['error']['code'] == 'ODataError', 'MDE $top > 10000 -> 400')
    st, _, b = emu.get('/api/alerts?' + q({'$filter': "status eq 'New' and alertCreationTime gt "
                                                      "2020-01-01T00:00:00Z"}), tok)
    check(st == 200 and all(a['status'] == 'New' for a in b['value']), 'MDE status filter')
    st, _, b = emu.get('/mde/api/alerts?$top=1', tok)
    check(st == 200 and '/mde/api/$metadata' in b['@odata.context'], '/mde prefix')
    gtok = emu.token('tenant1')
    st, _, b = emu.get('/api/alerts', gtok)
    check(st == 401, 'Graph token on MDE -> 401')


def test_siem(emu):
    tok = emu.token('tenant1', resource=SIEM_RES)
    _, _, exp = emu.get('/_emu/alerts?tenant=tenant1&source=siem')
    rows = exp['alerts']
    since = sorted(r['LastProcessedTimeUtc'] for r in rows)[2]
    st, h, b = emu.get('/api/alerts?' + q({'sinceTimeUtc': since}), tok)
    check(st == 200 and isinstance(b, list), 'SIEM returns a bare array')
    want = {r['FullId'] for r in rows if r['LastProcessedTimeUtc'] >= since}
    check({r['FullId'] for r in b} == want, 'SIEM sinceTimeUtc window')
    with open(os.path.join(DATA, 'siem-api-alerts.json')) as f:
        sample = json.load(f)[0]
    check(b and all(list(r) == list(sample) for r in b), 'SIEM record fields/order as sample')
    st, _, b = emu.get('/siem/api/alerts?limit=3&ago=PT24H', tok)
    newest = sorted(r['LastProcessedTimeUtc'] for r in rows)[-3:]
    check(st == 200 and sorted(r['LastProcessedTimeUtc'] for r in b) == newest,
          'SIEM limit keeps the newest N')
    st, _, b = emu.get('/siem/api/alerts?sinceTimeUtc=garbage', tok)
    check(st == 400, 'SIEM bad time -> 400')
    mtok = emu.token('tenant1', resource=MDE_RES)
    st, _, b = emu.get('/siem/api/alerts', mtok)
    check(st == 401, 'MDE token on SIEM -> 401')


def test_generate_update(emu):
    tok = emu.token('tenant1')
    _, _, r = emu.request('POST', '/_emu/generate', {'tenant': 'tenant1', 'count': 3})
    new = r['created']['00000000-0000-0000-0000-000000000001']
    check(len(new) == 3, '/_emu/generate')
    _, _, exp = emu.get('/_emu/alerts?tenant=tenant1&source=graph')
    before = {a['id']: a for a in exp['alerts']}
    target = new[0]['id']
    _, _, r = emu.request('POST', '/_emu/update', {'tenant': 'tenant1', 'ids': [target]})
    upd = r['updated']['00000000-0000-0000-0000-000000000001'][0]
    check(upd['lastUpdateDateTime'] > before[target]['lastUpdateDateTime']
          and upd['status'] == 'inProgress', 'update moves lastUpdate and status')
    st, _, b = emu.get('/v1.0/security/alerts_v2?' + q({
        '$filter': 'lastUpdateDateTime ge %s' % upd['lastUpdateDateTime']}), tok)
    check(target in {a['id'] for a in b['value']}, 'updated alert re-delivered by the window')
    _, _, r = emu.request('POST', '/_emu/update', {'tenant': 'tenant1', 'count': 2})
    check(len(r['updated']['00000000-0000-0000-0000-000000000001']) == 2, 'update by count')
    st, _, b = emu.request('POST', '/_emu/control', {'tenant': 'nope', 'fault': 'throttle'})
    check(st == 404, 'control: unknown tenant -> 404')
    st, _, b = emu.request('POST', '/_emu/control', {'tenant': 'tenant1', 'fault': 'bogus'})
    check(st == 400, 'control: unknown fault -> 400')
    _, _, s = emu.get('/_emu/stats')
    check(s['totals']['tokens_issued'] > 5 and s['totals']['calls'].get('graph', 0) > 5,
          'stats totals')
    _, _, t = emu.get('/_emu/tenants')
    check(len(t['tenants']) == 6 and t['tenants'][0]['name'] == 'contoso', '/_emu/tenants')


def test_rate(certdir):
    emu = Emu(certdir, ['--tenants', '1', '--alerts-per-tenant', '2', '--rate', '120',
                        '--update-rate', '60', '--enforce-limits'])
    try:
        tok = emu.token('tenant1', resource=MDE_RES)
        codes = [emu.get('/api/alerts?$top=1', tok)[0] for _ in range(100)]
        st, h, b = emu.get('/api/alerts?$top=1', tok)
        check(codes.count(200) == 100 and st == 429 and int(h.get('retry-after', 0)) > 0,
              '--enforce-limits: 101st MDE call in a minute -> 429 (%s)' % st)
        deadline = time.time() + 8
        while True:
            time.sleep(0.5)
            _, _, exp = emu.get('/_emu/alerts?tenant=tenant1&source=graph')
            if (exp['count'] >= 5 and any(a['status'] != 'new' for a in exp['alerts'])) \
                    or time.time() > deadline:
                break
        check(exp['count'] >= 5, 'background generation at --rate (%d alerts)' % exp['count'])
        check(any(a['status'] != 'new' for a in exp['alerts']), 'background updates')
    finally:
        check(emu.stop() == 0, 'clean exit on SIGTERM (rate emulator)')


def test_request_log(certdir):
    """--tenant-base numbers tenants after another emulator's; /_emu/requests and
    stats.agents say which client polled which tenant when (cluster tests)."""
    emu = Emu(certdir, ['--tenants', '2', '--tenant-base', '300', '--alerts-per-tenant', '2',
                        '--client-id', CLIENT_ID, '--client-secret', SECRET])
    try:
        _, _, t = emu.get('/_emu/tenants')
        names = [x['name'] for x in t['tenants']]
        ids = [x['id'] for x in t['tenants']]
        check(names == ['tenant301', 'tenant302'] and
              ids[0] == '00000000-0000-0000-0000-000000000301', '--tenant-base: %s' % names)
        t0 = time.time()
        path = '/v1.0/security/alerts_v2?$top=1'
        for tenant, agent, n in (('tenant301', 'node-a', 2), ('tenant302', 'node-b', 1),
                                 ('tenant301', 'node-b', 1)):
            tok = emu.token(tenant)
            for _ in range(n):
                st, _, _ = emu.get(path, tok, headers={'User-Agent': agent})
                check(st == 200, 'request-log call %s %s' % (tenant, agent))
        _, _, r = emu.get('/_emu/requests?since=%f' % (t0 - 1))
        rows = [(x[1][-3:], x[2], x[3], x[4]) for x in r['requests']]
        check(rows == [('301', 'graph', 'node-a', 200)] * 2 + [
            ('302', 'graph', 'node-b', 200), ('301', 'graph', 'node-b', 200)],
            '/_emu/requests lists API calls in order with agent and status: %s' % rows)
        check(all(t0 - 1 <= x[0] <= r['now'] for x in r['requests']),
              '/_emu/requests times are epoch seconds')
        _, _, r = emu.get('/_emu/requests?tenant=tenant302')
        check(r['count'] == 1 and r['requests'][0][3] == 'node-b', '/_emu/requests?tenant=')
        _, _, r = emu.get('/_emu/requests?since=%f' % (time.time() + 60))
        check(r['count'] == 0, '/_emu/requests?since= in the future: none')
        _, _, st = emu.get('/_emu/stats?tenant=tenant301')
        check(st['stats']['agents'] == {'node-a': 2, 'node-b': 1},
              'stats.agents counts calls per User-Agent: %s' % st['stats'].get('agents'))
    finally:
        check(emu.stop() == 0, 'clean exit on SIGTERM (request-log emulator)')


def test_scale(certdir):
    emu = Emu(certdir, ['--tenants', '1000', '--alerts-per-tenant', '10', '--latency-ms', '20'])
    errors, done = [], [0]
    lock = threading.Lock()

    def worker(ids):
        for i in ids:
            try:
                t = emu.token('tenant%d' % i)
                st, _, b = emu.get('/v1.0/security/alerts_v2?' + q({
                    '$filter': 'lastUpdateDateTime ge 2000-01-01T00:00:00Z', '$top': 100}), t)
                if st != 200 or len(b['value']) != 10:
                    errors.append((i, st))
            except Exception as e:          # noqa: BLE001 - report, keep going
                errors.append((i, repr(e)))
            with lock:
                done[0] += 1
    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(range(k, 1001, 64),)) for k in range(1, 65)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    dt = time.time() - t0
    print('scale: 1000 tenants, %d done, %d errors, %.1f s' % (done[0], len(errors), dt))
    check(not errors and done[0] == 1000, 'scale run without errors: %s' % errors[:5])
    emu.stop()


def write_config(tmp, certdir):
    conf = {
        'defaults': {'alerts': 40, 'history': '3h'},
        'tenants': [
            {'id': '3f2504e0-4f89-41d3-9a0c-0305e82c3301', 'name': 'contoso',
             'client_secret': [SECRET, {'value': 'old-secret', 'expired': True}]},
            {'id': '7a1c2c51-98b7-4a8e-9f0f-0123456789ab', 'name': 'fabrikam',
             'cert_files': [os.path.join(certdir, 'client.crt')], 'alerts': 5},
            {'name': 'graphonly', 'id': '5b0e4d1a-0000-4000-8000-00000000beef',
             'apis': ['graph']},
        ],
        'generate': 3,
    }
    path = os.path.join(tmp, 'emu.json')
    with open(path, 'w') as f:
        json.dump(conf, f)
    return path


def main():
    keep = '--keep' in sys.argv
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix='emu-selftest-')
    certdir = os.path.join(tmp, 'pki')
    subprocess.run(['sh', os.path.join(HERE, 'mkcerts.sh'), certdir], check=True)
    conf = write_config(tmp, certdir)
    emu = Emu(certdir, ['--config', conf, '--mde-page-size', '5'])
    try:
        for name, fn in [('tokens', lambda: test_tokens(emu)),
                         ('cert', lambda: test_cert_assertions(emu, certdir)),
                         ('graph', lambda: test_graph(emu)),
                         ('enums', lambda: test_enums_and_evidence(emu)),
                         ('paging', lambda: test_paging_faults(emu)),
                         ('faults', lambda: test_http_faults(emu)),
                         ('consent', lambda: test_consent_and_expiry(emu)),
                         ('mde', lambda: test_mde(emu)),
                         ('siem', lambda: test_siem(emu)),
                         ('control', lambda: test_generate_update(emu))]:
            t1 = time.time()
            try:
                fn()
            except Exception as e:          # noqa: BLE001 - a crash is a failure
                import traceback
                traceback.print_exc()
                check(False, '%s raised %r' % (name, e))
            print('%-8s %.2f s' % (name, time.time() - t1), flush=True)
    finally:
        rc = emu.stop()
        check(rc == 0, 'clean exit on SIGTERM (rc=%s)' % rc)
    test_rate(certdir)
    test_request_log(certdir)
    if '--scale' in sys.argv:
        test_scale(certdir)
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print('%d checks passed, %d failed, %.1f s' % (PASSES[0], len(FAILS), time.time() - t0))
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
