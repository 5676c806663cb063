"""Helpers for siemfwd's system tests (whole `siemfwd run` pipeline, real peers on
127.0.0.1): a private rsyslogd writing what it receives to a file, the kafka_mock
tool (librdkafka mock cluster, dumped at the end), the HEC emulator, `siemfwd run`
processes that can be SIGKILLed, delivered-version bookkeeping per output keyed by
(tenant, alert id, lastUpdate in epoch ms), and CEF checks with lognormalizer.

Builds on e2e_lib (emulator, config writing, sanitizer checks); asserts nothing
about scenarios itself. Every process started here is stopped here, by its own
handle. Stdlib only (/usr/bin/python3).
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
import subprocess
import sys
import tempfile
import time
import urllib.request

import e2e_lib as L
from e2e_lib import check, log

TOOLS = os.environ.get('SF_TOOLS_DIR') or os.path.join(os.path.dirname(L.SIEMFWD), 'tools')
KAFKA_MOCK = os.path.join(TOOLS, 'kafka_mock')
HEC_EMU = os.path.join(L.SRC, 'tests', 'emulator', 'hec_emu.py')
RSYSLOGD = shutil.which('rsyslogd') or '/usr/sbin/rsyslogd'
HEC_TOKEN = '5f4dcc3b-5aa7-4c2f-9b1e-000000000042'
KAFKA_TOPIC = 'defender-alerts'


# ------------------------------------------------------------------ keys

def lu_ms(text):
    """ISO-8601 UTC with 0-7 fraction digits -> epoch ms, fraction truncated
    (what the epoch_ms map transform writes)."""
    s = text.rstrip('Z')
    base, _, frac = s.partition('.')
    dt = datetime.datetime.strptime(base, '%Y-%m-%dT%H:%M:%S').replace(
        tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + int((frac + '000')[:3])


_CEF_KEY = re.compile(r'(?:^| )([A-Za-z0-9_]+)=')


def cef_body(line):
    """The CEF part of a received syslog message (header dropped), or None."""
    i = line.find('CEF:0|')
    return line[i:] if i >= 0 else None


def cef_extension(cef):
    """{key: raw value} of a CEF line's extension (values left escaped)."""
    bars, i = 0, 0
    while i < len(cef) and bars < 7:
        if cef[i] == '\\':
            i += 2
            continue
        bars += cef[i] == '|'
        i += 1
    ext = cef[i:]
    marks = list(_CEF_KEY.finditer(ext))
    out = {}
    for n, m in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(ext)
        out[m.group(1)] = ext[m.end():end]
    return out


def cef_key(cef):
    """(tenant, id, lastUpdate ms) of a CEF record of the cef-defender map."""
    ext = cef_extension(cef)
    try:
        return ext['flexString2'], ext['externalId'], int(ext['deviceCustomDate1'])
    except (KeyError, ValueError):
        raise L.E2EFailure('CEF record without flexString2/externalId/deviceCustomDate1: '
                           '%.300s' % cef) from None


def json_key(rec, tenant=None):
    """(tenant, id, lastUpdate ms) of a JSON alert record (graph source)."""
    name = tenant or (rec.get('tenant') or {}).get('name')
    try:
        return name, rec['id'], lu_ms(rec['lastUpdateDateTime'])
    except (KeyError, ValueError, TypeError):
        raise L.E2EFailure('JSON record without id/lastUpdateDateTime: %.300s'
                           % json.dumps(rec)) from None


# ------------------------------------------------------------------ expected versions

