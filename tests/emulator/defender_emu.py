#!/usr/bin/python3
"""Microsoft Defender API emulator for siemfwd's tests and demo.

Serves, on one 127.0.0.1 port (HTTPS by default, --http for plain HTTP), the Entra ID
token endpoints (v1/v2, client secret or certificate assertion), Graph
/v1.0/security/alerts_v2, MDE /api/alerts and the legacy SIEM API for many
generated or configured tenants, with per-tenant latency, new and updated alerts
while running, fault injection and /_emu/* test-control endpoints. Prints
"READY port=<n>" on stdout when listening; exits cleanly on SIGTERM/SIGINT.

This file: command line, config file, tenant set-up, background generator, main
loop. See README.md for every endpoint, flag and control command.
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from emu_auth import RegisteredCert                       # noqa: E402
from emu_control import apply_fault                       # noqa: E402
from emu_data import Tenant                               # noqa: E402
from emu_faults import FaultError, FaultSet               # noqa: E402
from emu_server import Emulator, Handler, Server          # noqa: E402
from emu_util import now_ticks, parse_duration, tenant_guid  # noqa: E402

DEFAULT_CLIENT_ID = '11111111-1111-1111-1111-111111111111'
# Contains characters that must be URL-encoded in a form body (+ / = & %).
DEFAULT_SECRET = 'emu8Q~Secret+/=&%.value_1'

BUILTIN = {
    'client_id': DEFAULT_CLIENT_ID, 'client_secret': DEFAULT_SECRET, 'cert_files': [],
    'apis': ['graph', 'mde', 'siem'], 'consent': True, 'roles': True, 'token_ttl': 3600,
    'latency_ms': 0, 'jitter_ms': 0, 'rate_per_min': 0.0, 'update_per_min': None,
    'late_max': 0, 'mde_share': 0.7, 'unknown_evidence_rate': 0.15, 'v1_numeric': False,
    'alerts': 10, 'history': '2h', 'faults': [],
}
TENANT_KEYS = set(BUILTIN) | {'id', 'name', 'seed'}


class ConfigError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        description='Microsoft Defender API emulator (Entra token endpoint, Graph alerts_v2, '
                    'MDE /api/alerts, SIEM API) for tests.')
    a = p.add_argument
    a('--bind', default='127.0.0.1', help='listen address (default 127.0.0.1)')
    a('--port', type=int, default=0, help='listen port; 0 picks a free one (default 0)')
    a('--http', action='store_true', help='serve plain HTTP instead of HTTPS')
    a('--certdir', help='directory made by mkcerts.sh (uses server.crt/server.key)')
    a('--cert', help='server certificate (PEM); overrides --certdir')
    a('--key', help='server private key (PEM); overrides --certdir')
    a('--tenants', type=int, default=None, help='number of generated tenants tenant1..N')
    a('--tenant-base', type=int, default=0, dest='tenant_base',
      help='generated tenants are numbered BASE+1..BASE+N (several emulators, one tenant '
           'space)')
    a('--request-log-max', type=int, default=200000, dest='request_log_max',
      help='API requests kept for GET /_emu/requests (200000; 0 = none)')
    a('--config', help='JSON file describing tenants and defaults (see README.md)')
    a('--alerts-per-tenant', type=int, dest='alerts', help='initial alerts per tenant (10)')
    a('--history', help='spread initial alerts over this past window (2h)')
    a('--latency-ms', type=float, dest='latency_ms', help='added to every API/token call')
    a('--jitter-ms', type=float, dest='jitter_ms', help='random extra latency 0..N ms')
    a('--rate', type=float, dest='rate_per_min', help='new alerts per minute per tenant')
    a('--update-rate', type=float, dest='update_per_min',
      help='alert updates per minute per tenant (default: half of --rate)')
    a('--late-max', dest='late_max',
      help='new alerts get lastUpdate up to this far in the past (late arrival), e.g. 2m')
    a('--token-ttl', type=float, dest='token_ttl', help='token lifetime seconds (3600)')
    a('--client-id', dest='client_id', help='app (client) id consented in every tenant')
    a('--client-secret', dest='client_secret', help='client secret of the app')
    a('--client-cert', action='append', dest='cert_files',
      help='registered app certificate for client assertions (repeatable)')
    a('--apis', help='comma list of enabled APIs: graph,mde,siem (all)')
    a('--mde-share', type=float, dest='mde_share', help='share of MDE alerts (0.7)')
    a('--unknown-evidence-rate', type=float, dest='unknown_evidence_rate',
      help='share of alerts with an evidence type clients will not know (0.15)')
    a('--v1-numeric', action='store_true', default=None, dest='v1_numeric',
      help='v1 token responses carry numbers instead of strings for expires_*')
    a('--seed', default='1', help='random seed (alerts are deterministic per seed+tenant)')
    a('--fault', action='append', default=[],
      help="fault for all tenants at start: JSON like the control endpoint, or shorthand "
           "'[tenant@]kind[:k=v,...]', e.g. 'tenant2@throttle:count=3,retry_after=2'")
    a('--graph-max-top', type=int, default=2000, help='largest $top accepted by Graph (2000)')
    a('--graph-page-size', type=int, default=2000, help='Graph page size without $top (2000)')
    a('--mde-page-size', type=int, default=10000,
      help='MDE page size without $top (10000); smaller values exercise nextLink')
    a('--enforce-limits', action='store_true',
      help='answer 429 beyond the documented rates (MDE 100/min+1500/h, Graph 150/min)')
    a('--no-gzip', action='store_true', help='never gzip responses')
    a('--verbose', '-v', action='store_true', help='log every request to stderr')
    a('--log', help='append the request log to this file')
    return p.parse_args(argv)


def parse_fault_spec(text):
    text = text.strip()
    if text.startswith('{'):
        spec = json.loads(text)
        spec.setdefault('tenant', '*')
        return spec
    tenant = '*'
    if '@' in text.split(':', 1)[0]:
        tenant, text = text.split('@', 1)
    kind, _, rest = text.partition(':')
    spec = {'tenant': tenant, 'fault': kind}
    for item in filter(None, rest.split(',')):
        k, _, v = item.partition('=')
        try:
            spec[k] = json.loads(v)
        except ValueError:
            spec[k] = v
    return spec


def build_settings(args, conf_defaults):
    base = dict(BUILTIN)
    base.update(conf_defaults)
    cli = {k: getattr(args, k) for k in BUILTIN if getattr(args, k, None) is not None}
    if args.apis:
        cli['apis'] = [x.strip() for x in args.apis.split(',') if x.strip()]
    base.update(cli)
    return base


def make_tenant(index, settings, seed, conf_dir):
    tid = settings.get('id') or tenant_guid(index)
    name = settings.get('name') or 'tenant%d' % index
    t = Tenant(index, tid, name, settings.get('seed', seed))
    t.client_id = settings['client_id']
    sec = settings['client_secret']
    sec = sec if isinstance(sec, list) else ([sec] if sec else [])
    t.secrets = [s if isinstance(s, dict) else {'value': s} for s in sec]
    t.certs = [RegisteredCert(f if os.path.isabs(f) else os.path.join(conf_dir, f))
               for f in settings['cert_files']]
    bad = set(settings['apis']) - {'graph', 'mde', 'siem'}
    if bad:
        raise ConfigError('tenant %s: unknown apis %s' % (name, sorted(bad)))
    t.apis = set(settings['apis'])
    t.consent, t.roles = bool(settings['consent']), bool(settings['roles'])
    t.token_ttl = float(settings['token_ttl'])
    t.latency_ms, t.jitter_ms = float(settings['latency_ms']), float(settings['jitter_ms'])
    t.rate_per_min = float(settings['rate_per_min'])
    upd = settings['update_per_min']
    t.update_per_min = t.rate_per_min / 2 if upd is None else float(upd)
    t.late_max_s = parse_duration(settings['late_max'])
    t.mde_share = float(settings['mde_share'])
    t.unknown_evidence_rate = float(settings['unknown_evidence_rate'])
    t.v1_numeric = bool(settings['v1_numeric'])
    t.initial = (int(settings['alerts']), parse_duration(settings['history']))
    t.start_faults = list(settings['faults'])
    return t


def build_tenants(args):
    conf, conf_dir = {}, os.getcwd()
    if args.config:
        with open(args.config, encoding='utf-8') as f:
            conf = json.load(f)
        conf_dir = os.path.dirname(os.path.abspath(args.config))
        unknown = set(conf) - {'defaults', 'tenants', 'generate'}
        if unknown:
            raise ConfigError('%s: unknown top-level keys %s' % (args.config, sorted(unknown)))
    defaults = conf.get('defaults', {})
    unknown = set(defaults) - set(BUILTIN)
    if unknown:
        raise ConfigError('defaults: unknown keys %s' % sorted(unknown))
    if 'cert_files' in defaults:
        defaults['cert_files'] = [f if os.path.isabs(f) else os.path.join(conf_dir, f)
                                  for f in defaults['cert_files']]
    settings = build_settings(args, defaults)
    tenants, n = [], 0
    for entry in conf.get('tenants', []):
        unknown = set(entry) - TENANT_KEYS
        if unknown:
            raise ConfigError('tenant %s: unknown keys %s' % (entry.get('name', entry.get('id')),
                                                               sorted(unknown)))
        n += 1
        s = dict(settings)
        s.update(entry)
        tenants.append(make_tenant(n, s, args.seed, conf_dir))
    count = args.tenants if args.tenants is not None else conf.get(
        'generate', 0 if conf.get('tenants') else 3)
    for i in range(args.tenant_base + 1, args.tenant_base + count + 1):
        tenants.append(make_tenant(i, dict(settings), args.seed, conf_dir))
    seen = set()
    for t in tenants:
        for k in (t.id.lower(), t.name.lower()):
            if k in seen:
                raise ConfigError("duplicate tenant id or name '%s'" % k)
            seen.add(k)
    return tenants


def populate(emu, tenants, args):
    now = now_ticks()
    for t in tenants:
        count, history = t.initial
        with t.lock:
            t.generate(count, now, history)
        for spec in t.start_faults:
            apply_fault(emu, t, spec)
    for text in args.fault:
        spec = parse_fault_spec(text)
        key = spec.pop('tenant', '*')
        targets = tenants if key == '*' else [emu.find(key)]
        if targets == [None]:
            raise ConfigError("--fault: no tenant '%s'" % key)
        for t in targets:
            if spec.get('fault') not in ('revoke_consent', 'restore_consent', 'revoke_roles',
                                         'restore_roles', 'token_ttl', 'token_expire_after',
                                         'expire_tokens', 'boundary_tie', 'clear'):
                FaultSet.validate(spec)
            apply_fault(emu, t, spec)


def generator(emu, stop):
    """New alerts and updates at the configured per-tenant rates, once a second."""
    last = time.monotonic()
    while not stop.wait(1.0):
        now_m = time.monotonic()
        dt, last = now_m - last, now_m
        for t in emu.tenants:
            if t.rate_per_min <= 0 and t.update_per_min <= 0:
                continue
            with t.lock:
                t.acc_new += t.rate_per_min * dt / 60.0
                t.acc_upd += t.update_per_min * dt / 60.0
                n_new, n_upd = int(t.acc_new), int(t.acc_upd)
                t.acc_new -= n_new
                t.acc_upd -= n_upd
                if n_new:
                    t.generate(n_new, now_ticks(), 0)
                if n_upd and t.alerts:
                    t.update(n_upd, now_ticks())


def make_logger(args):
    lock = threading.Lock()
    fh = open(args.log, 'a', encoding='utf-8') if args.log else None

    def log(msg):
        if not args.verbose and fh is None and not msg.startswith('internal error') \
                and not msg.startswith('Traceback'):
            return
        line = '%s %s\n' % (time.strftime('%H:%M:%S'), msg.rstrip())
        with lock:
            if args.verbose or msg.startswith(('internal error', 'Traceback')):
                sys.stderr.write(line)
            if fh:
                fh.write(line)
                fh.flush()
    return log


def ssl_context(args):
    cert, key = args.cert, args.key
    if args.certdir:
        cert = cert or os.path.join(args.certdir, 'server.crt')
        key = key or os.path.join(args.certdir, 'server.key')
    if not cert or not key:
        raise ConfigError('HTTPS needs --certdir (from mkcerts.sh) or --cert/--key; '
                          'use --http for plain HTTP')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def main(argv):
    args = parse_args(argv)
    try:
        ctx = None if args.http else ssl_context(args)
        tenants = build_tenants(args)
        emu = Emulator(tenants, args, make_logger(args))
        populate(emu, tenants, args)
        server = Server((args.bind, args.port), Handler, emu, ctx)
    except (ConfigError, FaultError, OSError, ValueError, ssl.SSLError) as e:
        sys.stderr.write('defender_emu: %s\n' % e)
        return 2
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serve = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.2},
                             daemon=True)
    serve.start()
    gen = threading.Thread(target=generator, args=(emu, stop), daemon=True)
    gen.start()
    port = server.server_address[1]
    sys.stderr.write('defender_emu: %s://%s:%d, %d tenants, %d alerts\n'
                     % ('http' if ctx is None else 'https', args.bind, port, len(tenants),
                        sum(len(t.alerts) for t in tenants)))
    sys.stdout.write('READY port=%d\n' % port)
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
