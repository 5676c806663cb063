"""Entra ID (Azure AD) client-credentials token endpoint of the Defender emulator:
v1 (/{tenant}/oauth2/token, resource=) and v2 (/{tenant}/oauth2/v2.0/token,
scope=<resource>/.default), client secret or RS256/PS256 certificate client
assertion, Entra-style error bodies with AADSTS codes, and the store of issued
access tokens (opaque to clients, JWT-shaped, bound to tenant and audience).

Does not: refresh tokens, user flows, consent UI. The TokenStore owns its lock.
"""

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
import urllib.parse

from emu_util import (TICKS_PER_SEC, aad_timestamp, b64url, b64url_decode, new_guid,
                      now_ticks)

JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000'
MDE_APP_ID = 'fc780465-2017-40d4-a0c5-307022471b92'

# audience (resource, no trailing slash) -> API kind it opens
AUDIENCES = {
    'https://graph.microsoft.com': 'graph',
    GRAPH_APP_ID: 'graph',
    'https://api.securitycenter.microsoft.com': 'mde',
    'https://api.securitycenter.windows.com': 'mde',
    'https://securitycenter.onmicrosoft.com/windowsatpservice': 'mde',
    'https://api.security.microsoft.com': 'mde',
    MDE_APP_ID: 'mde',
    'https://graph.windows.net': 'siem',
}
ROLES = {'graph': ['SecurityAlert.Read.All', 'SecurityIncident.Read.All'],
         'mde': ['Alert.Read.All'], 'siem': ['Alert.Read.All']}


class RegisteredCert:
    """An app certificate registered for client assertions (keyCredentials)."""

    def __init__(self, path):
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        with open(path, 'rb') as f:
            data = f.read()
        cert = (x509.load_pem_x509_certificate(data) if b'-----BEGIN' in data
                else x509.load_der_x509_certificate(data))
        der = cert.public_bytes(serialization.Encoding.DER)
        self.path = path
        self.public_key = cert.public_key()
        self.x5t = b64url(hashlib.sha1(der).digest())
        self.x5t256 = b64url(hashlib.sha256(der).digest())


class AuthError(Exception):
    """An Entra error response: HTTP status, OAuth error, AADSTS code, sentence."""

    def __init__(self, status, error, code, text):
        super().__init__(text)
        self.status, self.error, self.code, self.text = status, error, code, text

    def body(self):
        trace, corr, ts = new_guid(), new_guid(), aad_timestamp()
        return {'error': self.error,
                'error_description': 'AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\n'
                                     'Timestamp: %s' % (self.code, self.text, trace, corr, ts),
                'error_codes': [self.code], 'timestamp': ts, 'trace_id': trace,
                'correlation_id': corr,
                'error_uri': 'https://login.microsoftonline.com/error?code=%d' % self.code}


def _missing(name):
    return AuthError(400, 'invalid_request', 900144,
                     "The request body must contain the following parameter: '%s'." % name)


class TokenInfo:
    __slots__ = ('tenant', 'kind', 'aud', 'exp', 'issued', 'roles')

    def __init__(self, tenant, kind, aud, exp, issued, roles):
        self.tenant, self.kind, self.aud = tenant, kind, aud
        self.exp, self.issued, self.roles = exp, issued, roles


class TokenStore:
    """Issued access tokens: token string -> TokenInfo. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = {}
        self.issued = 0

    def issue(self, tenant, kind, aud, ttl_s, hard_ttl_s, version, client_id):
        now = now_ticks()
        secs = now // TICKS_PER_SEC
        roles = ROLES[kind] if (tenant.roles and kind in tenant.apis) else []
        header = {'typ': 'JWT', 'alg': 'RS256', 'x5t': 'emu', 'kid': 'emu'}
        claims = {'aud': aud, 'iss': 'https://sts.windows.net/%s/' % tenant.id, 'iat': secs,
                  'nbf': secs, 'exp': secs + int(ttl_s), 'appid': client_id,
                  'idtyp': 'app', 'oid': new_guid(), 'roles': roles, 'sub': new_guid(),
                  'tid': tenant.id, 'uti': secrets.token_urlsafe(16), 'ver': version}
        token = '%s.%s.%s' % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                              b64url(json.dumps(claims, separators=(",", ":")).encode()),
                              b64url(secrets.token_bytes(64)))
        exp = now + int(min(ttl_s, hard_ttl_s) * TICKS_PER_SEC)
        with self.lock:
            self.tokens[token] = TokenInfo(tenant, kind, aud, exp, now, roles)
            self.issued += 1
            if self.issued % 2000 == 0:
                self.tokens = {k: v for k, v in self.tokens.items()
                               if v.exp > now - 600 * TICKS_PER_SEC}
        return token

    def get(self, token):
        with self.lock:
            return self.tokens.get(token)

    def expire_tenant(self, tenant, within_s=0.0):
        """Make the tenant's tokens invalid after within_s seconds (0: now)."""
        limit = now_ticks() + int(within_s * TICKS_PER_SEC)
        with self.lock:
            for info in self.tokens.values():
                if info.tenant is tenant and info.exp > limit:
                    info.exp = limit


