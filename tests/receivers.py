"""Real local servers that stand in for the outside world in tests: an HTTP receiver
(any webhook or chat bot) and an SMTP sink. No mocks: the code under test opens real
sockets, speaks real HTTP and SMTP, and the servers record what arrived.

Both are context managers, and come as fixtures too:

    from tests.receivers import Reply, http_receiver_fixture, smtp_sink_fixture  # noqa: F401

    def test_retry(http_receiver):
        http_receiver.reply_with(500, 500, then=200)   # scripted answers, in order
        ...
        assert http_receiver.by_key() == {"crisisflow-notification-7": 3}

    def test_mail(smtp_sink):          # Django's EMAIL_* settings already point at it
        ...
        [message] = smtp_sink.messages  # email.message.EmailMessage, parsed

Each binds 127.0.0.1 on a free port, so tests can run in parallel. Times are real
(time-machine leaves the monotonic clock and sleep alone), so a frozen test clock does
not stop them.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from aiosmtpd.controller import Controller

KEY_HEADER = "X-CrisisFlow-Idempotency-Key"

# What every chat platform says on success (DingTalk and WeCom: errcode; Feishu: code);
# a generic webhook ignores the body.
CHAT_OK = {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}


class _Script:
    """Answers in order, then `then` for ever. Thread-safe: servers answer from threads."""

    def __init__(self, first: Iterable[Any] = (), then: Any = None) -> None:
        self._lock = threading.Lock()
        self._queue = list(first)
        self._then = then

    def next(self) -> Any:
        with self._lock:
            return self._queue.pop(0) if self._queue else self._then


# --- HTTP -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: bytes | str | dict | list = field(default_factory=lambda: dict(CHAT_OK))
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: longer than the client's timeout = a timeout

    @classmethod
    def of(cls, value: int | Reply) -> Reply:
        if isinstance(value, Reply):
            return value
        return cls(status=value) if 200 <= value < 300 else cls(status=value, body=f"status {value} from the receiver")

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode("utf-8"), "application/json"


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it, and what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: HTTPMessage  # case-insensitive: received.headers["x-crisisflow-signature"]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get(KEY_HEADER)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver = self.server.receiver
        reply = Reply.of(receiver._script.next())
        parts = urlsplit(self.path)
        receiver._record(
            Received(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers=self.headers,
                body=body,
                status=reply.status,
            )
        )
        if reply.delay:
            time.sleep(reply.delay)
        data, content_type = reply.encoded()
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the test reads .requests instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow scripted answer must not hold up stop()
    receiver: HttpReceiver

    def get_request(self):
        sock, address = super().get_request()
        # The handler writes the head and the body of an answer separately; without
        # this, a client on a kept connection waits for a delayed ACK (40 ms) each time.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.receiver._count_connection()
        return sock, address

    def handle_error(self, request, client_address) -> None:
        pass  # the client gave up (a timeout test): nothing to report


class HttpReceiver:
    """An HTTP server on 127.0.0.1 that records every request and answers from a script.

    HttpReceiver(500, 500, 200): two failures, then success for ever after;
    HttpReceiver(then=500): always 500; Reply(...) for a body, headers or a delay.
    """

    def __init__(self, *replies: int | Reply, then: int | Reply = 200) -> None:
        self._script = _Script(replies, then)
        # Re-entrant: a subclass overriding _record may hold it while calling super().
        self._lock = threading.RLock()
        self._requests: list[Received] = []
        self._connections = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- scripting and reading ---------------------------------------------------------
    def reply_with(self, *replies: int | Reply, then: int | Reply = 200) -> HttpReceiver:
        self._script = _Script(replies, then)
        return self

    def _record(self, received: Received) -> None:
        """Called from the server thread for every request, before it answers; the hook
        for subclasses that want to note more (arrival times, de-duplication)."""
        with self._lock:
            self._requests.append(received)

    def _count_connection(self) -> None:
        with self._lock:
            self._connections += 1

    @property
    def connections(self) -> int:
        """How many TCP connections it has accepted (a client that keeps its connection
        open sends many requests over one)."""
        with self._lock:
            return self._connections

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def accepted(self) -> list[Received]:
        """The requests it answered with a 2xx."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def by_key(self, *, accepted_only: bool = False) -> Counter[str | None]:
        """How many requests arrived per idempotency key."""
        return Counter(r.idempotency_key for r in (self.accepted() if accepted_only else self.requests))

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- addresses ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the receiver is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url_for(self, path: str = "/", **query: str) -> str:
        return self.url + path + (f"?{urlencode(query)}" if query else "")

    # -- life --------------------------------------------------------------------------
    def start(self) -> HttpReceiver:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- SMTP -----------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    # aiosmtpd's controller checks the server is up by connecting to its port, so it
    # needs the number before it starts (port 0 would not do).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    peer: tuple = ()  # the client's address and port: one per SMTP connection


