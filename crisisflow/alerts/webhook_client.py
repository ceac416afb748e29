"""The HTTP side of webhooks: where a URL may lead, and one pooled client per process.

A webhook URL is typed in by an administrator, and the worker that calls it sits inside
the company's network. So before any connection is made the host is resolved and every
address it resolves to is checked: loopback, private, link-local, multicast and reserved
ranges are refused unless CRISISFLOW_WEBHOOK_ALLOW_PRIVATE is on (local development,
tests). The connection then goes to the address that was checked, never to a second
lookup of the name, so a name that answers differently the next time (DNS rebinding)
cannot slip through. For https the certificate is still checked against the name.

Connections are kept open and reused (urllib3 pools, one per host and address), so a
burst to one chat platform costs one TCP and TLS handshake rather than one per message.
Redirects are never followed: the answer comes back as it is, and channels.py calls a
3xx a permanent failure.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass

import urllib3
from urllib3.util import parse_url

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


def _addresses(host: str, port: int) -> tuple[str, ...]:
    key = (host, port)
    with _resolved_lock:
        cached = _resolved.get(key)
    if cached is not None and time.monotonic() - cached[0] < RESOLVE_TTL_SECONDS:
        return cached[1]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise Unresolvable(f"cannot resolve {host}: {err}") from err
    found = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not found:
        raise Unresolvable(f"cannot resolve {host}: no addresses")
    with _resolved_lock:
        if len(_resolved) > 1024:
            _resolved.clear()
        _resolved[key] = (time.monotonic(), found)
    return found


def target(url: str, *, allow_private: bool) -> Target:
    """Parse `url`, resolve its host and check every address it resolves to.

    Raises Refused (not a URL we call, or a non-public address while that is not
    allowed) or Unresolvable (the name does not resolve)."""
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
    addresses = _addresses(host, port)
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
    return Target(scheme, host, port, parts.request_uri, addresses)


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    body: bytes


_manager: urllib3.PoolManager | None = None
_manager_lock = threading.Lock()


def _pools() -> urllib3.PoolManager:
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = urllib3.PoolManager(
                num_pools=MAX_POOLS,
                maxsize=CONNECTIONS_PER_POOL,
                block=False,
                retries=False,
            )
        return _manager


def close_pools() -> None:
    """Close every kept connection (tests; a process about to exit)."""
    global _manager
    with _manager_lock:
        manager, _manager = _manager, None
    if manager is not None:
        manager.clear()


def _forget_after_fork() -> None:
    # A prefork worker child must not share its parent's sockets: start afresh.
    global _manager, _manager_lock
    _manager = None
    _manager_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


def send(where: Target, body: bytes, headers: dict[str, str], timeout: float, max_answer: int) -> Answer:
    """POST `body` to the first checked address of `where`, on a kept connection if
    there is one; read at most `max_answer` bytes of the answer. urllib3's errors
    (connect, timeout, protocol, TLS) are raised as they are."""
    address = where.addresses[0]
    pool_kwargs = {}
    if where.scheme == "https":
        # Connect to the address, but speak TLS to (and check the certificate of) the name.
        pool_kwargs = {"server_hostname": where.host, "assert_hostname": where.host}
    pool = _pools().connection_from_host(address, where.port, where.scheme, pool_kwargs=pool_kwargs)
    response = pool.urlopen(
        "POST",
        where.path,
        body=body,
        headers={**headers, "Host": where.host_header, "Content-Length": str(len(body))},
        redirect=False,
        retries=False,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        preload_content=False,
        assert_same_host=False,
    )
    try:
        data = response.read(max_answer + 1)
        if len(data) > max_answer:
            # An answer too long to read: this connection is not worth keeping.
            response.close()
            data = data[:max_answer]
        return Answer(response.status, response.headers.get("Location", ""), data)
    finally:
        response.release_conn()
