"""The HTTP side of webhooks: where a URL may lead, and one pooled client per process.

A webhook URL is typed in by an administrator, and the worker that calls it sits inside
the company's network. So before any connection is made the host is resolved and every
address it resolves to is checked: loopback, private, link-local, multicast and reserved
ranges are refused unless CRISISFLOW_WEBHOOK_ALLOW_PRIVATE is on (local development,
tests). The connection then goes to the address that was checked, never to a second
lookup of the name, so a name that answers differently the next time (DNS rebinding)
cannot slip through. For https the certificate is still checked against the name.

Connections are kept open and reused (a few per host and address), so a burst to one
chat platform costs one TCP and TLS handshake rather than one per message. Requests go
out through the standard library's http.client on those kept connections: a message is
one small POST, and a general-purpose pool's machinery around each one cost more CPU
than the request itself. Redirects are never followed: the answer comes back as it is,
and channels.py calls a 3xx a permanent failure.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from urllib3.util import parse_url
from urllib3.util.wait import wait_for_read

# Most pools (host and address pairs) one process keeps; the least used is closed.
MAX_POOLS = 64
# Idle connections kept per pool: a worker process sends one message at a time.
CONNECTIONS_PER_POOL = 2
# How long a checked lookup is used before the name is resolved again.
RESOLVE_TTL_SECONDS = 30.0


class Refused(ValueError):
    """The URL may not be called: a bad URL, or an address on a private network."""

    def __init__(self, reason: str, *, host: str = "", address: str = "", kind: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.host = host
        self.address = address
        self.kind = kind


class Unresolvable(OSError):
    """The host name did not resolve (perhaps only for now)."""


def address_kind(address: str) -> str | None:
    """Why `address` is not a public one ("loopback", "private", …), or None if it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") is not part of it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified or ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:  # shared address space (100.64/10), documentation ranges, …
        return "reserved"
    return None


@dataclass(frozen=True)
class Target:
    """Where one webhook request goes: the URL's parts and the checked addresses."""

    scheme: str
    host: str  # the name as written in the URL (Host header, TLS name)
    port: int
    path: str  # path and query
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


_resolved: dict[tuple[str, int], tuple[float, tuple[str, ...]]] = {}
_resolved_lock = threading.Lock()


def _addresses(host: str, port: int) -> tuple[float, tuple[str, ...]]:
    """When `host` was looked up (time.monotonic()) and the addresses it resolved to."""
    key = (host, port)
    with _resolved_lock:
        cached = _resolved.get(key)
    if cached is not None and time.monotonic() - cached[0] < RESOLVE_TTL_SECONDS:
        return cached
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise Unresolvable(f"cannot resolve {host}: {err}") from err
    found = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not found:
        raise Unresolvable(f"cannot resolve {host}: no addresses")
    looked_up = (time.monotonic(), found)
    with _resolved_lock:
        if len(_resolved) > 1024:
            _resolved.clear()
        _resolved[key] = looked_up
    return looked_up


# Targets already checked, by URL: a burst of messages goes to the same few webhooks, and
# parsing and checking the URL each time cost as much as building the message. Kept as
# long as the lookup they were checked with (RESOLVE_TTL_SECONDS), so a name that now
# resolves elsewhere is checked again just as soon.
_checked: dict[tuple[str, bool], tuple[float, Target]] = {}


def target(url: str, *, allow_private: bool) -> Target:
    """Parse `url`, resolve its host and check every address it resolves to.

    Raises Refused (not a URL we call, or a non-public address while that is not
    allowed) or Unresolvable (the name does not resolve)."""
    key = (url, allow_private)
    with _resolved_lock:
        cached = _checked.get(key)
    if cached is not None and time.monotonic() - cached[0] < RESOLVE_TTL_SECONDS:
        return cached[1]
    looked_up, checked = _check(url, allow_private=allow_private)
    with _resolved_lock:
        if len(_checked) > 1024:
            _checked.clear()
        _checked[key] = (looked_up, checked)
    return checked


def _check(url: str, *, allow_private: bool) -> tuple[float, Target]:
    try:
        parts = parse_url(url)
    except ValueError as err:
        raise Refused(f"not a valid URL: {err}") from err
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise Refused("only http and https addresses can be called")
    host = (parts.host or "").strip("[]")
    if not host:
        raise Refused("the URL has no host")
    if parts.auth:
        raise Refused("user names and passwords in the URL are not sent; put a token in the path or query")
    port = parts.port or (443 if scheme == "https" else 80)
    looked_up, addresses = _addresses(host, port)
    if not allow_private:
        for address in addresses:
            kind = address_kind(address)
            if kind is not None:
                said = host if host == address else f"{host} ({address})"
                raise Refused(
                    f"{said} is a {kind} address; webhooks go only to public addresses "
                    "unless CRISISFLOW_WEBHOOK_ALLOW_PRIVATE is on",
                    host=host,
                    address=address,
                    kind=kind,
                )
    return looked_up, Target(scheme, host, port, parts.request_uri, addresses)


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    body: bytes


