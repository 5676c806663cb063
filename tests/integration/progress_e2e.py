#!/usr/bin/python3
"""The progress line (issue 13 item 6): `run --once` on a terminal redraws
"siemfwd: N/M tenants, ... alerts fetched (R/s), ... records delivered" on
stderr; off a terminal it writes nothing of the kind. Uses the Defender
emulator with added latency so the pass lasts a few seconds.
Env: SIEMFWD, SF_SOURCE_DIR (set by ctest)."""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402

LINE = re.compile(r'siemfwd: (\d+)/(\d+) tenants, (\d+) alerts fetched \((\d+)/s\), '
                  r'(\d+) records delivered')


def run_on_pty(cfg):
    master, slave = pty.openpty()
    p = subprocess.Popen([L.SIEMFWD, 'run', '-c', cfg, '--once'], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=slave, env=L._env())
    os.close(slave)
    out = b''
    while True:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    p.wait(120)
    os.close(master)
    return p.returncode, out.decode('utf-8', 'replace')


def main():
    root = tempfile.mkdtemp(prefix='siemfwd-progress.')
    certs = L.make_certs(os.path.join(root, 'certs'))
    emu = L.Emulator(root, os.path.join(root, 'certs'),
                     ['--tenants', '12', '--alerts-per-tenant', '30', '--history', '1h',
                      '--latency-ms', '150'])
    ok = False
    try:
        time.sleep(1.5)   # settle: alerts updated at the emulator's start
        tenants = [L.tenant_entry(emu, 'tenant%d' % i, page_size=5) for i in range(1, 13)]
        out = L.json_output(root, 'out')
        cfg = L.write_config(root, emu, certs, tenants, [out], poll_interval='2s')
        text = open(cfg).read().replace('max_parallel: 8', 'max_parallel: 2')
        open(cfg, 'w').write(text)
        rc, tty = run_on_pty(cfg)
        check(rc == 0, 'run --once on a terminal exit %s:\n%s' % (rc, tty[-2000:]))
        lines = LINE.findall(tty)
        check(len(lines) >= 2, 'no progress lines on the terminal:\n%s' % tty[-2000:])
        check(all(int(m[1]) == 12 for m in lines), 'progress counts the wrong total: %s' % lines)
        fetched = [int(m[2]) for m in lines]
        check(fetched == sorted(fetched), 'alerts fetched went backwards: %s' % fetched)
        check('\r' in tty and '\x1b[K' in tty, 'the line is not redrawn in place')
        log('  terminal: %d progress redraws, last %s' % (len(lines), lines[-1]))
        res = L.run_once(cfg)   # stderr is a pipe: nothing extra
        check(not LINE.search(res.err) and '\x1b[K' not in res.err,
              'progress written off a terminal:\n%s' % res.err[-2000:])
        log('  off a terminal: no progress line')
        ok = True
    finally:
        emu.stop()
        if ok and not os.environ.get('KEEP'):
            shutil.rmtree(root, ignore_errors=True)
        else:
            log('kept %s' % root)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except L.E2EFailure as e:
        print('FAIL: %s' % e, file=sys.stderr)
        sys.exit(1)
