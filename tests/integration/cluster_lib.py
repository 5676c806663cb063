"""Helpers for the cluster-mode test and benchmark (issue 12): librdkafka's mock
cluster (tests/tools/kafka_mock) as a subprocess with the tenants and cursors
topics pre-created, siemfwd cluster members as subprocesses (one file output
and one identity each), their configs, and the analysis of the emulator's
request log: which instance polled which tenant when, against the times of the
events the test caused (kill, stop, cont, term, start).

Instance identity: each member gets its own `organization`, so its partner
User-Agent ("MdatpPartner-<org>-siemfwd/<v>") names it in the emulator's
request log; otherwise the members' configs are the same.

Does not decide what a scenario asserts (cluster_e2e.py, cluster_scale.py do).
Processes started here are stopped here, by their own handle. Stdlib only.
"""

import collections
import json
import os
import re
import select
import signal
import subprocess
import time

import e2e_lib as L
from e2e_lib import E2EFailure, check

TOOLS = os.environ.get('SF_TOOLS_DIR') or os.path.join(
    os.environ.get('SF_BUILD_DIR') or os.path.join(L.SRC, 'build'), 'tools')
KAFKA_MOCK = os.path.join(TOOLS, 'kafka_mock')
ORG_PREFIX = 'ClusterE2E_'
UA_RE = re.compile(r'MdatpPartner-' + ORG_PREFIX + r'([A-Za-z0-9]+)-siemfwd/')


def fnv1a_partition(tenant_id, partitions):
    """The documented tenant -> partition hash (sf_cluster_hash.h): FNV-1a
    32-bit over the lower-case tenant_id, modulo P."""
    h = 0x811c9dc5
    for b in tenant_id.lower().encode('ascii'):
        h ^= b
        h = (h * 0x01000193) & 0xffffffff
    return h % partitions


# ------------------------------------------------------------------ mock cluster

class KafkaMock:
    """kafka_mock with 3 brokers and the given topics (name -> partitions)
    created before READY. stop() ends it; with dump set, it first writes every
    message of the topics to that file (key<TAB>value lines)."""

    def __init__(self, workdir, topics, brokers=3, dump=None):
        if not os.access(KAFKA_MOCK, os.X_OK):
            raise E2EFailure('kafka_mock not built: %s (set SF_TOOLS_DIR)' % KAFKA_MOCK)
        self.log_path = os.path.join(workdir, 'kafka_mock.log')
        self.dump = dump
        cmd = [KAFKA_MOCK, '--brokers', str(brokers)]
        for name, parts in topics.items():
            cmd += ['--topic', '%s:%d' % (name, parts)]
        if dump:
            cmd += ['--dump', dump]
        self.logf = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.logf)
        self.bootstrap = self._wait_ready(30)

    def _wait_ready(self, timeout):
        end = time.monotonic() + timeout
        buf = b''
        while time.monotonic() < end and self.proc.poll() is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if not r:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            m = re.search(rb'READY bootstrap=(\S+)', buf)
            if m:
                return m.group(1).decode()
        self.stop()
        raise E2EFailure('kafka_mock did not start: %s' % self.log_tail())

    def log_tail(self, n=2000):
        with open(self.log_path, 'rb') as f:
            return f.read()[-n:].decode('utf-8', 'replace')

    def stop(self, timeout=150):
        if self.proc.poll() is None:
            self.proc.stdin.close()        # EOF: dump (if asked) and exit
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()
        self.logf.close()
        return self.proc.returncode


# ------------------------------------------------------------------ members

def cluster_section(bootstrap, partitions, instance_id, session_ms=3000, heartbeat_ms=1000,
                    group='siemfwd-e2e', tenants_topic='siemfwd.tenants',
                    cursors_topic='siemfwd.cursors', extra_props=None):
    props = {'session.timeout.ms': str(session_ms), 'heartbeat.interval.ms': str(heartbeat_ms)}
    props.update(extra_props or {})
    return {'brokers': bootstrap, 'group': group, 'tenants_topic': tenants_topic,
            'cursors_topic': cursors_topic, 'partitions': partitions,
            'instance_id': instance_id, 'properties': props}