class Versions:
    """Versions the emulator lists, as (tenant name, id, lastUpdate ms).
    snapshot(cut) adds those with lastUpdate < cut (epoch s) to `must`, all to
    `known`. An update supersedes a version: only use snapshot() for `must`
    while nothing updates alerts behind the test's back."""

    def __init__(self, emu):
        self.emu = emu
        self.names = {t['id']: n for n, t in emu.tenants.items()}
        self.must, self.known = set(), set()

    def current(self):
        """Every alert's current version (also added to `known`)."""
        obj = self.emu.get('/_emu/alerts?tenant=*&source=graph')
        out = set()
        for tid, rows in obj['tenants'].items():
            for r in rows:
                out.add((self.names[tid], r['id'], lu_ms(r['lastUpdateDateTime'])))
        self.known |= out
        return out

    def snapshot(self, cut):
        cur = self.current()
        self.must |= {k for k in cur if k[2] < cut * 1000}
        return cur


def summarize(counter, must, known, label, allow_dups=False):
    """Log and check one output: every `must` version present; nothing unknown;
    duplicates reported (and failing unless allow_dups). Returns the dup count."""
    dups = sorted(k for k, n in counter.items() if n > 1)
    extra = sum(n - 1 for n in counter.values() if n > 1)
    missing = sorted(must - set(counter))
    phantom = sorted(set(counter) - known) if known is not None else []
    log('  %-8s %5d records, %5d distinct, %5d required, %d missing, %d duplicate '
        'records (%d versions)' % (label, sum(counter.values()), len(counter), len(must),
                                   len(missing), extra, len(dups)))
    check(not missing, '%s: %d of %d required versions never delivered, e.g. %s'
          % (label, len(missing), len(must), missing[:5]))
    check(not phantom, '%s: %d delivered versions the emulator never listed, e.g. %s'
          % (label, len(phantom), phantom[:5]))
    check(allow_dups or not dups, '%s: %d versions delivered more than once in a clean run, '
          'e.g. %s' % (label, len(dups), [(k, counter[k]) for k in dups[:5]]))
    return extra


def check_plausible(counter, current, label):
    """Without a full list of versions (alerts updated while the test ran): every
    delivered version is of a known alert and not newer than its current version."""
    latest = {(t, i): lu for t, i, lu in current}
    bad = sorted(k for k in counter if latest.get(k[:2], -1) < k[2])
    check(not bad, '%s: %d delivered versions of unknown alerts or newer than the '
          'emulator\'s, e.g. %s' % (label, len(bad), bad[:5]))


# ------------------------------------------------------------------ processes

free_port = L.free_port  # one copy, in e2e_lib


def listening(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5):
            return True
    except OSError:
        return False


def read_ready(proc, prefix, timeout, what):
    """First stdout line starting with prefix (e.g. 'READY ')."""
    end = time.monotonic() + timeout
    buf = b''
    while time.monotonic() < end:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            for line in buf.decode('utf-8', 'replace').splitlines():
                if line.startswith(prefix):
                    return line
        if proc.poll() is not None:
            break
    raise L.E2EFailure('%s did not start (no %r line)' % (what, prefix))


def _stop_proc(proc, sig=signal.SIGTERM, timeout=15):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return proc.returncode


