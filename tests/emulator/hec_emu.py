#!/usr/bin/python3
"""hec_emu.py - a Splunk HTTP Event Collector emulator for siemfwd's tests.

Implements the documented protocol (shared/reference/formats-and-outputs.md
section 4): token auth, /services/collector[/event] with concatenated JSON
envelopes (gzip bodies too), envelope validation with invalid-event-number,
/raw, channels and indexer acknowledgement, /ack, /health, the reply-code
table, max_content_length -> 413, plus fault modes (503, busy, 500, acks
late or never) driven through POST /_emu/control. Everything indexed is
readable at GET /_emu/events. Python 3 standard library only.
Flags and control endpoints: tests/emulator/HEC.md.
"""

import argparse
import base64
import json
import os
import random
import re
import ssl
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# code -> (HTTP status, text): reference section 4.6.
CODES = {
    0: (200, "Success"),
    1: (403, "Token disabled"),
    2: (401, "Token is required"),
    3: (401, "Invalid authorization"),
    4: (403, "Invalid token"),
    5: (400, "No data"),
    6: (400, "Invalid data format"),
    7: (400, "Incorrect index"),
    8: (500, "Internal server error"),
    9: (503, "Server is busy"),
    10: (400, "Data channel is missing"),
    11: (400, "Invalid data channel"),
    12: (400, "Event field is required"),
    13: (400, "Event field cannot be blank"),
    14: (400, "ACK is disabled"),
    15: (400, "Error in handling indexed fields"),
    16: (400, "Query string authorization is not enabled"),
    17: (200, "HEC is healthy"),
    18: (503, "HEC is unhealthy, queues are full"),
    19: (503, "HEC is unhealthy, ack service unavailable"),
    20: (503, "HEC is unhealthy, queues are full, ack service unavailable"),
}
ENVELOPE_KEYS = {"time", "host", "source", "sourcetype", "index", "event", "fields"}
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")
EVENT_PATHS = ("/services/collector", "/services/collector/event",
               "/services/collector/event/1.0")
RAW_PATHS = ("/services/collector/raw", "/services/collector/raw/1.0")
HEALTH_PATHS = ("/services/collector/health", "/services/collector/health/1.0")
ACK_PATHS = ("/services/collector/ack",)
READ_LIMIT = 64 * 1024 * 1024      # bodies above this are refused unread
WS = " \t\r\n"


class HecError(Exception):
    """A HEC reply other than success: code, optional invalid-event-number."""

    def __init__(self, code, event_number=None, text=None):
        super().__init__(code)
        self.code = code
        self.event_number = event_number
        self.text = text


def parse_token_spec(spec):
    """'TOKEN[,ack][,disabled][,query][,indexes=a|b]' -> (token, settings)."""
    parts = spec.split(",")
    t = {"ack": False, "disabled": False, "query": False, "indexes": None}
    for p in parts[1:]:
        if p in ("ack", "disabled", "query"):
            t[p] = True
        elif p.startswith("indexes="):
            t["indexes"] = set(p[len("indexes="):].split("|"))
        else:
            raise ValueError("unknown token option '%s' in '%s'" % (p, spec))
    return parts[0], t