def _verify_assertion(tenant, client_id, assertion, accepted_aud, replays):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    parts = assertion.split('.')
    if len(parts) != 3:
        raise AuthError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.')
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise AuthError(401, 'invalid_client', 50027,
                        'JWT token is invalid or malformed.') from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AuthError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.')
    alg = header.get('alg')
    if alg not in ('RS256', 'PS256'):
        raise AuthError(401, 'invalid_client', 5002738,
                        "Invalid JWT token. '%s' is not a supported signature algorithm. "
                        "Supported signing algorithms are: 'RS256, PS256'" % alg)
    x5t, x5t256 = header.get('x5t'), header.get('x5t#S256')
    if not x5t and not x5t256:
        raise AuthError(401, 'invalid_client', 5002723,
                        'Invalid JWT token. No certificate thumbprint specified in token header.')
    cert = None
    for c in tenant.certs:
        if (x5t and x5t == c.x5t) or (x5t256 and x5t256 == c.x5t256):
            cert = c
            break
    if cert is None:
        raise AuthError(401, 'invalid_client', 700027,
                        "The certificate with identifier used to sign the client assertion is "
                        "not registered on application. [Reason - The key was not found., "
                        "Thumbprint of key used by client: '%s', Please visit the Azure Portal, "
                        "Graph Explorer or directly use MS Graph to see configured keys for app "
                        "Id '%s'.]" % (x5t or x5t256, client_id))
    signing_input = ('%s.%s' % (parts[0], parts[1])).encode('ascii')
    try:
        if alg == 'RS256':
            cert.public_key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            cert.public_key.verify(sig, signing_input,
                                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                               salt_length=padding.PSS.AUTO), hashes.SHA256())
    except InvalidSignature:
        raise AuthError(401, 'invalid_client', 700027,
                        'Client assertion failed signature validation.') from None
    if claims.get('iss') != client_id or claims.get('sub') != client_id:
        raise AuthError(401, 'invalid_client', 700021,
                        "Client assertion application identifier doesn't match 'client_id' "
                        "parameter. Review the documentation at "
                        "https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
    aud = claims.get('aud')
    auds = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(x, str) and x.rstrip('/') in accepted_aud for x in auds):
        raise AuthError(401, 'invalid_client', 700212,
                        "The audience '%s' of the client assertion is not the token endpoint "
                        "of this tenant (expected '%s')." % (aud, sorted(accepted_aud)[0]))
    now = time.time()
    exp, nbf = claims.get('exp'), claims.get('nbf', claims.get('iat'))
    if not isinstance(exp, (int, float)) or exp <= now - 300 or \
            (isinstance(nbf, (int, float)) and nbf > now + 300):
        raise AuthError(401, 'invalid_client', 700024,
                        'Client assertion is not within its valid time range. Current time: %s, '
                        'assertion valid from %s, expiry time of assertion %s.'
                        % (_iso(now), _iso(nbf), _iso(exp)))
    jti = claims.get('jti')
    if not isinstance(jti, str) or not jti:
        raise AuthError(401, 'invalid_client', 50027,
                        "Invalid JWT token. The token does not contain a 'jti' claim.")
    replays(jti)


def _iso(t):
    if not isinstance(t, (int, float)):
        return 'none'
    return time.strftime('%Y-%m-%dT%H:%M:%S.0000000Z', time.gmtime(t))


def _resource_of_scopes(scope_text):
    scopes = [s for s in scope_text.split() if s]
    if not scopes:
        raise _missing('scope')
    resources = set()
    for s in scopes:
        if not s.endswith('/.default'):
            raise AuthError(400, 'invalid_scope', 1002012,
                            "The provided value for scope %s is not valid. Client credential "
                            "flows must have a scope value with /.default suffixed to the "
                            "resource identifier (application ID URI)." % s)
        resources.add(s[:-len('/.default')])
    if len(resources) > 1:
        raise AuthError(400, 'invalid_scope', 28000,
                        'Provided value for the input parameter scope is not valid because it '
                        'contains more than one resource. Scope %s is not valid.' % scope_text)
    return resources.pop()


def _client_credentials(form, headers):
    """client_id / client_secret from the body or HTTP Basic (RFC 6749 2.3.1)."""
    client_id, secret = form.get('client_id'), form.get('client_secret')
    auth = headers.get('Authorization', '')
    if auth[:6].lower() == 'basic ':
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True).decode('utf-8')
            bid, _, bsecret = raw.partition(':')
            client_id = client_id or urllib.parse.unquote_plus(bid)
            secret = secret or urllib.parse.unquote_plus(bsecret)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise AuthError(401, 'invalid_client', 7000216,
                            "'client_assertion', 'client_secret' or 'request' is required for "
                            "the 'client_credentials' grant type.") from None
    return client_id, secret