class CannotConnect(OSError):
    """No connection to the address: refused, unreachable, or no answer to connect
    within the timeout. `reason` is the socket's own word for it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NoAnswer(TimeoutError):
    """Connected and sent, but no (whole) answer within the timeout."""


class _TLSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, speaking to (and checking the certificate of) the name
    the URL gave, never a new lookup of it."""

    def __init__(self, address: str, port: int, *, server_name: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=_tls_context())
        self.server_name = server_name

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_name)


_context: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    global _context
    if _context is None:
        # The system's trusted authorities; certificate and name both checked.
        _context = ssl.create_default_context()
    return _context


# Idle kept connections, per (scheme, address, port, name), least recently used first.
# A connection is taken out while a request is on it, so threads never share one.
_idle: OrderedDict[tuple[str, str, int, str], list[http.client.HTTPConnection]] = OrderedDict()
_idle_lock = threading.Lock()


def _take(key: tuple[str, str, int, str]) -> http.client.HTTPConnection | None:
    with _idle_lock:
        kept = _idle.get(key)
        if not kept:
            return None
        _idle.move_to_end(key)
        return kept.pop()


def _keep(key: tuple[str, str, int, str], conn: http.client.HTTPConnection) -> None:
    closing: list[http.client.HTTPConnection] = []
    with _idle_lock:
        kept = _idle.setdefault(key, [])
        _idle.move_to_end(key)
        if len(kept) < CONNECTIONS_PER_POOL:
            kept.append(conn)
        else:
            closing.append(conn)
        while len(_idle) > MAX_POOLS:
            _, dropped = _idle.popitem(last=False)
            closing += dropped
    for extra in closing:
        extra.close()


def close_pools() -> None:
    """Close every kept connection (tests; a process about to exit)."""
    with _idle_lock:
        kept = [conn for conns in _idle.values() for conn in conns]
        _idle.clear()
    for conn in kept:
        conn.close()


def _forget_after_fork() -> None:
    # A prefork worker child must not share its parent's sockets: start afresh.
    global _idle_lock
    _idle.clear()
    _idle_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def _connection(where: Target, timeout: float) -> tuple[tuple[str, str, int, str], http.client.HTTPConnection]:
    """A kept connection to the first checked address of `where`, or a new one, connected."""
    address = where.addresses[0]
    key = (where.scheme, address, where.port, where.host)
    conn = _take(key)
    if conn is not None and (conn.sock is None or wait_for_read(conn.sock, timeout=0.0)):
        # The server closed it while it was idle (readable now means end of file).
        conn.close()
    if conn is None:
        if where.scheme == "https":
            conn = _TLSConnection(address, where.port, server_name=where.host, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(address, where.port, timeout=timeout)
    conn.timeout = timeout
    if conn.sock is None:
        try:
            conn.connect()
        except ssl.SSLError:
            conn.close()
            raise
        except OSError as err:
            conn.close()
            raise CannotConnect(str(err) or type(err).__name__) from err
    else:
        conn.sock.settimeout(timeout)
    return key, conn


def send(where: Target, body: bytes, headers: dict[str, str], timeout: float, max_answer: int) -> Answer:
    """POST `body` to the first checked address of `where`, on a kept connection if
    there is one; read at most `max_answer` bytes of the answer.

    Raises CannotConnect (no connection), ssl.SSLError (TLS; a certificate that does not
    check out is an ssl.SSLCertVerificationError), NoAnswer (no answer in time),
    http.client.InvalidURL (a path that cannot be sent), and http.client.HTTPException or
    OSError for a connection broken mid-answer."""
    key, conn = _connection(where, timeout)
    kept = False
    try:
        conn.request("POST", where.path, body, {**headers, "Host": where.host_header, "Content-Length": str(len(body))})
        response = conn.getresponse()
        data = response.read(max_answer + 1)
        # Kept only if the whole answer was read (an answer too long to read is not
        # worth the connection) and the server did not say it closes.
        kept = len(data) <= max_answer and response.isclosed() and conn.sock is not None
        return Answer(response.status, response.getheader("Location") or "", data[:max_answer])
    except TimeoutError as err:
        raise NoAnswer(f"no answer within {timeout:g} s") from err
    finally:
        if kept:
            _keep(key, conn)
        else:
            conn.close()