class _SmtpHandler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink.refuse_at == "RCPT":
            refusal = self.sink._script.next()
            if refusal:
                return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.refuse_at == "DATA":
            refusal = self.sink._script.next()
            if refusal:
                return refusal
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.sink._record(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, tuple(session.peer or ())))
        return "250 Message accepted"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts.

    SmtpSink("451 4.3.0 Try again later"): refuse the first message for now, then accept;
    SmtpSink(then="550 5.1.1 No such user"): refuse every message for good. Refusals
    come at DATA, or at RCPT with refuse_at="RCPT".
    """

    def __init__(self, *refusals: str | None, then: str | None = None, refuse_at: str = "DATA") -> None:
        if refuse_at not in ("DATA", "RCPT"):
            raise ValueError("refuse_at is DATA or RCPT")
        self.refuse_at = refuse_at
        self._script = _Script(refusals, then)
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self.host = "127.0.0.1"
        self.port = 0
        self._controller: Controller | None = None

    def reply_with(self, *refusals: str | None, then: str | None = None) -> SmtpSink:
        self._script = _Script(refusals, then)
        return self

    def _record(self, mail: Mail) -> None:
        with self._lock:
            self._mails.append(mail)

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    @property
    def messages(self) -> list[EmailMessage]:
        return [m.message for m in self.mails]

    def by_key(self) -> Counter[str | None]:
        return Counter(m[KEY_HEADER] for m in self.messages)

    def clear(self) -> None:
        with self._lock:
            self._mails.clear()

    def configure(self, settings) -> None:
        """Point Django's mail settings (pytest-django's `settings` fixture) at the sink."""
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = self.host
        settings.EMAIL_PORT = self.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5

    def start(self) -> SmtpSink:
        # aiosmtpd logs every SMTP command at INFO; the test reads .mails instead.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self.port = free_port(self.host)
        self._controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- fixtures -------------------------------------------------------------------------


# Named apart from their fixture names so a test module can import them without its
# parameters shadowing the import (ruff F811); tests/conftest.py may instead list this
# module in pytest_plugins.
def allow_private_webhooks(settings) -> None:
    """Let webhooks reach 127.0.0.1, where the receivers listen (`settings`: pytest-django's
    fixture). Off by default: production refuses private addresses."""
    settings.CRISISFLOW = {**settings.CRISISFLOW, "WEBHOOK_ALLOW_PRIVATE": True}


@pytest.fixture(name="http_receiver")
def http_receiver_fixture(settings) -> Iterator[HttpReceiver]:
    """A running receiver answering 200 (chat-platform "ok") until told otherwise, with
    webhooks to loopback addresses allowed."""
    allow_private_webhooks(settings)
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture(name="smtp_sink")
def smtp_sink_fixture(settings) -> Iterator[SmtpSink]:
    """A running SMTP sink with Django's e-mail settings pointing at it."""
    with SmtpSink() as sink:
        sink.configure(settings)
        yield sink
