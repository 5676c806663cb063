"""Helpers for siemfwd's end-to-end tests against the bundled Defender emulator:
test PKI (mkcerts.sh), the emulator as a subprocess (/_emu control calls), config
files, `siemfwd run/state/check` as subprocesses, file outputs read back, and the
exactly-once bookkeeping of (tenant, alert id, lastUpdate) versions.

Does not assert scenario behaviour itself (test_e2e_fetch.py does). Processes
started here are stopped here, by their own handle. Stdlib only (/usr/bin/python3).
"""

import collections
import datetime
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

PY = '/usr/bin/python3'
SRC = os.environ.get('SF_SOURCE_DIR') or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
SIEMFWD = os.environ.get('SIEMFWD') or os.path.join(SRC, 'build', 'siemfwd')
EMU = os.path.join(SRC, 'tests', 'emulator', 'defender_emu.py')
MKCERTS = os.path.join(SRC, 'tests', 'emulator', 'mkcerts.sh')
MAPS = os.path.join(SRC, 'formats', 'maps')

CLIENT_ID = '11111111-1111-1111-1111-111111111111'
SECRET = 'e2e~Secret+/=&%.value_9'      # characters a form body must encode
SANITIZER_MARKS = ('AddressSanitizer', 'LeakSanitizer', 'runtime error:',
                   'UndefinedBehaviorSanitizer', 'ThreadSanitizer')

# Which fields identify one version of a record, per source.
KEYS = {'graph': ('id', 'lastUpdateDateTime'), 'mde': ('id', 'lastUpdateTime'),
        'siem': ('FullId', 'LastProcessedTimeUtc')}


class E2EFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise E2EFailure(msg)


def log(msg):
    sys.stdout.write(msg + '\n')
    sys.stdout.flush()


# ------------------------------------------------------------------ time

def parse_time(text):
    """ISO-8601 UTC ('...Z', 0-7 fraction digits) -> epoch seconds (float)."""
    s = text.rstrip('Z')
    base, _, frac = s.partition('.')
    dt = datetime.datetime.strptime(base, '%Y-%m-%dT%H:%M:%S').replace(
        tzinfo=datetime.timezone.utc)
    return dt.timestamp() + (int(frac) / 10 ** len(frac) if frac else 0.0)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout, what, step=0.25):
    """Poll pred() until it returns a true value; fail naming `what` after timeout s."""
    end = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        if time.monotonic() > end:
            raise E2EFailure('timed out after %.0f s waiting for %s' % (timeout, what))
        time.sleep(step)


# ------------------------------------------------------------------ PKI

def make_certs(dirpath):
    """Test CA, server, client and rogue app certificates (mkcerts.sh) in dirpath."""
    subprocess.run(['sh', MKCERTS, dirpath], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, timeout=120)
    return {k: os.path.join(dirpath, k) for k in (
        'ca.crt', 'server.crt', 'client.crt', 'client.key', 'rogue.crt', 'rogue.key')}


# ------------------------------------------------------------------ emulator

