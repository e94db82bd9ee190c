"""A real NATS server with JetStream (Debian's nats-server, `nats-server -js`) on
127.0.0.1, on a free port, with its own store directory; and a small client of the NATS
protocol (standard library only) for what the suites need to see for themselves: publish
with headers, request/reply, and the JetStream API (stream info, messages by sequence).

stop() then start() keeps the port and the store: the stream, its messages and every
durable consumer survive, as they do when a real server restarts. That is the NATS outage
of the events suites. Readiness is the server's own answer: a JetStream API request
($JS.API.INFO) that returns account information, polled with a deadline. The server gets
PR_SET_PDEATHSIG (devservers), so it dies with the suite even when the suite is killed."""

import base64
import json
import os
import socket
import threading
import time
import uuid

from .env import devservers


class NatsServer(devservers._Server):
    name = "nats"

    def __init__(self, directory, port=None):
        super().__init__(directory, port)
        self.store_dir = os.path.join(self.dir, "store")
        self.pidfile = os.path.join(self.dir, "nats.pid")
        self.binary = devservers._find("nats-server")

    def _prepare(self):
        devservers._kill_stale(self.pidfile, self.store_dir)
        os.makedirs(self.store_dir, exist_ok=True)

    def _command(self):
        return [self.binary, "-js", "-a", self.host, "-p", str(self.port),
                "-sd", self.store_dir, "-n", f"payment-test-{self.port}",
                "-P", self.pidfile]

    def _ready(self):
        try:
            with self.client(timeout=1.0) as c:
                info = c.js_api("INFO", timeout=1.0)
            return "error" not in info
        except (OSError, NatsError, ValueError):
            return False

    @property
    def url(self):
        return f"nats://{self.host}:{self.port}"

    def env(self):
        """The service's configuration for this server (group [events])."""
        return {"PAYMENT_EVENTS_NATS_URL": self.url}

    def client(self, timeout=5.0):
        return NatsClient(self.host, self.port, timeout=timeout)


class NatsError(Exception):
    pass


class NoResponders(NatsError):
    """A request nobody listens to (for the JetStream API: JetStream is not up yet)."""


class Msg:
    def __init__(self, subject, reply, headers, data):
        self.subject = subject
        self.reply = reply
        self.headers = headers    # {name: value} (the last value of a repeated header)
        self.status = headers.pop(":status", None)
        self.data = data

    def json(self):
        return json.loads(self.data)


