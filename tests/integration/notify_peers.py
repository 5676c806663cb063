"""Loopback peers for the notification tests: SMTP servers (Debian python3-aiosmtpd)
with STARTTLS (+ AUTH), implicit TLS, or plain text only, and an HTTPS webhook
receiver (http.server). Each records what it received; nothing is asserted here
(notify_e2e.py does). Servers run in threads of this process and are stopped by
their own stop()."""

import email
import email.policy
import http.server
import json
import logging
import socket
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = 'siemfwd', 'smtp-s3cret+/='

logging.getLogger('mail.log').setLevel(logging.ERROR)   # aiosmtpd's own chatter


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: refuses bad*@ (550) and busy*@ (450) recipients,
    stores every accepted message with its envelope."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []      # dicts: mail_from, rcpt_tos, raw (bytes), msg (parsed)
        self.sessions = 0
        self.seq = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('bad'):
            return '550 5.1.1 <%s>: Recipient address rejected: User unknown' % address
        if address.startswith('busy'):
            return '450 4.2.1 <%s>: mailbox busy, try later' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.seq += 1
            self.messages.append({'mail_from': envelope.mail_from,
                                  'rcpt_tos': list(envelope.rcpt_tos), 'raw': raw,
                                  'msg': msg, 'tls': session.ssl is not None})
            return '250 2.0.0 Ok: queued as TEST%04d' % self.seq

    def snapshot(self):
        with self.lock:
            return list(self.messages)


def _auth(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class ImplicitTLSController(Controller):
    """aiosmtpd's ready check cannot speak TLS with a server context; connect
    with a client context instead."""

    def __init__(self, handler, client_ctx, **kw):
        super().__init__(handler, **kw)
        self.client_ctx = client_ctx

    def _trigger_server(self):
        with socket.create_connection((self.hostname, self.port), 2.0) as s:
            with self.client_ctx.wrap_socket(s, server_hostname='localhost') as t:
                t.recv(1024)


class SMTPServer:
    """mode: 'starttls' (STARTTLS required, AUTH), 'implicit' (smtps), 'plain'."""

    def __init__(self, mode, certs):
        self.mode, self.box, self.port = mode, Mailbox(), free_port()
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(certs['server.crt'], certs['server.key'])
        kw = dict(hostname='127.0.0.1', port=self.port, ready_timeout=10)
        if mode == 'starttls':
            self.ctl = Controller(self.box, tls_context=server_ctx, require_starttls=True,
                                  authenticator=_auth, auth_required=True,
                                  auth_require_tls=True, **kw)
        elif mode == 'implicit':
            client_ctx = ssl.create_default_context(cafile=certs['ca.crt'])
            self.ctl = ImplicitTLSController(self.box, client_ctx, ssl_context=server_ctx,
                                             **kw)
        else:
            self.ctl = Controller(self.box, **kw)
        self.ctl.start()
        self.url = '%s://127.0.0.1:%d' % ('smtps' if mode == 'implicit' else 'smtp', self.port)

    def messages(self):
        return self.box.snapshot()

    def stop(self):
        self.ctl.stop()


class _HookHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n)
        hook = self.server.hook
        status = {'/ok': 200, '/accepted': 202, '/bad': 400, '/busy': 503,
                  '/gone': 410}.get(self.path, 404)
        with hook.lock:
            hook.requests.append({'path': self.path, 'headers': dict(self.headers.items()),
                                  'body': body})
        reply = json.dumps({'status': status, 'n': len(hook.requests)}).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, fmt, *args):
        pass


class WebhookReceiver:
    """HTTPS POST receiver: /ok 200, /accepted 202, /bad 400, /busy 503, /gone 410."""

    def __init__(self, certs):
        self.lock = threading.Lock()
        self.requests = []
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _HookHandler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs['server.crt'], certs['server.key'])
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.hook = self
        self.url = 'https://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={'poll_interval': 0.1}, daemon=True)
        self.thread.start()

    def received(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r['path'] == path]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
