#!/usr/bin/python3
"""Cluster mode on one machine (issue 12 item 3): librdkafka's mock cluster (3
brokers, tenants and cursors topics pre-created with P partitions), the Defender
emulator with 300 tenants, siemfwd members A, B, C (each its own file output and
User-Agent, the same config otherwise), then, one after the other:
SIGKILL A; start a fourth, D; SIGSTOP B, later SIGCONT B (zombie); SIGTERM C.
Alerts are added and updated between the events.

Asserted, from the emulator's request log (who polled which tenant when) and
the outputs:
  * in every stable period (an event's takeover window over, the next event not
    yet caused) each tenant is polled by exactly one live member, and all
    tenants of one partition by the same member;
  * after SIGKILL A / SIGSTOP B / SIGTERM C every tenant the victim polled is
    polled by a live member within session timeout + 5 s + the unclean-takeover
    wait (2 x heartbeat) + one poll interval;
  * the zombie B, continued, never polls a tenant while another member is
    polling it (their poll spans in the window after SIGCONT do not overlap);
  * every request falls in a span in which the polling member's own log says
    it owned the tenant's partition ("cluster: assigned/revoked/lost
    partitions [..]"), and the victim's partitions are assigned to a survivor
    within session timeout + 5 s;
  * every alert reaches some output in its final version, and `siemfwd state`
    (reading the cursors topic) names each tenant's current poller as owner; duplicates are
    counted and printed, not asserted;
  * members stopped with SIGTERM exit 0 without sanitizer reports.
Then: brokers unreachable at start -> exit 1 naming them; a member whose
cluster.partitions differs from the topics' count -> refused, naming both.
Env: SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR (set by ctest).
Exit 77 (skipped) while siemfwd rejects the `cluster:` section.
SF_CLUSTER_WITHOUT_CLUSTER=1 leaves the section out (every member polls every
tenant): a check of the harness itself, which must then FAIL.
"""

import collections
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster_lib as C  # noqa: E402
import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

N_TENANTS = int(os.environ.get('SF_CLUSTER_TENANTS', '300'))
PARTITIONS = 16
SESSION_S, HEARTBEAT_S, POLL_S = 3.0, 1.0, 3.0
# Takeover window after an event: session timeout + 5 s (reassignment), the
# unclean-takeover wait, one poll interval. Generous: no timing benchmark.
WINDOW_S = SESSION_S + 5 + 2 * HEARTBEAT_S + POLL_S
# After SIGCONT librdkafka needs ~14 s to notice the lost assignment before
# the zombie rejoins (shared/reference/cluster-mode.md).
CONT_WINDOW_S = 14 + WINDOW_S
SKIP = 77
LOG_SLACK_S = 1.0     # a log line's time vs the state change it reports