class State:
    """Everything the emulator knows; one lock guards all of it."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.tokens = dict(parse_token_spec(s) for s in (args.token or []))
        self.store = not args.no_store
        self.ack_delay = args.ack_delay
        self.ack_never = args.ack_never
        self.max_content_length = args.max_content_length
        self.max_event_size = args.max_event_size
        self.echo_token = getattr(args, "echo_token", False)
        self.unhealthy_until = 0.0
        self.busy = 0
        self.busy_ratio = args.busy_ratio
        self.rng = random.Random(1)     # busy_ratio draws: the same sequence every run
        self.internal_error = 0
        self.reset()

    def reset(self):
        self.channels = {}        # channel -> {"next": int, "pending": {id: entry}}
        self.indexed = []
        self.times = []           # parallel to indexed: {received, indexed, acked}
        self.indexed_count = 0
        self.stats = {"connections": 0, "requests": 0, "event_posts": 0, "raw_posts": 0, "gzip_posts": 0,
                      "plain_posts": 0, "ack_polls": 0, "health_checks": 0,
                      "bytes_in": 0, "bytes_decoded": 0, "codes": {}, "http": {}}

    def index(self, envelopes, times):
        self.indexed_count += len(envelopes)
        if self.store:
            self.indexed.extend(envelopes)
            self.times.extend([times] * len(envelopes))

    def settle(self, now):
        """Pending acks whose delay passed turn true: their events count."""
        for ch in self.channels.values():
            for entry in ch["pending"].values():
                if not entry["done"] and entry["ready"] is not None and now >= entry["ready"]:
                    entry["done"] = True
                    self.index(entry["events"], entry["times"])

    def control(self, req):
        now = time.time()
        if req.get("reset"):
            self.reset()
        if "unhealthy_for" in req:
            self.unhealthy_until = now + float(req["unhealthy_for"])
        for key in ("busy", "internal_error", "max_content_length", "max_event_size"):
            if key in req:
                setattr(self, key, int(req[key]))
        if "ack_delay" in req:
            self.ack_delay = float(req["ack_delay"])
        if "busy_ratio" in req:
            self.busy_ratio = float(req["busy_ratio"])
        if "ack_never" in req:
            self.ack_never = bool(req["ack_never"])
        if "store" in req:
            self.store = bool(req["store"])
        for spec in req.get("tokens", []):
            tok, settings = parse_token_spec(spec)
            self.tokens[tok] = settings
        return self.settings()

    def settings(self):
        return {"unhealthy_for": max(0.0, self.unhealthy_until - time.time()),
                "busy": self.busy, "busy_ratio": self.busy_ratio,
                "internal_error": self.internal_error,
                "ack_delay": self.ack_delay, "ack_never": self.ack_never,
                "max_content_length": self.max_content_length,
                "max_event_size": self.max_event_size, "store": self.store,
                "tokens": sorted(self.tokens)}


def check_envelope(obj, i, span, state, token):
    """Raise HecError for a bad envelope i (Splunk's checks, section 4.3)."""
    if not isinstance(obj, dict):
        raise HecError(6, i)
    if "event" not in obj:
        raise HecError(12, i)
    ev = obj["event"]
    if ev is None or ev is False:
        raise HecError(6, i)
    if isinstance(ev, str) and ev.strip() == "":
        raise HecError(13, i)
    if span > state.max_event_size:
        raise HecError(6, i)
    t = obj.get("time")
    if t is not None:
        if isinstance(t, bool):
            raise HecError(6, i)
        if isinstance(t, str):
            try:
                float(t)
            except ValueError:
                raise HecError(6, i) from None
        elif not isinstance(t, (int, float)):
            raise HecError(6, i)
    for key in ("host", "source", "sourcetype", "index"):
        if key in obj and not isinstance(obj[key], str):
            raise HecError(6, i)
    idx = token["indexes"]
    if idx is not None and obj.get("index", "main") not in idx:
        raise HecError(7, i + 1)     # observed: Splunk names i+1 for code 7
    check_fields(obj.get("fields"), i)


def check_fields(fields, i):
    if fields is None:
        return
    if not isinstance(fields, dict):
        raise HecError(15, i)
    scalar = (str, int, float)
    for v in fields.values():
        if isinstance(v, list):
            if not all(isinstance(x, scalar) and not isinstance(x, bool) for x in v):
                raise HecError(15, i)
        elif not isinstance(v, scalar) or isinstance(v, bool):
            raise HecError(15, i)


def parse_envelopes(text, state, token):
    """Concatenated JSON objects (not an array) -> (good envelopes, error).

    Envelopes before a bad one are indexed by Splunk (section 4.6, observed);
    an unknown top-level key silently ends the batch (200 with what came
    before, or code 5 when nothing did)."""
    dec = json.JSONDecoder()
    good = []
    pos, n = 0, len(text)
    i = 0
    while True:
        while pos < n and text[pos] in WS:
            pos += 1
        if pos >= n:
            break
        try:
            obj, end = dec.raw_decode(text, pos)
        except ValueError:
            return good, HecError(6, i)
        if isinstance(obj, dict) and set(obj) - ENVELOPE_KEYS:
            return good, (HecError(5) if not good else None)
        try:
            check_envelope(obj, i, end - pos, state, token)
        except HecError as e:
            return good, e
        good.append(obj)
        pos = end
        i += 1
    if not good:
        return good, HecError(5)
    return good, None


def parse_raw(text, query):
    meta = {k: query[k][0] for k in ("host", "source", "sourcetype", "index", "time")
            if k in query}
    out = []
    for line in text.splitlines():
        if line.strip():
            env = dict(meta)
            env["event"] = line
            out.append(env)
    if not out:
        raise HecError(5)
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY every
    # keep-alive request waits ~40 ms for the client's delayed ACK
    disable_nagle_algorithm = True
    server_version = "hec-emu/1.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("hec_emu: " + (fmt % args) + "\n")

    # -- plumbing --------------------------------------------------------

    def reply(self, status, obj, close=False, body=None):
        if body is None:
            body = json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def reply_code(self, code, event_number=None, text=None, extra=None):
        st = self.server.state
        status, default = CODES[code]
        obj = {"text": text or default, "code": code}
        if event_number is not None:
            obj["invalid-event-number"] = event_number
        if extra:
            obj.update(extra)
        with st.lock:
            st.stats["codes"][str(code)] = st.stats["codes"].get(str(code), 0) + 1
            st.stats["http"][str(status)] = st.stats["http"].get(str(status), 0) + 1
        self.reply(status, obj)

    def read_body(self):
        """The request body (de-chunked); None if refused unread."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > READ_LIMIT:
            return None
        return self.rfile.read(length) if length else b""

    def route(self):
        u = urlsplit(self.path)
        path = u.path.rstrip("/") or "/"
        return path, parse_qs(u.query)

    def token(self, query, st):
        """The token's settings, or raise HecError (codes 1-4, 16)."""
        auth = self.headers.get("Authorization")
        tok = None
        if auth is not None:
            scheme, _, value = auth.strip().partition(" ")
            if scheme == "Splunk" and value.strip():
                tok = value.strip()
            elif scheme == "Basic":
                try:
                    tok = base64.b64decode(value.strip()).decode().partition(":")[2]
                except ValueError:
                    raise HecError(3) from None
            else:
                raise HecError(3)
        elif "token" in query:
            tok = query["token"][0]
            settings = st.tokens.get(tok)
            if settings is not None and not settings["query"]:
                raise HecError(16)
        if tok is None:
            raise HecError(2)
        settings = st.tokens.get(tok)
        # --echo-token: a hostile or careless HEC that quotes what it got back
        echo = " (Authorization: %s, token %s)" % (auth, tok) if st.echo_token else ""
        if settings is None:
            raise HecError(4, text=CODES[4][1] + echo if echo else None)
        if settings["disabled"]:
            raise HecError(1, text=CODES[1][1] + echo if echo else None)
        return settings

    def channel(self, query):
        ch = self.headers.get("X-Splunk-Request-Channel") or (query.get("channel") or [None])[0]
        if ch is None:
            raise HecError(10)
        if not GUID_RE.match(ch):
            raise HecError(11)
        return ch.lower()

    # -- methods -------------------------------------------------------------

    def do_GET(self):
        path, query = self.route()
        st = self.server.state
        with st.lock:
            st.stats["requests"] += 1
        if path in HEALTH_PATHS:
            with st.lock:
                st.stats["health_checks"] += 1
                sick = time.time() < st.unhealthy_until
            self.reply_code(18 if sick else 17)
        elif path == "/_emu/events":
            with st.lock:
                st.settle(time.time())
                out = {"count": st.indexed_count, "events": st.indexed}
                if query.get("times", ["0"])[0] not in ("", "0"):
                    out["times"] = st.times
                body = json.dumps(out, separators=(",", ":")).encode()
            self.reply(200, None, body=body)
        elif path == "/_emu/stats":
            with st.lock:
                body = json.dumps(st.stats, separators=(",", ":")).encode()
            self.reply(200, None, body=body)
        elif path in EVENT_PATHS + RAW_PATHS + ACK_PATHS:
            self.reply(405, {"text": "Method Not Allowed", "code": 405})
        else:
            self.reply(404, {"text": "The requested URL was not found on this server.",
                             "code": 404})

    def do_POST(self):
        path, query = self.route()
        st = self.server.state
        body = self.read_body()
        with st.lock:
            st.stats["requests"] += 1
            st.stats["bytes_in"] += len(body or b"")
        if body is None:
            self.reply(413, {"text": "Content-Length too large"}, close=True)
            return
        try:
            if path in EVENT_PATHS or path in RAW_PATHS:
                self.post_data(path, query, body)
            elif path in ACK_PATHS:
                self.post_ack(query, body)
            elif path == "/_emu/control":
                with st.lock:
                    self.reply(200, st.control(json.loads(body or b"{}")))
            elif path == "/_emu/reset":
                with st.lock:
                    st.reset()
                self.reply(200, {"reset": True})
            elif path in HEALTH_PATHS:
                self.reply(405, {"text": "Method Not Allowed", "code": 405})
            else:
                self.reply(404, {"text": "The requested URL was not found on this server.",
                                 "code": 404})
        except HecError as e:
            self.reply_code(e.code, e.event_number, e.text)

    def decode(self, body, st):
        enc = self.headers.get("Content-Encoding", "").strip().lower()
        if enc == "gzip":
            try:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data = d.decompress(body, st.max_content_length + 1)
                if not d.eof and len(data) <= st.max_content_length:
                    raise HecError(6)
            except zlib.error:
                raise HecError(6) from None
        elif enc in ("", "identity"):
            data = body
        else:
            return None, enc     # Splunk refuses deflate etc. with 415
        return data, enc

    def post_data(self, path, query, body):
        st = self.server.state
        with st.lock:
            sick = time.time() < st.unhealthy_until
            token = self.token(query, st)
            ch = self.channel(query) if token["ack"] else None
            for mode, code in (("busy", 9), ("internal_error", 8)):
                if getattr(st, mode) > 0:
                    setattr(st, mode, getattr(st, mode) - 1)
                    raise HecError(code)
            if st.busy_ratio > 0 and st.rng.random() < st.busy_ratio:
                raise HecError(9)
        if sick:
            raise HecError(9)
        data, enc = self.decode(body, st)
        if data is None:
            self.reply(415, {"text": "Unsupported Content-Encoding: %s" % enc, "code": 415})
            return
        if len(data) > st.max_content_length:
            with st.lock:
                st.stats["http"]["413"] = st.stats["http"].get("413", 0) + 1
            self.reply(413, {"text": "Content-Length of %d too large (maximum is %d)"
                                     % (len(data), st.max_content_length)})
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise HecError(6, 0) from None
        if path in RAW_PATHS:
            good, err = parse_raw(text, query), None
        else:
            good, err = parse_envelopes(text, st, token)
        self.commit(good, err, token, ch, enc == "gzip", path in RAW_PATHS, len(data))

    def commit(self, good, err, token, ch, gz, raw, decoded):
        st = self.server.state
        with st.lock:
            st.stats["raw_posts" if raw else "event_posts"] += 1
            st.stats["gzip_posts" if gz else "plain_posts"] += 1
            st.stats["bytes_decoded"] += decoded
            now = time.time()
            if err is not None or not token["ack"]:
                # a failed batch's indexed prefix was never acknowledged to the client
                st.index(good, {"received": now, "indexed": now,
                                "acked": None if err is not None else now})
                ack_id = None
            else:
                chan = st.channels.setdefault(ch, {"next": 0, "pending": {}})
                ack_id = chan["next"]
                chan["next"] += 1
                ready = None if st.ack_never else now + st.ack_delay
                chan["pending"][ack_id] = {"ready": ready, "done": False, "events": good,
                                           "times": {"received": now, "indexed": ready,
                                                     "acked": None}}
        if err is not None:
            raise err
        self.reply_code(0, extra=None if ack_id is None else {"ackId": ack_id})

    def post_ack(self, query, body):
        st = self.server.state
        with st.lock:
            st.stats["ack_polls"] += 1
            token = self.token(query, st)
            if not token["ack"]:
                raise HecError(14)
            ch = self.channel(query)
            if time.time() < st.unhealthy_until:
                raise HecError(19)
        try:
            ids = json.loads(body)["acks"]
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in ids):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise HecError(6) from None
        out = {}
        with st.lock:
            st.settle(time.time())
            pending = st.channels.get(ch, {"pending": {}})["pending"]
            for i in ids:
                e = pending.get(i)
                out[str(i)] = bool(e and e["done"])
                if out[str(i)]:
                    e["times"]["acked"] = time.time()
                    del pending[i]     # answered true once, then forgotten
        self.reply(200, {"acks": out})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, state, tls_ctx, verbose):
        super().__init__(addr, Handler)
        self.state = state
        self.tls_ctx = tls_ctx
        self.verbose = verbose

    def finish_request(self, request, client_address):
        with self.state.lock:
            self.state.stats["connections"] += 1
        # TLS handshake in the connection's thread, not in accept().
        if self.tls_ctx is not None:
            try:
                request = self.tls_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def watch_parent():
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser(description="Splunk HEC emulator (see HEC.md)")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--cert", help="server certificate (PEM): serve HTTPS")
    ap.add_argument("--key", help="server key (PEM)")
    ap.add_argument("--token", action="append",
                    help="TOKEN[,ack][,disabled][,query][,indexes=a|b] (repeatable)")
    ap.add_argument("--ack-delay", type=float, default=0.2,
                    help="seconds until an ackId turns true")
    ap.add_argument("--ack-never", action="store_true", help="ackIds never turn true")
    ap.add_argument("--busy-ratio", type=float, default=0.0,
                    help="share of event POSTs answered 503 code 9 at random (0..1)")
    ap.add_argument("--max-content-length", type=int, default=838860800)
    ap.add_argument("--max-event-size", type=int, default=5242880)
    ap.add_argument("--no-store", action="store_true", help="count events, keep none")
    ap.add_argument("--exit-with-parent", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--echo-token", action="store_true",
                    help="refusals quote the Authorization header and token received")
    args = ap.parse_args()
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    tls_ctx = None
    if args.cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.cert, args.key)
    srv = Server((args.bind, args.port), State(args), tls_ctx, args.verbose)
    if args.exit_with_parent:
        threading.Thread(target=watch_parent, daemon=True).start()
    print("READY port=%d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
