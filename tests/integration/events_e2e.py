#!/usr/bin/python3
"""Operational events end to end (outputs[].events): siemfwd runs as a daemon
against the Defender emulator with one tenant whose consent is revoked and a
syslog output whose receiver is down. A webhook (HTTPS receiver) and an email
output (smtps sink) subscribed to events must each get: "consent revoked" once
when it starts, "access restored" once after the emulator restores consent;
"output failing" once, "delivering again" once after a receiver comes up on
the syslog port; nothing twice, a SIGHUP reload in between included. An output without `events:` gets none, and
`events:` on a syslog output is a config error with FILE:LINE.
Env: SIEMFWD, SF_SOURCE_DIR (set by ctest)."""

import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_lib as L  # noqa: E402
from e2e_lib import check, log  # noqa: E402
import notify_peers as P  # noqa: E402


def titles_of_hook(hook, path):
    out = []
    for r in hook.received(path):
        body = json.loads(r['body'])
        if body.get('type') == 'event':
            check('siemfwd_event' in body.get('alert', {}), 'event without its record: %s'
                  % body)
            out.append(body['title'])
    return out


def titles_of_mail(smtp):
    out = []
    for m in smtp.messages():
        subj = str(m['msg']['Subject'])
        if 'tenant' in subj.lower() or 'output' in subj.lower():
            out.append(subj)
    return out


def wait_title(get, needle, what, timeout=60):
    L.wait_for(lambda: any(needle in t for t in get()), timeout, what)


def serve_tcp(port, stop):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', port))
    srv.listen(8)
    srv.settimeout(0.2)
    conns = []
    while not stop.is_set():
        try:
            c, _ = srv.accept()
            c.settimeout(0.2)
            conns.append(c)
        except socket.timeout:
            pass
        for c in conns:
            try:
                c.recv(65536)
            except (socket.timeout, OSError):
                pass
    for c in conns:
        c.close()
    srv.close()


def s1_raise_and_clear(c):
    """Consent and a failing output raised once, kept over a SIGHUP, cleared once."""
    certs = dict(c.certs)
    certs['server.key'] = os.path.join(os.path.dirname(certs['ca.crt']), 'server.key')
    emu = c.emulator(['--tenants', '2', '--alerts-per-tenant', '3', '--history', '1h'])
    hook = P.WebhookReceiver(certs)
    smtp = P.SMTPServer('implicit', certs)
    stop = threading.Event()
    try:
        emu.control('tenant2', fault='revoke_consent')
        port = P.free_port()
        outs = [
            {'name': 'sink', 'type': 'syslog', 'format': 'json',
             'address': '127.0.0.1:%d' % port, 'transport': 'tcp', 'framing': 'lf',
             'connect_timeout': '1s'},
            {'name': 'ops-hook', 'type': 'webhook', 'url': hook.url + '/ok',
             'ca_file': certs['ca.crt'], 'rules': [{'tenants': ['nobody']}],
             'events': {'consent': True, 'output_failing': '3s', 'quarantine': True}},
            {'name': 'ops-mail', 'type': 'email', 'url': smtp.url,
             'from': 'siemfwd@mssp.example', 'to': ['noc@mssp.example'],
             'ca_file': certs['ca.crt'], 'rules': [{'tenants': ['nobody']}],
             'events': {'consent': True}},
            {'name': 'quiet-hook', 'type': 'webhook', 'url': hook.url + '/accepted',
             'ca_file': certs['ca.crt'], 'rules': [{'tenants': ['nobody']}]},
        ]
        tenants = [L.tenant_entry(emu, n) for n in ('tenant1', 'tenant2')]
        cfg = L.write_config(c.dir, emu, certs, tenants, outs)

        # events on an output that cannot send them: FILE:LINE error
        bad = L.write_config(c.dir, emu, certs, tenants, [dict(outs[0], events={'consent': True})],
                             name='bad.yaml')
        res = L.siemfwd('check', '-c', bad)
        check(res.rc == 2 and 'outputs[0].events' in res.err and 'bad.yaml:' in res.err,
              'events on a syslog output is not a FILE:LINE config error:\n' + res.describe())
        log('  events: on a syslog output: config error with FILE:LINE')

        run = c.background(cfg)
        hook_titles = lambda: titles_of_hook(hook, '/ok')  # noqa: E731
        wait_title(hook_titles, 'Consent revoked or missing for tenant tenant2',
                   'webhook: consent event')
        wait_title(lambda: titles_of_mail(smtp), 'Consent revoked or missing for tenant tenant2',
                   'email: consent event')
        wait_title(hook_titles, 'Output sink failing', 'webhook: output failing event')
        log('  raised: consent (webhook + email), output failing (webhook)')

        # a reload builds a new pipeline: what is still going on is not raised again
        run.proc.send_signal(signal.SIGHUP)
        L.wait_for(lambda: 'reload: running with the new configuration' in run.stderr(), 60,
                   'the reload')
        time.sleep(4)
        check(sum('Consent revoked' in t for t in hook_titles()) == 1,
              'consent raised again after a reload: %s' % hook_titles())
        check(sum('Output sink failing' in t for t in hook_titles()) == 1,
              'output failing raised again after a reload: %s' % hook_titles())
        log('  SIGHUP: nothing raised twice')

        emu.control('tenant2', fault='restore_consent')
        wait_title(hook_titles, 'Access restored for tenant tenant2', 'webhook: consent cleared')
        wait_title(lambda: titles_of_mail(smtp), 'Access restored for tenant tenant2',
                   'email: consent cleared')
        th = threading.Thread(target=serve_tcp, args=(port, stop), daemon=True)
        th.start()
        wait_title(hook_titles, 'Output sink delivering again', 'webhook: output cleared',
                   timeout=90)
        log('  cleared: consent (webhook + email), output failing (webhook)')
        time.sleep(3)   # anything sent twice would show by now

        got = hook_titles()
        for needle in ('Consent revoked or missing for tenant tenant2',
                       'Access restored for tenant tenant2', 'Output sink failing',
                       'Output sink delivering again'):
            n = sum(needle in t for t in got)
            check(n == 1, 'webhook got %r %d times: %s' % (needle, n, got))
        check(not any('tenant1' in t for t in got), 'an event for the healthy tenant1: %s' % got)
        mail = titles_of_mail(smtp)
        check(sum('Consent revoked' in t for t in mail) == 1 and
              sum('Access restored' in t for t in mail) == 1,
              'email: consent events not once each: %s' % mail)
        check(not any('Output sink' in t for t in mail),
              'email got output events it did not subscribe to: %s' % mail)
        quiet = hook.received('/accepted')
        check(not quiet, 'an output without events: got %d requests' % len(quiet))
        res = run.stop()
        check(res.rc == 0, 'siemfwd exit %s' % res.rc)
        log('  each event once per subscriber; none for outputs without events:')
    finally:
        stop.set()
        hook.stop()
        smtp.stop()


if __name__ == '__main__':
    sys.exit(L.run_scenarios([('1', 'raise_and_clear', s1_raise_and_clear)], sys.argv[1:],
                             'events', {}))