class Emulator:
    """The Defender emulator as a child process on a free 127.0.0.1 port."""

    def __init__(self, workdir, certdir, args=(), config=None):
        self.workdir, self.certdir = workdir, certdir
        self.log_path = os.path.join(workdir, 'emu.log')
        cmd = [PY, EMU, '--certdir', certdir, '--client-id', CLIENT_ID,
               '--client-secret', SECRET, '--no-gzip']
        if config is not None:
            path = os.path.join(workdir, 'emu-config.json')
            with open(path, 'w', encoding='utf-8') as f:
                json.dump(config, f, indent=1)
            cmd += ['--config', path]
        cmd += list(args)
        self.cmd = cmd
        self.logf = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.logf)
        self.port = self._wait_ready(30)
        self.url = 'https://127.0.0.1:%d' % self.port
        self.ctx = ssl.create_default_context(cafile=os.path.join(certdir, 'ca.crt'))
        self.tenants = {t['name']: t for t in self.get('/_emu/tenants')['tenants']}

    def _wait_ready(self, timeout):
        end = time.monotonic() + timeout
        buf = b''
        while time.monotonic() < end:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                for line in buf.decode('utf-8', 'replace').splitlines():
                    if line.startswith('READY port='):
                        return int(line.split('=', 1)[1].split()[0])
            if self.proc.poll() is not None:
                break
        self.stop()
        raise E2EFailure('emulator did not start (%s): %s' % (' '.join(self.cmd),
                                                               self.log_tail()))

    def log_tail(self, n=2000):
        try:
            with open(self.log_path, 'rb') as f:
                return f.read()[-n:].decode('utf-8', 'replace')
        except OSError:
            return ''

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, json.loads(r.read().decode('utf-8'))
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode('utf-8') or '{}')

    def get(self, path):
        status, obj = self.request('GET', path)
        check(status == 200, 'emulator GET %s: HTTP %d %s' % (path, status, obj))
        return obj

    def post(self, path, body):
        status, obj = self.request('POST', path, body)
        check(status == 200, 'emulator POST %s %s: HTTP %d %s' % (path, body, status, obj))
        return obj

    def control(self, tenant, **spec):
        """POST /_emu/control {tenant, fault..., set...}; returns the tenant's result."""
        spec['tenant'] = tenant
        res = self.post('/_emu/control', spec)['result']
        return next(iter(res.values())) if len(res) == 1 else res

    def generate(self, tenant, count, mde_only=False):
        """New alerts now; returns [(id, lastUpdateDateTime)]."""
        res = self.post('/_emu/generate', {'tenant': tenant, 'count': count,
                                           'mde_only': mde_only})['created']
        return [(a['id'], a['lastUpdateDateTime']) for rows in res.values() for a in rows]

    def update(self, tenant, count=1, ids=None):
        body = {'tenant': tenant, 'count': count}
        if ids:
            body['ids'] = list(ids)
        res = self.post('/_emu/update', body)['updated']
        return [(a['id'], a['lastUpdateDateTime']) for rows in res.values() for a in rows]

    def versions(self, tenant, source):
        """Current (id, lastUpdate) of every alert of tenant as `source` serves it."""
        rows = self.get('/_emu/alerts?tenant=%s&source=%s' % (tenant, source))['alerts']
        idf, luf = KEYS[source]
        return {(r[idf], r[luf]) for r in rows}

    def stats(self, tenant):
        return self.get('/_emu/stats?tenant=%s' % tenant)['stats']

    def tenant_id(self, name):
        return self.tenants[name]['id']

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.logf.close()


# ------------------------------------------------------------------ config