class Rsyslog:
    """A private rsyslogd (imtcp on 127.0.0.1:port, LF or octet-counted frames)
    writing every %rawmsg% as one line to out.log. The port is fixed at the
    first start so a restart listens where the sender expects it."""

    def __init__(self, workdir, port=None):
        self.dir = os.path.join(workdir, 'rsyslog')
        os.makedirs(os.path.join(self.dir, 'work'), exist_ok=True)
        self.port = port or free_port()
        self.out = os.path.join(self.dir, 'out.log')
        self.proc = None
        self.start()

    def _conf(self):
        d = self.dir
        return ('global(workDirectory="%s/work" maxMessageSize="64k"\n'
                '  parser.escapeControlCharactersOnReceive="off")\n'
                'module(load="imtcp")\n'
                'input(type="imtcp" address="127.0.0.1" port="%d" ruleset="r")\n'
                'template(name="raw" type="string" string="%%rawmsg%%\\n")\n'
                'ruleset(name="r" queue.type="Direct") {\n'
                '  action(type="omfile" file="%s" template="raw" flushOnTXEnd="on")\n}\n'
                % (d, self.port, self.out))

    def start(self, timeout=20):
        conf = os.path.join(self.dir, 'rsyslog.conf')
        with open(conf, 'w', encoding='utf-8') as f:
            f.write(self._conf())
        logf = open(os.path.join(self.dir, 'rsyslog.log'), 'ab')
        self.proc = subprocess.Popen([RSYSLOGD, '-n', '-f', conf, '-i',
                                      os.path.join(self.dir, 'rsyslog.pid')],
                                     stdout=logf, stderr=logf)
        logf.close()
        L.wait_for(lambda: listening(self.port) or self.proc.poll() is not None, timeout,
                   'rsyslogd listening on %d' % self.port, 0.1)
        check(self.proc.poll() is None, 'rsyslogd exited at start: %s' % self.log_tail())

    def log_tail(self):
        with open(os.path.join(self.dir, 'rsyslog.log'), 'rb') as f:
            return f.read()[-2000:].decode('utf-8', 'replace')

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            _stop_proc(self.proc, sig)
            self.proc = None

    def lines(self):
        return L.read_lines(self.out)

    def cef_lines(self):
        out = []
        for ln in self.lines():
            body = cef_body(ln)
            check(body is not None, 'rsyslog received a message without CEF: %.200s' % ln)
            out.append(body)
        return out

    def keys(self):
        return collections.Counter(cef_key(c) for c in self.cef_lines())


class KafkaMock:
    """tests/tools/kafka_mock: 3-broker mock cluster; stop() dumps the topic."""

    def __init__(self, workdir, topics=(KAFKA_TOPIC,), brokers=3, partitions=4):
        check(os.access(KAFKA_MOCK, os.X_OK), 'kafka_mock tool not built: %s (set '
              'SF_TOOLS_DIR)' % KAFKA_MOCK)
        self.dump = os.path.join(workdir, 'kafka.dump')
        self.log_path = os.path.join(workdir, 'kafka_mock.log')
        cmd = [KAFKA_MOCK, '--brokers', str(brokers), '--partitions', str(partitions),
               '--dump', self.dump]
        for t in topics:
            cmd += ['--topic', t]
        self.logf = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.logf, env=L._env())
        line = read_ready(self.proc, 'READY bootstrap=', 30, 'kafka_mock')
        self.bootstrap = line.split('=', 1)[1].strip()
        self.records = None

    def stop(self, timeout=150):
        """Close stdin: the tool dumps every message and exits. Returns [(key, value)]."""
        if self.records is not None:
            return self.records
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            rc = 'timeout'
        self.proc.stdout.close()
        self.logf.close()
        with open(self.log_path, 'rb') as f:
            tail = f.read()[-3000:].decode('utf-8', 'replace')
        for mark in L.SANITIZER_MARKS:
            check(mark not in tail, 'kafka_mock sanitizer report:\n%s' % tail)
        check(rc == 0, 'kafka_mock exited %s: %s' % (rc, tail))
        self.records = []
        with open(self.dump, encoding='utf-8') as f:
            for ln in f:
                key, _, value = ln.rstrip('\n').partition('\t')
                self.records.append((key, value))
        return self.records

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def keys(self):
        """Counter of versions; checks that every message key is its tenant name."""
        out = collections.Counter()
        for key, value in self.stop():
            try:
                rec = json.loads(value)
            except ValueError:
                raise L.E2EFailure('kafka: value is not JSON: %.200s' % value) from None
            k = json_key(rec)
            check(key == k[0], 'kafka: message key %r is not the tenant name %r' % (key, k[0]))
            out[k] += 1
        return out