def member_config(workdir, name, emu, certs, tenants, cluster, **top):
    """Config of member `name`: the shared tenants and cluster section; its own
    instance_id, organization (request-log identity), state_dir and file output."""
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    if cluster is not None:
        top['cluster'] = dict(cluster, instance_id=name)
    out = {'name': 'out', 'type': 'file', 'format': 'json',
           'path': os.path.join(d, 'out.jsonl')}
    top.setdefault('organization', ORG_PREFIX + name)
    top.setdefault('state_dir', os.path.join(d, 'state'))
    return L.write_config(d, emu, certs, tenants, [out], **top), out['path']


class Member:
    """One `siemfwd run -c CFG` cluster member (own directory, stderr log)."""

    def __init__(self, workdir, name, cfg, out_path):
        self.name, self.cfg, self.out = name, cfg, out_path
        self.dir = os.path.join(workdir, name)
        self.err_path = os.path.join(self.dir, 'siemfwd.log')
        self.errf = open(self.err_path, 'ab')
        self.argv = [L.SIEMFWD, 'run', '-c', cfg]
        self.started = time.time()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=self.errf,
                                     env=L._env())
        self.pid = self.proc.pid
        self.fate = None            # 'killed' / 'terminated' once the test ended it

    def alive(self):
        return self.proc.poll() is None

    def stderr(self):
        with open(self.err_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def signal(self, sig):
        check(self.alive(), 'member %s died before the test signalled it (exit %s):\n%s'
              % (self.name, self.proc.returncode, self.stderr()[-3000:]))
        self.proc.send_signal(sig)

    def rss_kib(self):
        try:
            with open('/proc/%d/status' % self.pid) as f:
                for ln in f:
                    if ln.startswith('VmRSS:'):
                        return int(ln.split()[1])
        except OSError:
            pass
        return None

    def kill(self):
        self.signal(signal.SIGKILL)
        self.proc.wait(10)
        self.fate = 'killed'

    def terminate(self, timeout=60):
        """SIGTERM, wait; fail on a sanitizer report, a signal death or no exit."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise E2EFailure('member %s did not stop within %d s of SIGTERM:\n%s'
                                 % (self.name, timeout, self.stderr()[-3000:]))
        self.fate = self.fate or 'terminated'
        self.errf.close()
        res = L.Result(self.argv, self.proc.returncode, '', self.stderr(), self.started, 0)
        L._result_check(res)
        check(res.rc == 0, 'member %s: exit %s after SIGTERM:\n%s'
              % (self.name, res.rc, res.err[-3000:]))
        return res

    def close(self):
        if self.alive():
            try:
                self.proc.send_signal(signal.SIGCONT)
            except OSError:
                pass
            self.proc.kill()
            self.proc.wait(10)
        if not self.errf.closed:
            self.errf.close()


def check_config(cfg):
    """`siemfwd check -c cfg`: None when accepted, else its error text."""
    res = L.siemfwd('check', '-c', cfg, timeout=60)
    return None if res.rc == 0 else (res.err or res.out).strip()


# ------------------------------------------------------------------ outputs

def read_tolerant(path):
    """JSON records of a file output; a torn last line (SIGKILL mid-write) is
    dropped and reported, any other bad line fails."""
    lines = L.read_lines(path)
    out, torn = [], 0
    for n, ln in enumerate(lines, 1):
        try:
            out.append(json.loads(ln))
        except ValueError as e:
            if n == len(lines):
                torn += 1
                continue
            raise E2EFailure('%s:%d: not one JSON record per line (%s)' % (path, n, e)) from None
    return out, torn


def delivered_union(paths):
    """Counter of (tenant, id, lastUpdate) over all outputs, per-file counters, torn lines."""
    total, each, torn = collections.Counter(), {}, 0
    for name, path in paths.items():
        recs, t = read_tolerant(path)
        torn += t
        c = collections.Counter(L.record_key(r) for r in recs)
        each[name] = c
        total.update(c)
    return total, each, torn


# ------------------------------------------------------------------ request log

def fetch_requests(emus, since=0.0):
    """[(t, tenant_id, api, member name or '?', status)] from every emulator, by time."""
    rows = []
    for emu in emus:
        got = emu.get('/_emu/requests?since=%f' % since)
        check(not got['full'], 'the emulator request log overflowed (raise --request-log-max)')
        for t, tid, api, ua, status in got['requests']:
            m = UA_RE.search(ua or '')
            rows.append((t, tid, api, m.group(1) if m else '?', status))
    rows.sort(key=lambda r: r[0])
    return rows


def pollers(rows, t0, t1):
    """{tenant_id: {member: [times]}} of requests in [t0, t1)."""
    out = collections.defaultdict(lambda: collections.defaultdict(list))
    for t, tid, _, who, _ in rows:
        if t0 <= t < t1:
            out[tid][who].append(t)
    return out


def overlapping(by_member):
    """Pairs of members whose poll-time ranges of one tenant intersect (both
    polled it at once rather than one after the other)."""
    spans = sorted((min(ts), max(ts), m) for m, ts in by_member.items())
    bad = []
    for i in range(len(spans)):
        for j in range(i + 1, len(spans)):
            if spans[j][0] <= spans[i][1]:
                bad.append((spans[i][2], spans[j][2]))
    return bad


def first_poll_after(rows, t0, members):
    """{tenant_id: first time at or after t0 one of `members` polled it}."""
    out = {}
    for t, tid, _, who, _ in rows:
        if t >= t0 and who in members and tid not in out:
            out[tid] = t
    return out


def wait_all_polled(emus, tenant_ids, since, timeout, what):
    """Wait until every tenant was polled at least once since `since`; the rows."""
    want = set(tenant_ids)

    def done():
        rows = fetch_requests(emus, since)
        return rows if want <= {r[1] for r in rows} else None
    return L.wait_for(done, timeout, what, step=1.0)


# ------------------------------------------------------------------ ownership logs

OWN_RE = re.compile(r'^ts=(\S+) .*cluster: (assigned|revoked|lost) partitions \[([0-9,]*)\]')


def ownership(text):
    """A member's ownership intervals from its own log lines ("cluster:
    assigned|revoked|lost partitions [..]"): {partition: [[t_from, t_to]]},
    t_to = inf while still owned; and the assignment times [(t, [partitions])]."""
    spans = collections.defaultdict(list)
    assigned = []
    for ln in text.splitlines():
        m = OWN_RE.search(ln)
        if not m:
            continue
        t = L.parse_time(m.group(1))
        parts = [int(p) for p in m.group(3).split(',') if p]
        if m.group(2) == 'assigned':
            assigned.append((t, parts))
            for p in parts:
                if not spans[p] or spans[p][-1][1] != float('inf'):
                    spans[p].append([t, float('inf')])
        else:
            for p in parts:
                if spans[p] and spans[p][-1][1] == float('inf'):
                    spans[p][-1][1] = t
    return spans, assigned


def unowned_polls(rows, spans_by_member, part_of, slack=1.0):
    """Requests made by a member outside every interval in which, by its own
    log, it owned the tenant's partition (slack s either side for the log
    line being written just after the state changed)."""
    bad = []
    for t, tid, _, who, _ in rows:
        spans = spans_by_member.get(who, {}).get(part_of[tid], [])
        if not any(a - slack <= t <= b + slack for a, b in spans):
            bad.append((round(t, 3), tid, who))
    return bad


def owned_at(spans, t):
    """Partitions an ownership map holds at time t."""
    return {p for p, iv in spans.items() if any(a <= t < b for a, b in iv)}


def first_assigned(assigned_by_member, t0, partitions):
    """{partition: first time at or after t0 some member's log says it was assigned}."""
    out = {}
    for who, assigned in assigned_by_member.items():
        for t, parts in assigned:
            if t < t0:
                continue
            for p in parts:
                if p in partitions and (p not in out or t < out[p]):
                    out[p] = t
    return out