class NatsClient:
    """A minimal blocking NATS client: one connection, used by one thread. Messages of
    subscriptions other than the one a call waits for are kept in self.pending."""

    def __init__(self, host, port, timeout=5.0, name="payment-tests"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        # A request is three small writes (SUB, PUB, UNSUB): without this, Nagle's
        # algorithm holds each reply back by the peer's delayed ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        # A timeout leaves the reader's buffer undefined: a client whose wait timed out
        # is closed, not used again.
        self.reader = self.sock.makefile("rb")
        self.next_sid = 1
        self.pending = []
        op, rest = self._op()
        if op != "INFO":
            raise NatsError(f"expected INFO, got {op} {rest!r}")
        self.info = json.loads(rest)
        connect = {"verbose": False, "pedantic": False, "headers": True,
                   "no_responders": True, "protocol": 1, "name": name, "lang": "python3",
                   "version": "0"}
        self._send(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
        while True:
            op, rest = self._op()
            if op == "PONG":
                break
            if op == "-ERR":
                raise NatsError(rest)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.reader.close()
        self.sock.close()

    # ---- wire ----

    def _send(self, b):
        self.sock.sendall(b)

    def _line(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise NatsError("connection closed")
        return line[:-2].decode()

    def _exact(self, n, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = self.reader.read(n + 2)
        if len(data) != n + 2:
            raise NatsError("connection closed")
        return data[:n]

    def _op(self, timeout=None):
        """The next protocol operation as (op, rest); MSG/HMSG come back as ("MSG", (sid,
        Msg)); PINGs are answered here."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            line = self._line(deadline)
            op, _, rest = line.partition(" ")
            if op == "PING":
                self._send(b"PONG\r\n")
                continue
            if op == "+OK":
                continue
            if op == "MSG":
                parts = rest.split()
                subject, sid = parts[0], int(parts[1])
                reply = parts[2] if len(parts) == 4 else None
                data = self._exact(int(parts[-1]), deadline)
                return "MSG", (sid, Msg(subject, reply, {}, data))
            if op == "HMSG":
                parts = rest.split()
                subject, sid = parts[0], int(parts[1])
                reply = parts[2] if len(parts) == 5 else None
                hdr_len, total = int(parts[-2]), int(parts[-1])
                raw = self._exact(total, deadline)
                return "MSG", (sid, Msg(subject, reply, parse_headers(raw[:hdr_len]),
                                        raw[hdr_len:]))
            return op, rest

    # ---- core NATS ----

    def publish(self, subject, data, headers=None, reply=None):
        if isinstance(data, str):
            data = data.encode()
        r = f" {reply}" if reply else ""
        if headers:
            h = "NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            h = h.encode()
            self._send(f"HPUB {subject}{r} {len(h)} {len(h) + len(data)}\r\n".encode()
                       + h + data + b"\r\n")
        else:
            self._send(f"PUB {subject}{r} {len(data)}\r\n".encode() + data + b"\r\n")

    def subscribe(self, subject):
        sid = self.next_sid
        self.next_sid += 1
        self._send(f"SUB {subject} {sid}\r\n".encode())
        return sid

    def unsubscribe(self, sid):
        self._send(f"UNSUB {sid}\r\n".encode())

    def next_msg(self, sid, timeout=None):
        """The next message of subscription @sid (socket.timeout when none comes)."""
        for i, (s, m) in enumerate(self.pending):
            if s == sid:
                del self.pending[i]
                return m
        while True:
            op, rest = self._op(timeout)
            if op == "MSG":
                s, m = rest
                if s == sid:
                    return m
                self.pending.append((s, m))
            elif op == "-ERR":
                raise NatsError(rest)

    def request(self, subject, data=b"", headers=None, timeout=None):
        inbox = f"_INBOX.{uuid.uuid4().hex}"
        sid = self.subscribe(inbox)
        try:
            self.publish(subject, data, headers=headers, reply=inbox)
            m = self.next_msg(sid, timeout)
        finally:
            self.unsubscribe(sid)
        if m.status == "503":
            raise NoResponders(f"no responders on {subject}")
        return m

    # ---- JetStream ----

    def js_api(self, name, body=None, timeout=None):
        """The JSON answer of $JS.API.<name> (an "error" key when JetStream refused)."""
        data = json.dumps(body).encode() if body is not None else b""
        return self.request(f"$JS.API.{name}", data, timeout=timeout).json()

    def js_publish(self, subject, data, msg_id=None, timeout=None):
        """Publishes to a stream and returns the PubAck ({"stream", "seq", "duplicate"?}).
        @msg_id becomes the Nats-Msg-Id header."""
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        ack = self.request(subject, data, headers=headers, timeout=timeout).json()
        if "error" in ack:
            raise NatsError(f"publish to {subject}: {ack['error']}")
        return ack

    def _js_lookup(self, name, not_found, body=None):
        """$JS.API.<name>'s answer, None when JetStream says @not_found (its err_code)."""
        r = self.js_api(name, body)
        if "error" in r:
            if r["error"].get("err_code") == not_found:
                return None
            raise NatsError(f"{name}: {r['error']}")
        return r

    def stream_info(self, stream):
        """The stream's info ({"config", "state", ...}), None when there is no such stream."""
        return self._js_lookup(f"STREAM.INFO.{stream}", 10059)

    def add_stream(self, config):
        info = self.js_api(f"STREAM.CREATE.{config['name']}", config)
        if "error" in info:
            raise NatsError(f"STREAM.CREATE {config['name']}: {info['error']}")
        return info

    def consumer_info(self, stream, durable):
        """The consumer's info, None when there is no such consumer."""
        return self._js_lookup(f"CONSUMER.INFO.{stream}.{durable}", 10014)

    def stream_msg(self, stream, seq):
        """Message @seq of @stream as a Msg (subject, headers, data), None when absent."""
        r = self._js_lookup(f"STREAM.MSG.GET.{stream}", 10037, {"seq": seq})
        if r is None:
            return None
        m = r["message"]
        hdrs = parse_headers(base64.b64decode(m["hdrs"])) if m.get("hdrs") else {}
        hdrs.pop(":status", None)
        return Msg(m["subject"], None, hdrs, base64.b64decode(m.get("data") or ""))

    def stream_messages(self, stream):
        """Every message in @stream, in sequence order, as (seq, Msg)."""
        info = self.stream_info(stream)
        assert info is not None, f"no stream {stream}"
        st = info["state"]
        out = []
        for seq in range(st["first_seq"], st["last_seq"] + 1) if st["messages"] else ():
            m = self.stream_msg(stream, seq)
            if m is not None:
                out.append((seq, m))
        return out


class WireTap:
    """Every message published on @subject, as core NATS delivers it to a plain
    subscriber: also the re-publishes JetStream does not store (a Nats-Msg-Id it has seen
    within the duplicate window), which no stream consumer ever sees. A thread of its
    own reads them into self.messages as (time.monotonic(), Msg); stop() ends it. Messages
    published while the server is stopped never reach it (the tap does not reconnect)."""

    def __init__(self, server, subject="payment.>"):
        self.client = NatsClient(server.host, server.port, timeout=5.0, name="wiretap")
        self.sid = self.client.subscribe(subject)
        # A PING answered: the subscription is registered before anyone publishes.
        self.client._send(b"PING\r\n")
        while self.client._op()[0] != "PONG":
            pass
        self.messages = []
        self.lock = threading.Lock()
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while not self.closed.is_set():
                try:
                    m = self.client.next_msg(self.sid, timeout=3600)
                except socket.timeout:
                    continue
                with self.lock:
                    self.messages.append((time.monotonic(), m))
        except (OSError, NatsError, ValueError):
            pass   # closed by stop(), or the server went away

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def stop(self):
        self.closed.set()
        try:
            self.client.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(timeout=10)
        self.client.close()
        return self.snapshot()


def parse_headers(raw):
    """{name: value} from a NATS header block ("NATS/1.0[ status]\\r\\nK: V\\r\\n...");
    the status code, when there is one, under ":status"."""
    lines = raw.decode(errors="replace").split("\r\n")
    out = {}
    first = lines[0].split()
    if len(first) >= 2:
        out[":status"] = first[1]
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def stream_config(name="PAYMENT_EVENTS", max_age_seconds=604800, duplicate_window_seconds=120):
    """A stream as the relay creates it (docs/events.md): file storage, subjects payment.>,
    the duplicate window and max age in nanoseconds. For suites that publish themselves."""
    return {"name": name, "subjects": ["payment.>"], "storage": "file",
            "retention": "limits", "discard": "old", "num_replicas": 1,
            "max_age": max_age_seconds * 1_000_000_000,
            "duplicate_window": duplicate_window_seconds * 1_000_000_000}