def _check_client(tenant, client_id, secret, form, accepted_aud, replays):
    if form.get('client_assertion') is not None:
        if form.get('client_assertion_type') != JWT_BEARER:
            raise AuthError(400, 'invalid_request', 50027 if form.get('client_assertion_type')
                            else 900144,
                            "The request body must contain the following parameter: "
                            "'client_assertion_type' with value '%s'." % JWT_BEARER)
        _verify_assertion(tenant, client_id, form['client_assertion'], accepted_aud, replays)
        return 'certificate'
    if secret is None:
        raise AuthError(401, 'invalid_client', 7000218,
                        "The request body must contain the following parameter: "
                        "'client_assertion' or 'client_secret'.")
    for s in tenant.secrets:
        if secrets.compare_digest(s['value'].encode(), secret.encode()):
            if s.get('expired'):
                raise AuthError(401, 'invalid_client', 7000222,
                                "The provided client secret keys for app '%s' are expired. "
                                "Visit the Azure portal to create new keys for your app: "
                                "https://aka.ms/NewClientSecret, or consider using certificate "
                                "credentials for added security: https://aka.ms/certCreds."
                                % client_id)
            return 'secret'
    raise AuthError(401, 'invalid_client', 7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the "
                    "request is the client secret value, not the client secret ID, for a secret "
                    "added to app '%s'." % client_id)


def token_request(find_tenant, path_tenant, version, form, headers, bases, store, faults_ttl,
                  replays):
    """Handle one token request. find_tenant(name) -> Tenant|None; bases: the URL
    bases (scheme://host) the assertion audience may use. Returns (status, body, tenant,
    method) where method is 'secret'/'certificate' on success. faults_ttl(tenant) ->
    (advertised ttl, hard ttl)."""
    tenant = None
    try:
        if path_tenant.lower() in ('common', 'organizations', 'consumers'):
            raise AuthError(400, 'invalid_request', 50059,
                            'No tenant-identifying information found in either the request or '
                            'implied by any provided credentials.')
        tenant = find_tenant(path_tenant)
        if tenant is None:
            raise AuthError(400, 'invalid_request', 90002,
                            "Tenant '%s' not found. Check to make sure you have the correct "
                            "tenant ID and are signing into the correct cloud. Check with your "
                            "subscription administrator, this may happen if there are no active "
                            "subscriptions for the tenant." % path_tenant)
        grant = form.get('grant_type')
        if not grant:
            raise _missing('grant_type')
        if grant != 'client_credentials':
            raise AuthError(400, 'unsupported_grant_type', 70003,
                            "The app requested an unsupported grant type '%s'." % grant)
        client_id, secret = _client_credentials(form, headers)
        if not client_id:
            raise _missing('client_id')
        if tenant.client_id is None or client_id.lower() != tenant.client_id.lower() \
                or not tenant.consent:
            raise AuthError(400, 'unauthorized_client', 700016,
                            "Application with identifier '%s' was not found in the directory "
                            "'%s'. This can happen if the application has not been installed "
                            "by the administrator of the tenant or consented to by any user in "
                            "the tenant. You may have sent your authentication request to the "
                            "wrong tenant." % (client_id, path_tenant))
        if version == 'v2':
            if form.get('resource') is not None:
                raise AuthError(400, 'invalid_request', 901002,
                                "The 'resource' request parameter is not supported.")
            resource = _resource_of_scopes(form.get('scope') or '')
        else:
            resource = form.get('resource')
            if not resource:
                raise _missing('resource')
        accepted = set()
        for base in bases:
            for t in {path_tenant, tenant.id}:
                accepted.add('%s/%s/oauth2/token' % (base, t))
                accepted.add('%s/%s/oauth2/v2.0/token' % (base, t))
        method = _check_client(tenant, client_id, secret, form, accepted, replays)
        aud = resource.rstrip('/')
        kind = AUDIENCES.get(aud)
        if kind is None or (kind == 'mde' and 'mde' not in tenant.apis):
            raise AuthError(400, 'invalid_resource', 500011,
                            "The resource principal named %s was not found in the tenant named "
                            "%s. This can happen if the application has not been installed by "
                            "the administrator of the tenant or consented to by any user in the "
                            "tenant. You might have sent your authentication request to the "
                            "wrong tenant." % (resource, tenant.name))
    except AuthError as e:
        return e.status, e.body(), tenant, None
    ttl, hard = faults_ttl(tenant)
    token = store.issue(tenant, kind, aud, ttl, hard, '2.0' if version == 'v2' else '1.0',
                        client_id)
    now = int(time.time())
    if version == 'v2':
        body = {'token_type': 'Bearer', 'expires_in': int(ttl), 'ext_expires_in': int(ttl),
                'access_token': token}
    else:
        vals = {'expires_in': int(ttl), 'ext_expires_in': int(ttl),
                'expires_on': now + int(ttl), 'not_before': now}
        if not tenant.v1_numeric:
            vals = {k: str(v) for k, v in vals.items()}
        body = {'token_type': 'Bearer'}
        body.update(vals)
        body.update(resource=resource, access_token=token)
    return 200, body, tenant, method