class HecEmu:
    """tests/emulator/hec_emu.py on plain HTTP with one token (acks on)."""

    def __init__(self, workdir, ack=True, ack_delay=0.2, verbose=True):
        self.log_path = os.path.join(workdir, 'hec_emu.log')
        spec = HEC_TOKEN + (',ack' if ack else '')
        self.logf = open(self.log_path, 'ab')
        self.proc = subprocess.Popen([L.PY, HEC_EMU, '--token', spec, '--ack-delay',
                                      str(ack_delay), '--exit-with-parent'] +
                                     (['--verbose'] if verbose else []),
                                     stdout=subprocess.PIPE, stderr=self.logf)
        line = read_ready(self.proc, 'READY port=', 30, 'hec_emu')
        self.port = int(line.split('=', 1)[1].split()[0])
        self.url = 'http://127.0.0.1:%d' % self.port

    def _req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read().decode('utf-8'))

    def control(self, **spec):
        return self._req('POST', '/_emu/control', spec)

    def stats(self):
        return self._req('GET', '/_emu/stats')

    def events(self):
        return self._req('GET', '/_emu/events')['events']

    def keys(self):
        out = collections.Counter()
        for env in self.events():
            ev = env.get('event')
            check(isinstance(ev, dict), 'hec: event is not a JSON object: %.200s'
                  % json.dumps(env))
            k = json_key(ev)
            check((env.get('fields') or {}).get('tenant') == k[0],
                  'hec: fields.tenant %r is not the tenant %r' % (env.get('fields'), k[0]))
            out[k] += 1
        return out

    def stop(self):
        _stop_proc(self.proc)
        self.proc.stdout.close()
        self.logf.close()


