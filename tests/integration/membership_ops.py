#!/usr/bin/python3
"""Cluster membership as an operator meets it (issue 12 items 1, 4, 5), on
librdkafka's mock cluster (tests/tools/kafka_mock), without the Defender
emulator (the tenants' API address refuses connections; only membership,
cursors and the operator's views are looked at):

  * brokers unreachable at start: exit 1, the brokers named;
  * topics created with another partition count than cluster.partitions:
    refused at start (exit 2), both counts named;
  * run --once in cluster mode: refused (exit 2);
  * check --dump prints the cluster section with sasl.password masked;
  * two instances of one group with different tenant lists: each logs a
    config-drift error naming both instance ids, /metrics says
    siemfwd_cluster_config_drift 1 and how many tenants each owns; after
    SIGTERM (exit 0) `siemfwd state` reads the cursors topic and names each
    cursor's owner, released.

Env: SIEMFWD, SF_SOURCE_DIR, SF_TOOLS_DIR (set by ctest). Stdlib only.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster_lib as C  # noqa: E402
import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

TENANTS = [('contoso', '00000000-0000-0000-0000-000000000001'),
           ('fabrikam', '00000000-0000-0000-0000-000000000002'),
           ('northwind', '00000000-0000-0000-0000-000000000003')]


def config(d, name, brokers, tenants, partitions=8, metrics_port=None, **extra_props):
    props = {'session.timeout.ms': '3000', 'heartbeat.interval.ms': '1000'}
    props.update(extra_props)
    cfg = {
        'state_dir': os.path.join(d, name, 'state'),
        'poll_interval': '2s',
        'tenant_defaults': {'client_id': L.CLIENT_ID, 'client_secret': L.SECRET,
                            'authority': 'https://127.0.0.1:9',
                            'api_base': 'https://127.0.0.1:9'},
        'tenants': [{'name': n, 'tenant_id': t} for n, t in tenants],
        'outputs': [{'name': 'out', 'type': 'file', 'format': 'json',
                     'path': os.path.join(d, name, 'out.jsonl')}],
        'cluster': {'brokers': brokers, 'group': 'ops', 'partitions': partitions,
                    'instance_id': name, 'properties': props},
    }
    if metrics_port:
        cfg['metrics'] = {'listen': '127.0.0.1:%d' % metrics_port}
    os.makedirs(os.path.join(d, name), exist_ok=True)
    path = os.path.join(d, name, 'siemfwd.yaml')
    with open(path, 'w') as f:
        f.write(L.to_yaml(cfg))
    os.chmod(path, 0o600)
    return path


def metrics(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^(siemfwd_cluster_\w+) (\S+)$', text, re.M)}


def start(cfg, logpath):
    errf = open(logpath, 'ab')
    p = subprocess.Popen([L.SIEMFWD, 'run', '-c', cfg], stdout=subprocess.DEVNULL,
                         stderr=errf, env=L._env())
    errf.close()
    return p


def read(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'replace')


def main():
    d = tempfile.mkdtemp(prefix='siemfwd-membership.')
    procs, mock = [], None
    ok = False
    try:
        # --- brokers unreachable --------------------------------------------
        dead = '127.0.0.1:%d,127.0.0.1:%d' % (L.free_port(), L.free_port())
        cfg = config(d, 'nobroker', dead, TENANTS)
        r = L.siemfwd('run', '-c', cfg, timeout=60)
        check(r.rc == 1, 'unreachable brokers: want exit 1\n' + r.describe())
        last = r.err.strip().splitlines()[-1] if r.err.strip() else ''
        check(re.search(r'level=error msg="cluster: .*(unreachable|cannot reach)', last) and
              all(b in last for b in dead.split(',')),
              'unreachable brokers: the error must name them\n' + r.describe())
        log('brokers unreachable: exit 1, named')

        # --- --once refused ---------------------------------------------------
        r = L.siemfwd('run', '--once', '-c', cfg, timeout=60)
        check(r.rc == 2 and 'not available in cluster mode' in r.err,
              'run --once in cluster mode: want exit 2 and a reason\n' + r.describe())

        # --- check --dump masks secrets -------------------------------------
        os.environ['SF_OPS_SASL'] = 'sasl-secret-xyz'
        cfg = config(d, 'dump', dead, TENANTS, **{'sasl.password': '${SF_OPS_SASL}'})
        r = L.siemfwd('check', '--dump', '-c', cfg)
        check(r.rc == 0 and 'cluster:\n  brokers: ' in r.out and
              'sasl.password: "***"' in r.out and 'sasl-secret-xyz' not in r.out + r.err,
              'check --dump: the cluster section with the secret masked\n' + r.describe())
        log('check --dump: cluster section shown, sasl.password masked')

        # --- a different P is refused ---------------------------------------
        mock = C.KafkaMock(d, {'siemfwd.tenants': 8, 'siemfwd.cursors': 8})
        cfg = config(d, 'wrongp', mock.bootstrap, TENANTS, partitions=16)
        r = L.siemfwd('run', '-c', cfg, timeout=60)
        check(r.rc == 2 and 'has 8 partitions but cluster.partitions is 16' in r.err,
              'a P other than the topic\'s: want exit 2 naming both\n' + r.describe())
        log('cluster.partitions 16 against an 8-partition topic: refused')

        # --- drift, owners, state -------------------------------------------
        pa, pb = L.free_port(), L.free_port()
        cfg_a = config(d, 'alpha', mock.bootstrap, TENANTS, metrics_port=pa)
        cfg_b = config(d, 'bravo', mock.bootstrap, TENANTS[:2], metrics_port=pb)
        la, lb = os.path.join(d, 'alpha.log'), os.path.join(d, 'bravo.log')
        procs = [start(cfg_a, la), start(cfg_b, lb)]

        def both_drift():
            try:
                return all(metrics(p).get('siemfwd_cluster_config_drift') == 1
                           for p in (pa, pb))
            except OSError:
                return False
        L.wait_for(both_drift, 60, 'siemfwd_cluster_config_drift 1 on both instances')
        for log_path, me, other in ((la, 'alpha', 'bravo'), (lb, 'bravo', 'alpha')):
            text = read(log_path)
            check(re.search(r'level=error msg="cluster: config drift: instance %s has tenant '
                            r'list hash [0-9a-f]{16}, instance %s has [0-9a-f]{16}' % (me, other),
                            text),
                  '%s: no config drift error naming both instances:\n%s' % (me, text[-3000:]))

        def owned():
            try:
                ma, mb = metrics(pa), metrics(pb)
            except OSError:
                return None
            if ma.get('siemfwd_cluster_rebalances_total', 0) < 1 or \
                    mb.get('siemfwd_cluster_rebalances_total', 0) < 1:
                return None
            got = ma['siemfwd_cluster_owned_tenants'], mb['siemfwd_cluster_owned_tenants']
            return got if got[0] + got[1] > 0 else None
        got = L.wait_for(owned, 60, 'both instances assigned and owning tenants')
        log('drift reported by both; tenants owned: alpha %d, bravo %d' % got)
        # each instance polls the tenants of its partitions that it knows
        check(0 < got[0] + got[1] <= len(TENANTS), 'owned tenants: %s' % (got,))

        # cursors written (start points), then a clean stop releases them
        def cursors():
            r = L.siemfwd('state', '-c', cfg_a)
            return r if r.rc == 0 and 'contoso' in r.out else None
        L.wait_for(cursors, 60, 'a cursor of contoso in the cursors topic')
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p, name in zip(procs, ('alpha', 'bravo')):
            rc = p.wait(60)
            check(rc == 0, '%s: SIGTERM: exit %s\n%s' % (name, rc, read(os.path.join(
                d, name + '.log'))[-3000:]))
        procs = []
        r = L.siemfwd('state', '-c', cfg_a)
        check(r.rc == 0 and re.search(r'^TENANT .* OWNER ', r.out, re.M),
              'siemfwd state in cluster mode: an OWNER column\n' + r.describe())
        rows = [ln for ln in r.out.splitlines()[1:] if ln.strip()]
        check(rows and all(re.search(r' (alpha|bravo) \(released\) ', ln) for ln in rows),
              'every cursor owned by alpha or bravo and released after SIGTERM:\n' + r.out)
        log('siemfwd state: %d cursors, each with its owner, released' % len(rows))
        r = L.siemfwd('state', '--json', '-c', cfg_a)
        doc = json.loads(r.out) if r.rc == 0 else {}
        pairs = [p for p in doc.get('pairs', []) if p.get('cursor')]
        check(len(pairs) == len(rows) and
              all(p.get('owner') in ('alpha', 'bravo') and p.get('released') is True
                  for p in pairs),
              'siemfwd state --json: each cursor with "owner" and "released"\n' +
              r.describe())
        log('siemfwd state --json: %d pairs with owner and released' % len(pairs))
        ok = True
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        if mock:
            mock.stop()
        if ok:
            shutil.rmtree(d, ignore_errors=True)
        else:
            log('files kept in %s' % d)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except L.E2EFailure as e:
        print('FAIL: %s' % e)
        sys.exit(1)