def _yaml_scalar(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v))   # a YAML double-quoted scalar for ASCII text


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts, lists and scalars (enough for siemfwd configs)."""
    pad = ' ' * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append('%s%s:\n%s' % (pad, k, to_yaml(v, indent + 2)))
            elif isinstance(v, list):
                out.append('%s%s: []\n' % (pad, k))
            else:
                out.append('%s%s: %s\n' % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for v in obj:
            if isinstance(v, dict):
                body = to_yaml(v, indent + 2)
                out.append('%s- %s' % (pad, body[indent + 2:]))
            else:
                out.append('%s- %s\n' % (pad, _yaml_scalar(v)))
    return ''.join(out)


def tenant_entry(emu, name, source='graph', **extra):
    """A tenants[] entry for emulator tenant `name` with the right api_base."""
    base = {'graph': emu.url, 'mde': emu.url + '/mde', 'siem': emu.url + '/siem'}[source]
    entry = {'name': name, 'tenant_id': emu.tenant_id(name), 'source': source,
             'api_base': base}
    entry.update(extra)
    return entry


def json_output(workdir, name):
    return {'name': name, 'type': 'file', 'format': 'json',
            'path': os.path.join(workdir, name + '.jsonl')}


def write_config(workdir, emu, certs, tenants, outputs, formats=None, name='siemfwd.yaml',
                 **top):
    """Write a siemfwd config for emu into workdir; returns its path."""
    cfg = {'state_dir': os.path.join(workdir, 'state'), 'poll_interval': '2s',
           'log_level': 'info', 'organization': 'E2E Test MSSP'}
    cfg.update(top)
    cfg['http'] = {'tls': {'ca_file': certs['ca.crt']}, 'timeout': '20s', 'max_parallel': 8}
    cfg['tenant_defaults'] = {'client_id': CLIENT_ID, 'client_secret': SECRET,
                              'authority': emu.url, 'start_from': '3h', 'overlap': '5m',
                              'settle': '1s'}
    cfg['tenants'] = tenants
    if formats:
        cfg['formats'] = formats
    cfg['outputs'] = outputs
    path = os.path.join(workdir, name)
    with open(path, 'w', encoding='utf-8') as f:
        f.write('# written by tests/integration/e2e_lib.py\n' + to_yaml(cfg))
    os.chmod(path, 0o600)
    return path


# ------------------------------------------------------------------ siemfwd

class Result:
    def __init__(self, argv, rc, out, err, started, elapsed):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.started, self.elapsed = started, elapsed

    def describe(self, n=3000):
        return '$ %s\nexit %s after %.1f s\n--- stdout\n%s\n--- stderr (tail)\n%s' % (
            ' '.join(self.argv), self.rc, self.elapsed, self.out[-n:], self.err[-n:])


def _result_check(res):
    """Fail on a leaked client secret, a sanitizer report or death by a signal."""
    for text in (SECRET, urllib.parse.quote(SECRET, safe='')):
        check(text not in res.out + res.err, 'the client secret appears in the output of '
              'siemfwd:\n' + res.describe())
    for mark in SANITIZER_MARKS:
        check(mark not in res.err, 'sanitizer report (%s):\n%s' % (mark, res.describe(8000)))
    check(res.rc is not None and res.rc >= 0,
          'siemfwd died from signal %s:\n%s' % (-res.rc if res.rc else '?', res.describe()))


def _env():
    env = dict(os.environ)
    # A sanitizer report must not pass for an ordinary exit 1.
    env['ASAN_OPTIONS'] = (env.get('ASAN_OPTIONS', '') + ':exitcode=86').lstrip(':')
    env['UBSAN_OPTIONS'] = (env.get('UBSAN_OPTIONS', '') +
                            ':print_stacktrace=1:halt_on_error=1:exitcode=87').lstrip(':')
    return env


def siemfwd(*args, timeout=120):
    """Run `siemfwd ARGS` to completion; Result (sanitizer reports fail the test)."""
    argv = [SIEMFWD] + list(args)
    started = time.time()
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=_env())
    except subprocess.TimeoutExpired as e:
        raise E2EFailure('%s did not finish within %d s; stderr:\n%s' % (
            ' '.join(argv), timeout, (e.stderr or b'').decode('utf-8', 'replace')[-3000:]))
    res = Result(argv, p.returncode, p.stdout.decode('utf-8', 'replace'),
                 p.stderr.decode('utf-8', 'replace'), started, time.monotonic() - t0)
    _result_check(res)
    return res


_runs = collections.Counter()


def run_once(cfg, expect_rc=0, timeout=120):
    """`siemfwd run -c cfg --once`; its stderr is kept next to cfg (run-once-N.log)."""
    res = siemfwd('run', '-c', cfg, '--once', timeout=timeout)
    _runs[cfg] += 1
    with open(os.path.join(os.path.dirname(cfg), 'run-once-%d.log' % _runs[cfg]), 'w',
              encoding='utf-8') as f:
        f.write(res.err)
    if expect_rc is not None:
        check(res.rc == expect_rc, 'expected exit %d:\n%s' % (expect_rc, res.describe()))
    return res


class Background:
    """`siemfwd run -c CFG` in the background; stop() sends SIGTERM and waits."""

    def __init__(self, workdir, cfg):
        self.err_path = os.path.join(workdir, 'siemfwd-run.log')
        self.argv = [SIEMFWD, 'run', '-c', cfg]
        self.errf = open(self.err_path, 'wb')
        self.started = time.time()
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=self.errf,
                                     env=_env())

    def stderr(self):
        with open(self.err_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self.errf.close()
                raise E2EFailure('siemfwd did not stop within %d s of SIGTERM:\n%s'
                                 % (timeout, self.stderr()[-3000:]))
        self.errf.close()
        res = Result(self.argv, self.proc.returncode, '', self.stderr(), self.started,
                     time.monotonic() - self.t0)
        _result_check(res)
        return res


def error_lines(stderr, tenant):
    """Log lines at level error/warn that name tenant (logfmt: tenant=NAME)."""
    pat = re.compile(r'(^|\s)tenant=("?)%s\2(\s|$)' % re.escape(tenant))
    return [ln for ln in stderr.splitlines()
            if pat.search(ln) and re.search(r'(^|\s)level=(error|warn)(\s|$)', ln)]


def state_rows(res):
    """`siemfwd state` output -> {(tenant, output): whole line}."""
    rows = {}
    for ln in res.out.splitlines()[1:]:
        parts = ln.split()
        if len(parts) >= 2:
            rows[(parts[0], parts[1])] = ln
    return rows


# ------------------------------------------------------------------ outputs

def read_lines(path):
    try:
        with open(path, encoding='utf-8') as f:
            return [ln.rstrip('\n') for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def read_records(path):
    out = []
    for n, ln in enumerate(read_lines(path), 1):
        try:
            out.append(json.loads(ln))
        except ValueError as e:
            raise E2EFailure('%s:%d: not one JSON record per line (%s): %.200s'
                             % (path, n, e, ln)) from None
    return out


def record_key(rec):
    """(tenant name, id, lastUpdate) of one delivered JSON record, any source."""
    tenant = (rec.get('tenant') or {}).get('name')
    for idf, luf in KEYS.values():
        if idf in rec and luf in rec:
            return tenant, rec[idf], rec[luf]
    raise E2EFailure('record without id / last-update field: %.300s' % json.dumps(rec))


def delivered(path):
    """Counter of (tenant, id, lastUpdate) in a json file output."""
    return collections.Counter(record_key(r) for r in read_records(path))


def per_tenant(counter):
    out = collections.Counter()
    for (tenant, _, _), n in counter.items():
        out[tenant] += n
    return out


class Expected:
    """Versions a test may demand: snapshot() before each run adds every
    (tenant, id, lastUpdate) the emulator lists with lastUpdate older than
    (run start - settle) to `must`; every version ever listed goes to `known`."""

    def __init__(self, emu, tenants, settle_s=1.0):
        self.emu, self.tenants, self.settle = emu, dict(tenants), settle_s
        self.must, self.known = set(), set()

    def snapshot(self, run_start=None):
        cut = (time.time() if run_start is None else run_start) - self.settle
        for name, source in self.tenants.items():
            for aid, lu in self.emu.versions(name, source):
                self.known.add((name, aid, lu))
                if parse_time(lu) < cut:
                    self.must.add((name, aid, lu))

    def only(self, names):
        return {k for k in self.must if k[0] in names}


def assert_exactly_once(counter, must, known, label):
    """Every version in `must` delivered exactly once, nothing twice, nothing unknown."""
    dups = sorted(k for k, n in counter.items() if n > 1)
    missing = sorted(must - set(counter))
    phantom = sorted(set(counter) - known) if known is not None else []
    log('  %s: %d records, %d distinct, %d required; per tenant %s' % (
        label, sum(counter.values()), len(counter), len(must), dict(sorted(
            per_tenant(counter).items()))))
    check(not dups, '%s: %d versions delivered more than once, e.g. %s'
          % (label, len(dups), [(k, counter[k]) for k in dups[:5]]))
    check(not missing, '%s: %d of %d required versions never delivered, e.g. %s'
          % (label, len(missing), len(must), missing[:5]))
    check(not phantom, '%s: %d delivered versions the emulator never listed, e.g. %s'
          % (label, len(phantom), phantom[:5]))


# ------------------------------------------------------------------ scenario runner

class Ctx:
    """One scenario's directory, emulators and background siemfwd runs."""

    def __init__(self, root, certs, name):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.certs = certs
        self.emus = []
        self.bgs = []

    def emulator(self, args=(), config=None):
        emu = Emulator(self.dir, os.path.dirname(self.certs['ca.crt']), args, config)
        self.emus.append(emu)
        return emu

    def background(self, cfg):
        bg = Background(self.dir, cfg)
        self.bgs.append(bg)
        return bg

    def out(self, name):
        return os.path.join(self.dir, name + '.jsonl')

    def close(self):
        for bg in self.bgs:
            if bg.alive():
                bg.proc.kill()
                bg.proc.wait(10)
        for emu in self.emus:
            emu.stop()