class Run:
    """The cluster, the members and what happened when."""

    def __init__(self, c):
        self.c = c
        self.emu = c.emulator(['--tenants', str(N_TENANTS), '--alerts-per-tenant', '4',
                               '--history', '1h'])
        self.names = {t['id']: t['name'] for t in self.emu.tenants.values()}
        self.part = {tid: C.fnv1a_partition(tid, PARTITIONS) for tid in self.names}
        self.mock = C.KafkaMock(c.dir, {'siemfwd.tenants': PARTITIONS,
                                        'siemfwd.cursors': PARTITIONS},
                                dump=os.path.join(c.dir, 'cursors.dump'))
        self.tenants = [L.tenant_entry(self.emu, 'tenant%d' % i)
                        for i in range(1, N_TENANTS + 1)]
        self.cluster = C.cluster_section(self.mock.bootstrap, PARTITIONS, 'x',
                                         session_ms=int(SESSION_S * 1000),
                                         heartbeat_ms=int(HEARTBEAT_S * 1000))
        self.members = {}
        self.outs = {}
        self.stable = []         # (label, t0, t1, alive names)
        self.windows = []        # (label, t0, t1)

    def config(self, name):
        cluster = None if os.environ.get('SF_CLUSTER_WITHOUT_CLUSTER') else self.cluster
        cfg, out = C.member_config(self.c.dir, name, self.emu, self.c.certs, self.tenants,
                                   cluster, poll_interval='%ds' % POLL_S)
        self.outs[name] = out
        return cfg

    def start(self, name):
        m = C.Member(self.c.dir, name, self.config(name), self.outs.get(name))
        m.out = self.outs[name]
        self.members[name] = m
        return m

    def alive(self):
        return sorted(n for n, m in self.members.items() if m.fate is None and m.alive())

    def close(self):
        for m in self.members.values():
            m.close()
        if self.mock.proc.poll() is None:
            self.mock.stop()

    # -------------------------------------------------------------- phases
    def change_data(self):
        """New alerts and updates of existing ones while the cluster runs."""
        self.emu.post('/_emu/generate', {'tenant': '*', 'count': 1})
        self.emu.post('/_emu/update', {'tenant': '*', 'count': 1})

    def settle(self, label, t_event, window, pollers):
        """Sleep out the takeover window, then a stable period in which every
        tenant is polled; check it. `pollers`: members that should poll."""
        t_win = t_event + window
        self.windows.append((label, t_event, t_win))
        time.sleep(max(0.0, t_win - time.time()))
        for m in self.members.values():
            check(m.fate is not None or m.alive() or m.name not in pollers,
                  'member %s exited on its own (exit %s):\n%s'
                  % (m.name, m.proc.returncode, m.stderr()[-3000:]))
        self.change_data()
        C.wait_all_polled([self.emu], self.names, t_win, 120,
                          'every tenant polled after %s' % label)
        time.sleep(POLL_S)
        t_end = time.time()
        self.stable.append((label, t_win, t_end, set(pollers)))
        self.check_stable(label, t_win, t_end, set(pollers))

    def check_stable(self, label, t0, t1, pollers):
        rows = C.fetch_requests([self.emu], t0)
        got = C.pollers(rows, t0, t1)
        multi = {tid: sorted(w) for tid, w in got.items() if len(w) > 1}
        unpolled = sorted(set(self.names) - set(got))
        strays = {tid: sorted(set(w) - pollers) for tid, w in got.items() if set(w) - pollers}
        owner = {tid: next(iter(w)) for tid, w in got.items() if len(w) == 1}
        by_part = collections.defaultdict(set)
        for tid, who in owner.items():
            by_part[self.part[tid]].add(who)
        split = {p: sorted(w) for p, w in by_part.items() if len(w) > 1}
        share = collections.Counter(owner.values())
        log('  stable after %s (%.0f s): tenants per member %s' % (
            label, t1 - t0, dict(sorted(share.items()))))
        check(not unpolled, '%s: %d tenants polled by no member in the stable period, e.g. %s'
              % (label, len(unpolled), [self.names[t] for t in unpolled[:5]]))
        check(not strays, '%s: tenants polled by a member that should not poll, e.g. %s'
              % (label, [(self.names[t], w) for t, w in list(strays.items())[:5]]))
        check(not multi, '%s: %d tenants polled by more than one member in a stable period, '
              'e.g. %s' % (label, len(multi),
                           [(self.names[t], w) for t, w in list(multi.items())[:5]]))
        check(not split, '%s: partitions whose tenants several members polled: %s'
              % (label, split))
        return owner

    def owners_before(self, t_event):
        """Owner of each tenant in the last stable period before t_event."""
        label, t0, t1, _ = self.stable[-1]
        got = C.pollers(C.fetch_requests([self.emu], t0), t0, min(t1, t_event))
        return {tid: next(iter(w)) for tid, w in got.items() if len(w) == 1}

    def check_takeover(self, label, victim, t_event, owners):
        mine = sorted(t for t, w in owners.items() if w == victim)
        live = set(self.alive()) - {victim}
        rows = C.fetch_requests([self.emu], t_event)
        first = C.first_poll_after(rows, t_event, live)
        late = sorted((first.get(t, float('inf')) - t_event, self.names[t]) for t in mine
                      if first.get(t, float('inf')) - t_event > WINDOW_S)
        took = [first[t] - t_event for t in mine if t in first]
        log('  %s: %d tenants of %s polled again by %s after %.1f s (median %.1f s, max %.1f s)'
            % (label, len(took), victim, sorted(live), min(took) if took else -1,
               sorted(took)[len(took) // 2] if took else -1, max(took) if took else -1))
        check(mine, '%s: %s polled no tenant before the event' % (label, victim))
        check(not late, '%s: %d of %s\'s %d tenants not polled by another member within '
              '%.0f s, e.g. %s' % (label, len(late), victim, len(mine), WINDOW_S, late[:5]))
        # owned again (by the members' own logs) within session timeout + 5 s
        spans, _ = C.ownership(self.members[victim].stderr())
        parts = C.owned_at(spans, t_event)
        assigned = {n: C.ownership(self.members[n].stderr())[1] for n in live}
        first = C.first_assigned(assigned, t_event, parts)
        took = sorted(first.get(p, float('inf')) - t_event for p in parts)
        log('  %s: %s owned partitions %s; assigned to a survivor after %s s' % (
            label, victim, sorted(parts), [round(x, 1) for x in took]))
        check(parts, '%s: no "cluster: assigned partitions [..]" line of %s in its log '
              'says what it owned' % (label, victim))
        check(took[-1] <= SESSION_S + 5 + LOG_SLACK_S, '%s: partitions of %s not owned again '
              'within session timeout + 5 s: %s' % (
                  label, victim, {p: round(first.get(p, float('inf')) - t_event, 1)
                                  for p in parts}))

    def report_window(self, label, t0, t1):
        got = C.pollers(C.fetch_requests([self.emu], t0), t0, t1)
        both = {tid: C.overlapping(w) for tid, w in got.items()}
        both = {tid: p for tid, p in both.items() if p}
        log('  window %s (%.0f s): %d tenants polled by two members at once' % (
            label, t1 - t0, len(both)))
        return both


def lifecycle(c):
    """3 members; SIGKILL A, start D, SIGSTOP/SIGCONT B, SIGTERM C: nothing lost, one poller"""
    r = Run(c)
    try:
        _lifecycle(r)
    finally:
        r.close()


def require_cluster(cfg):
    """Skip the whole test while this siemfwd rejects the `cluster:` section."""
    err = C.check_config(cfg)
    if err is not None:
        log('  siemfwd rejects the cluster config (cluster mode not on this build):\n    %s'
            % err.replace('\n', '\n    ')[:2000])
        raise Skip()


def _lifecycle(r):
    require_cluster(r.config('A'))
    t = time.time()
    for name in ('A', 'B', 'C'):
        r.start(name)
    r.settle('start A B C', t, WINDOW_S, {'A', 'B', 'C'})

    # SIGKILL one
    t = time.time()
    owners = r.owners_before(t)
    r.members['A'].kill()
    log('  SIGKILL A')
    r.settle('SIGKILL A', t, WINDOW_S, {'B', 'C'})
    r.check_takeover('SIGKILL A', 'A', t, owners)

    # a fourth
    t = time.time()
    r.start('D')
    log('  started D')
    r.settle('start D', t, WINDOW_S, {'B', 'C', 'D'})

    # zombie: SIGSTOP, takeover, SIGCONT
    t = time.time()
    owners = r.owners_before(t)
    r.members['B'].signal(signal.SIGSTOP)
    log('  SIGSTOP B')
    r.settle('SIGSTOP B', t, WINDOW_S, {'C', 'D'})
    r.members['B'].fate = 'stopped'
    r.check_takeover('SIGSTOP B', 'B', t, owners)
    r.members['B'].fate = None
    t_cont = time.time()
    r.members['B'].signal(signal.SIGCONT)
    log('  SIGCONT B')
    r.settle('SIGCONT B', t_cont, CONT_WINDOW_S, {'B', 'C', 'D'})
    both = r.report_window('SIGCONT B', t_cont, t_cont + CONT_WINDOW_S)
    zombie = {tid: p for tid, p in both.items() if any('B' in pair for pair in p)}
    check(not zombie, 'zombie B polled %d tenants while another member polled them after '
          'SIGCONT, e.g. %s' % (len(zombie), [(r.names[t], p) for t, p in
                                              list(zombie.items())[:5]]))

    # SIGTERM one
    t = time.time()
    owners = r.owners_before(t)
    r.members['C'].terminate()
    log('  SIGTERM C: exit 0')
    r.settle('SIGTERM C', t, WINDOW_S, {'B', 'D'})
    r.check_takeover('SIGTERM C', 'C', t, owners)
    for label, t0, t1 in r.windows:
        if label not in ('SIGCONT B',):
            r.report_window(label, t0, t1)

    check_delivery(r)
    check_state_owners(r)
    for name in r.alive():
        r.members[name].terminate()
    for name, m in r.members.items():
        text = m.stderr()
        for mark in L.SANITIZER_MARKS:
            check(mark not in text, 'member %s: sanitizer report (%s):\n%s'
                  % (name, mark, text[-4000:]))
        errs = [ln for ln in text.splitlines() if 'level=error' in ln]
        log('  member %s (%s): %d error lines%s' % (name, m.fate, len(errs),
                                                     (', first: ' + errs[0][:300]) if errs
                                                     else ''))
    check_owned_polls(r)
    rc = r.mock.stop()
    report_cursors(r, rc)


def check_owned_polls(r):
    """Every request a member made falls in a span its own log says it owned
    the tenant's partition (the zombie B after SIGCONT included)."""
    spans = {n: C.ownership(m.stderr())[0] for n, m in r.members.items()}
    rows = C.fetch_requests([r.emu])
    bad = C.unowned_polls(rows, spans, r.part, LOG_SLACK_S)
    log('  %d requests, %d outside the poller\'s own ownership spans' % (len(rows), len(bad)))
    check(not bad, '%d requests by a member that did not own the tenant by its own log, e.g. '
          '%s' % (len(bad), [(t, r.names[tid], who) for t, tid, who in bad[:8]]))


def check_delivery(r):
    """Every alert's final version in some output; duplicates printed."""
    time.sleep(1.5)       # settle: the last updates older than tenant settle
    final = r.emu.get('/_emu/alerts?tenant=*&source=graph')['tenants']
    must = {(r.names[tid], a['id'], a['lastUpdateDateTime'])
            for tid, rows in final.items() for a in rows}

    def all_there():
        total, _, _ = C.delivered_union(r.outs)
        return not (must - set(total))
    try:
        L.wait_for(all_there, 90, 'every final alert version in some output', step=2)
    except L.E2EFailure:
        pass
    total, each, torn = C.delivered_union(r.outs)
    missing = sorted(must - set(total))
    dups = {k: n for k, n in total.items() if n > 1}
    extra = sum(n - 1 for n in dups.values())
    log('  delivered: %d records, %d distinct versions, %d final versions required; '
        'per member %s; torn last lines %d' % (
            sum(total.values()), len(total), len(must),
            {n: sum(c.values()) for n, c in sorted(each.items())}, torn))
    log('  duplicates: %d versions delivered more than once (%d extra records), e.g. %s' % (
        len(dups), extra, sorted(dups.items())[:3]))
    check(not missing, '%d of %d final alert versions reached no output, e.g. %s'
          % (len(missing), len(must), missing[:5]))


def check_state_owners(r):
    """`siemfwd state` (cluster mode: read from the cursors topic) names, for
    every tenant, the member that polls it now as the cursor's owner (every
    tenant got new alerts after the last rebalance, so its owner wrote)."""
    label, t0, t1, _ = r.stable[-1]
    got = C.pollers(C.fetch_requests([r.emu], t0), t0, time.time())
    poller = {r.names[tid]: next(iter(w)) for tid, w in got.items() if len(w) == 1}
    cfg = r.members[r.alive()[0]].cfg
    seen = {}

    def agree():
        res = L.siemfwd('state', '-c', cfg, timeout=120)
        check(res.rc == 0, 'siemfwd state in cluster mode:\n' + res.describe())
        seen.clear()
        for ln in res.out.splitlines()[1:]:
            parts = ln.split()
            if len(parts) >= 8 and parts[1] == 'out':
                seen[parts[0]] = parts[7]
        return all(seen.get(t) == w for t, w in poller.items())
    try:
        L.wait_for(agree, 60, 'siemfwd state naming the current pollers as owners', step=3)
    except L.E2EFailure:
        pass
    wrong = sorted((t, seen.get(t), w) for t, w in poller.items() if seen.get(t) != w)
    log('  siemfwd state: %d cursors, owners %s' % (
        len(seen), dict(collections.Counter(seen.values()))))
    check(len(poller) == len(r.names), 'the last stable period saw %d of %d tenants'
          % (len(poller), len(r.names)))
    check(not wrong, '%d tenants whose cursor owner in `siemfwd state` is not the member '
          'polling them (tenant, owner, poller), e.g. %s' % (len(wrong), wrong[:5]))


def report_cursors(r, rc):
    """What the topics hold at the end (printed): cursor records (key
    tenant/output) and the owner of each key's last one; other records."""
    lines = L.read_lines(r.mock.dump) if rc == 0 else []
    last, other = {}, 0
    for ln in lines:
        k, _, v = ln.partition('\t')
        if '/' in k:
            last[k] = v
        else:
            other += 1
    owners = collections.Counter()
    for v in last.values():
        try:
            rec = json.loads(v)
            owners['%s%s' % (rec.get('owner'), ' released' if rec.get('released') else '')] += 1
        except (ValueError, AttributeError):
            owners['(unparsed)'] += 1
    log('  topics: %d cursor records, %d cursor keys, last record per key by owner %s; '
        '%d other records (kafka_mock exit %s)' % (
            sum(1 for ln in lines if '/' in ln.partition('\t')[0]), len(last),
            dict(sorted(owners.items())), other, rc))


def small_member(c, bootstrap, partitions):
    emu = c.emulator(['--tenants', '3', '--alerts-per-tenant', '2'])
    tenants = [L.tenant_entry(emu, 'tenant%d' % i) for i in (1, 2, 3)]
    cl = C.cluster_section(bootstrap, partitions, 'x')
    cfg, _ = C.member_config(c.dir, 'A', emu, c.certs, tenants, cl)
    require_cluster(cfg)
    return cfg


def unreachable(c):
    """Brokers unreachable at start: exit 1 with an error naming them"""
    brokers = '127.0.0.1:%d' % L.free_port()
    cfg = small_member(c, brokers, PARTITIONS)
    res = L.siemfwd('run', '-c', cfg, timeout=120)
    check(res.rc == 1, 'unreachable brokers: expected exit 1:\n' + res.describe())
    check(brokers in res.err, 'the error does not name the brokers %s:\n%s'
          % (brokers, res.describe()))
    log('  exit 1 after %.1f s: %s' % (res.elapsed, [ln for ln in res.err.splitlines()
                                                     if brokers in ln][0][:300]))


def other_partitions(c):
    """A member whose partitions differ from the topics' count is refused"""
    mock = C.KafkaMock(c.dir, {'siemfwd.tenants': PARTITIONS, 'siemfwd.cursors': PARTITIONS})
    try:
        cfg = small_member(c, mock.bootstrap, PARTITIONS // 2)
        res = L.siemfwd('run', '-c', cfg, timeout=120)
    finally:
        mock.stop()
    check(res.rc not in (0, None), 'P=%d against topics of %d partitions: expected a refusal:'
          '\n%s' % (PARTITIONS // 2, PARTITIONS, res.describe()))
    line = [ln for ln in res.err.splitlines() if 'level=error' in ln and 'partitions' in ln]
    check(line and str(PARTITIONS) in line[0] and str(PARTITIONS // 2) in line[0],
          'the refusal does not name both partition counts:\n' + res.describe())
    log('  exit %d: %s' % (res.rc, line[0][:300]))


class Skip(BaseException):
    """Cluster mode not in this build (passes through run_scenarios' handler)."""


def main(argv):
    try:
        return L.run_scenarios([('1', 'lifecycle', lifecycle),
                                ('2', 'unreachable', unreachable),
                                ('3', 'partitions', other_partitions)], argv, 'cluster', {})
    except Skip:
        return SKIP


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
