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
import subprocess
import sys
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


def s1_progress(c):
    """A progress line on a terminal, none off one."""
    emu = c.emulator(['--tenants', '12', '--alerts-per-tenant', '30', '--history', '1h',
                      '--latency-ms', '150'])
    time.sleep(1.5)   # settle: alerts updated at the emulator's start
    tenants = [L.tenant_entry(emu, 'tenant%d' % i, page_size=5) for i in range(1, 13)]
    cfg = L.write_config(c.dir, emu, c.certs, tenants, [L.json_output(c.dir, 'out')],
                         poll_interval='2s')
    with open(cfg) as f:
        text = f.read().replace('max_parallel: 8', 'max_parallel: 2')
    with open(cfg, 'w') as f:
        f.write(text)
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


if __name__ == '__main__':
    sys.exit(L.run_scenarios([('1', 'progress', s1_progress)], sys.argv[1:], 'progress', {}))