def run_scenarios(scenarios, argv, kind, expected_failures):
    """Run (number, name, fn) scenarios (all, or those named in argv), each
    with its own Ctx; print a summary; keep the work dir when one failed.
    Returns the process exit code (1 when a scenario FAILed or ERRORed)."""
    if not os.access(SIEMFWD, os.X_OK):
        sys.stderr.write('siemfwd binary not found: %s (set SIEMFWD)\n' % SIEMFWD)
        return 2
    want = set(argv)
    chosen = [s for s in scenarios if not want or s[0] in want or s[1] in want]
    root = tempfile.mkdtemp(prefix='siemfwd-%s.' % kind)
    certs = make_certs(os.path.join(root, 'certs'))
    log('siemfwd %s: %s, work dir %s' % (kind, SIEMFWD, root))
    results, keep = [], False
    t_all = time.monotonic()
    for num, name, fn in chosen:
        label = '%s.%s' % (num, name)
        log('=== %s: %s' % (label, fn.__doc__.split('\n')[0].strip()))
        c = Ctx(root, certs, label)
        t0 = time.monotonic()
        status = 'PASS'
        try:
            fn(c)
        except AssertionError as e:
            status = 'FAIL'
            log('  FAIL: %s' % e)
        except Exception:      # a broken test or environment, not a siemfwd verdict
            status = 'ERROR'
            log('  ERROR:\n' + traceback.format_exc())
        finally:
            c.close()
        if status != 'PASS' and name in expected_failures:
            log('  EXPECTED FAILURE (reported siemfwd bug): %s' % expected_failures[name])
            status = 'XFAIL'
        elif status == 'PASS' and name in expected_failures:
            log('  note: passes now; remove it from expected_failures')
        if status in ('FAIL', 'ERROR'):
            keep = True
            log('  files kept in %s' % c.dir)
        log('--- %s %s (%.1f s)' % (status, label, time.monotonic() - t0))
        results.append((label, status))
    log('\nsummary (%.0f s):' % (time.monotonic() - t_all))
    for label, status in results:
        log('  %-5s %s' % (status, label))
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if any(s in ('FAIL', 'ERROR') for _, s in results) else 0