class Siemfwd:
    """`siemfwd run -c CFG` in the background, stderr to its own log file."""

    def __init__(self, workdir, cfg, tag):
        self.err_path = os.path.join(workdir, 'siemfwd-%s.log' % tag)
        self.argv = [L.SIEMFWD, 'run', '-c', cfg]
        with open(self.err_path, 'wb') as errf:
            self.started = time.monotonic()
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=errf,
                                         env=L._env())
        self.pid = self.proc.pid

    def stderr(self):
        with open(self.err_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def alive(self):
        return self.proc.poll() is None

    def _sanitizer(self):
        err = self.stderr()
        for mark in L.SANITIZER_MARKS:
            check(mark not in err, 'sanitizer report (%s) in %s:\n%s'
                  % (mark, self.err_path, err[-6000:]))

    def vm_hwm_kb(self):
        """Peak RSS (VmHWM) in KiB, or None once the process is gone."""
        try:
            with open('/proc/%d/status' % self.pid, encoding='ascii') as f:
                for ln in f:
                    if ln.startswith('VmHWM:'):
                        return int(ln.split()[1])
        except OSError:
            pass
        return None

    def kill(self):
        """SIGKILL (a crash); fails if it had died on its own before."""
        check(self.alive(), 'siemfwd exited on its own (rc %s) before the kill:\n%s'
              % (self.proc.returncode, self.stderr()[-3000:]))
        self.proc.kill()
        self.proc.wait(10)
        self._sanitizer()

    def term(self, timeout=60):
        """SIGTERM, wait; returns the exit code (sanitizer reports fail)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise L.E2EFailure('siemfwd did not stop within %d s of SIGTERM:\n%s'
                                   % (timeout, self.stderr()[-3000:]))
        self._sanitizer()
        return self.proc.returncode

    def ensure_dead(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)


# ------------------------------------------------------------------ config

def cef_format(name='cef-graph'):
    return {'name': name, 'type': 'cef', 'map': os.path.join(L.MAPS, 'cef-defender.yaml')}


def syslog_output(port, fmt='cef-graph', name='syslog'):
    return {'name': name, 'type': 'syslog', 'format': fmt, 'address': '127.0.0.1:%d' % port,
            'transport': 'tcp', 'framing': 'octet-counting', 'header': 'rfc5424',
            'connect_timeout': '2s', 'write_timeout': '5s'}


def kafka_output(bootstrap, name='kafka'):
    return {'name': name, 'type': 'kafka', 'format': 'json', 'brokers': bootstrap,
            'topic': KAFKA_TOPIC}


def hec_output(url, name='hec', ack=True):
    return {'name': name, 'type': 'hec', 'format': 'json', 'url': url, 'token': HEC_TOKEN,
            'ack': ack, 'ack_poll_interval': '250ms', 'batch_timeout': '200ms',
            'index': 'defender', 'timeout': '5s'}


def file_output(path, fmt='cef-graph', name='file'):
    return {'name': name, 'type': 'file', 'format': fmt, 'path': path}


def file_keys(path):
    """Counter of versions in a CEF file output."""
    return collections.Counter(cef_key(ln) for ln in L.read_lines(path))


# ------------------------------------------------------------------ lognormalizer

# liblognorm 2.0.6's first-key bug workaround, shared with the golden tests
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'golden'))
from check_cef import space_after_header as _space_after_header  # noqa: E402


def lognorm_parse(cef_lines):
    """Parse CEF lines with lognormalizer; returns (parsed, unparsed samples)
    where parsed counts lines whose result holds a cef object with the same
    externalId as our own parse."""
    lognormalizer = shutil.which('lognormalizer')
    check(lognormalizer, 'lognormalizer (liblognorm-utils) not installed')
    with tempfile.NamedTemporaryFile('w', suffix='.rb', delete=False) as rb:
        rb.write('version=2\nrule=:%cef:cef%\n')
    try:
        feed = ''.join(_space_after_header(ln) + '\n' for ln in cef_lines)
        res = subprocess.run([lognormalizer, '-r', rb.name, '-e', 'json'],
                             input=feed.encode('utf-8'), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=True, timeout=300)
    finally:
        os.unlink(rb.name)
    outs = [ln for ln in res.stdout.decode('utf-8').splitlines() if ln.strip()]
    check(len(outs) == len(cef_lines), 'lognormalizer printed %d results for %d lines'
          % (len(outs), len(cef_lines)))
    parsed, bad = 0, []
    for src, out in zip(cef_lines, outs):
        obj = json.loads(out)
        ext = (obj.get('cef') or {}).get('Extensions') or {}
        if ext.get('externalId') == cef_extension(src).get('externalId'):
            parsed += 1
        elif len(bad) < 3:
            bad.append(src[:300])
    return parsed, bad


# ------------------------------------------------------------------ a whole set-up

class Rig:
    """One scenario's peers: Defender emulator, rsyslogd, kafka_mock, hec_emu, a
    CEF file output, and the siemfwd config using all four outputs."""

    def __init__(self, root, certs, name, tenants, poll_s, emu_args, **top):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir)
        self.runs = []
        self.emu = self.rsys = self.kafka = self.hec = None
        try:
            self.emu = L.Emulator(self.dir, os.path.dirname(certs['ca.crt']), emu_args)
            self.rsys = Rsyslog(self.dir)
            self.kafka = KafkaMock(self.dir)
            self.hec = HecEmu(self.dir)
        except BaseException:
            self.close()
            raise
        self.file = os.path.join(self.dir, 'file.cef')
        outs = [syslog_output(self.rsys.port), kafka_output(self.kafka.bootstrap),
                hec_output(self.hec.url), file_output(self.file)]
        top.setdefault('shutdown_timeout', '20s')
        self.cfg = L.write_config(self.dir, self.emu, certs,
                                  [L.tenant_entry(self.emu, n) for n in tenants], outs,
                                  [cef_format()], poll_interval='%gs' % poll_s, **top)
        self.vers = Versions(self.emu)

    def siemfwd(self, tag):
        r = Siemfwd(self.dir, self.cfg, tag)
        self.runs.append(r)
        return r

    def live_keys(self):
        """Versions at the outputs readable while siemfwd runs (all but kafka)."""
        return {'syslog': self.rsys.keys(), 'hec': self.hec.keys(),
                'file': file_keys(self.file)}

    def close(self):
        for r in self.runs:
            r.ensure_dead()
        if self.kafka:
            self.kafka.kill()
        for p in (self.hec, self.rsys, self.emu):
            if p is None:
                continue
            try:
                p.stop()
            except Exception:    # noqa: BLE001 - best effort at teardown
                pass
