"""Answering the public notice addresses (no sign-in): /notice/, its feeds, and each
notice's page and feeds.

A page is rendered once per change of what it shows and kept in the process, with every
header of its answer made once too (keyed by the notice's generation and the incident's
version, so a stage change shows as well). What an address points at is asked of the
database at most once every NOTICE_STAMP_SECONDS per process; in between, an answer
needs nothing but this process's memory.

Two ways in, the same answers:
- `FastPath` wraps the WSGI application (crisisflow/wsgi.py) and answers GET and HEAD
  from memory alone, before Django builds a request: no signals, middleware, session or
  database. Whatever it cannot answer so (the first request for a page, a stamp that
  has expired, an unknown address, plain HTTP that must be redirected to HTTPS) goes on
  to Django.
- `answer()` is what crisisflow.notices.middleware (and the views, for the URLconf)
  call inside Django: it asks the database when it must, renders, and keeps the result
  for the fast path.

Nothing here sets a cookie or reads the session, so a cache in front may keep the
answers (Cache-Control public, Vary Accept-Language, an ETag and a Last-Modified).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.signals import setting_changed
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware
from django.utils.http import http_date, parse_etags, parse_http_date_safe
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.conf import setting
from crisisflow.notices import content
from crisisflow.notices import render as rendering
from crisisflow.notices.models import PublicNotice

log = logging.getLogger(__name__)

# /notice/, /notice/feed.atom, /notice/<slug>/, /notice/<slug>/feed.json …
ADDRESS = re.compile(r"^/notice/(?:(?P<slug>[-a-zA-Z0-9_]+)/)?(?P<file>|feed\.atom|feed\.json)$")
KINDS = {"": "page", "feed.atom": "atom", "feed.json": "json"}
TYPES = {
    "page": "text/html; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
CACHE_CONTROL = "public, max-age=30, stale-if-error=86400"
STATUS_LINES = {200: "200 OK", 304: "304 Not Modified"}
MAX_KEPT = 512
INDEX = ""  # the stamp key of the index of listed notices (no slug is empty)


@dataclass(frozen=True)
class Request:
    """What an answer depends on, read from a WSGI environ or a Django request."""

    method: str
    path: str
    query: str = ""
    accept_language: str = ""
    if_none_match: str = ""
    if_modified_since: str = ""
    secure: bool = False

    @classmethod
    def of(cls, request: HttpRequest) -> Request:
        meta = request.META
        return cls(
            method=request.method,
            path=request.path_info,
            query=meta.get("QUERY_STRING", ""),
            accept_language=meta.get("HTTP_ACCEPT_LANGUAGE", ""),
            if_none_match=meta.get("HTTP_IF_NONE_MATCH", ""),
            if_modified_since=meta.get("HTTP_IF_MODIFIED_SINCE", ""),
            secure=request.is_secure(),
        )


@dataclass(frozen=True)
class Answer:
    status: int  # 200 or 304
    headers: list[tuple[str, str]]
    body: bytes  # empty for HEAD and 304


@dataclass(frozen=True)
class Render:
    """One kept answer: the bytes and the headers of a 200 and of a 304, made once."""

    body: bytes
    etag: str
    modified: int  # seconds since the epoch: when this process first made these bytes
    full: tuple[tuple[str, str], ...]
    not_modified: tuple[tuple[str, str], ...]


_kept: OrderedDict[tuple, Render] = OrderedDict()
# What each address points at, as last asked: slug (or INDEX) -> (trusted until, what).
_stamps: dict[str, tuple[float, object]] = {}
# One render at a time per process: a spike's first requests wait for it, not redo it.
_rendering = threading.Lock()


def forget() -> None:
    _kept.clear()
    _stamps.clear()


def language_of(query: str, accept_language: str) -> str:
    """?lang= (the switch) first, else the browser's Accept-Language; zh-Hans by default."""
    if "lang=" in query:
        for name, value in parse_qsl(query):
            if name == "lang" and value in content.LANGUAGES:
                return value
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-hans"
        if tag.startswith("en"):
            return "en"
    return "zh-hans"


@functools.cache
def security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    """The headers Django's security middleware adds to an answer (HSTS only over HTTPS),
    taken from the middleware itself so that they follow the same settings."""
    request = HttpRequest()
    request.is_secure = lambda: secure
    response = SecurityMiddleware(lambda r: None).process_response(request, HttpResponse())
    return tuple((name, value) for name, value in response.items() if name != "Content-Type")


def _settings_changed(**kwargs) -> None:
    security_headers.cache_clear()


setting_changed.connect(_settings_changed, dispatch_uid="notices.serving.security_headers")


# --- from memory alone ----------------------------------------------------------------------------


def _fresh(slug: str):
    """What `slug` points at when this process knows it and may still trust it."""
    stamp = _stamps.get(slug)
    if stamp is not None and stamp[0] > time.monotonic():
        return stamp[1]
    return None


def _key(kind: str, target, language: str) -> tuple:
    if isinstance(target, PublicNotice):
        base = (kind, target.pk, target.generation, target.incident.version)
    else:  # the index: the stamp of every listed notice
        base = ("index-" + kind, target)
    return (*base, language) if kind == "page" else base


def kept_answer(request: Request) -> Answer | None:
    """The answer from this process's memory, or None when the database must be asked
    (or the address is not a notice that is shown)."""
    found = ADDRESS.match(request.path)
    if found is None:
        return None
    slug, kind = found["slug"] or INDEX, KINDS[found["file"]]
    target = _fresh(slug)
    if target is None:
        return None
    language = language_of(request.query, request.accept_language) if kind == "page" else ""
    render = _kept.get(_key(kind, target, language))
    if render is None:
        return None
    return _respond(request, render)


def _respond(request: Request, render: Render) -> Answer:
    extra = security_headers(request.secure)
    if _not_modified(request, render):
        return Answer(304, [*render.not_modified, *extra], b"")
    return Answer(200, [*render.full, *extra], b"" if request.method == "HEAD" else render.body)


def _not_modified(request: Request, render: Render) -> bool:
    """A conditional GET or HEAD the reader's copy answers (RFC 9110 13.1: If-None-Match,
    compared weakly, takes precedence over If-Modified-Since)."""
    if request.if_none_match:
        tags = parse_etags(request.if_none_match)
        return "*" in tags or any(tag.removeprefix("W/") == render.etag for tag in tags)
    if request.if_modified_since:
        since = parse_http_date_safe(request.if_modified_since)
        return since is not None and since >= render.modified
    return False


# --- asking the database when it must (inside Django's request handling) ---------------------------


def answer(request: Request) -> Answer | None:
    """The answer to a GET or HEAD of a notice address; None when `request.path` is not
    one. Raises Http404 for a notice that does not exist or is not shown."""
    found = ADDRESS.match(request.path)
    if found is None:
        return None
    slug, kind = found["slug"] or INDEX, KINDS[found["file"]]
    target = _index_stamp() if slug == INDEX else _notice(slug)
    language = language_of(request.query, request.accept_language) if kind == "page" else ""
    key = _key(kind, target, language)
    render = _kept.get(key)
    if render is None:
        with _rendering:
            render = _kept.get(key) or _make(key, kind, target, language)
    return _respond(request, render)


def _notice(slug: str) -> PublicNotice:
    notice = _fresh(slug)
    if notice is None:
        notice = (
            PublicNotice.objects.filter(slug=slug, enabled=True, drill=False)
            .select_related("incident")
            .only("pk", "slug", "enabled", "drill", "generation", "incident__version", "incident__state")
            .first()
        )
        _trust(slug, notice)
    if notice is None:
        raise Http404(_("No such notice."))
    return notice


def _index_stamp() -> tuple:
    stamp = _fresh(INDEX)
    if stamp is None:
        stamp = tuple(
            sorted(
                PublicNotice.objects.filter(enabled=True, listed=True, drill=False).values_list(
                    "pk", "generation", "incident__version"
                )
            )
        )
        _trust(INDEX, stamp)
    return stamp


def _trust(slug: str, target) -> None:
    ttl = float(setting("NOTICE_STAMP_SECONDS"))
    if ttl > 0:
        if len(_stamps) > 10_000:
            _stamps.clear()
        _stamps[slug] = (time.monotonic() + ttl, target)


def _make(key: tuple, kind: str, target, language: str) -> Render:
    if isinstance(target, PublicNotice):
        full = PublicNotice.objects.select_related("incident").get(pk=target.pk)
        if kind == "page":
            body = rendering.page(content.build(full, language))
            # What the page shows changed since the files were written (a stage change
            # moves the status): bring the files a proxy serves during an outage up to date.
            _rewrite_files(full)
        else:
            body = rendering.atom(full) if kind == "atom" else rendering.json_feed(full)
    elif kind == "page":
        body = rendering.index_page(language)
    else:
        body = rendering.index_atom() if kind == "atom" else rendering.index_json()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    # The same bytes made again (another key, nothing shown changed) keep their date.
    modified = next((r.modified for r in list(_kept.values()) if r.etag == etag), int(clock.now().timestamp()))
    validators = [("ETag", etag), ("Last-Modified", http_date(modified)), ("Cache-Control", CACHE_CONTROL)]
    common = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY")]
    if language:
        common += [("Content-Language", language), ("Vary", "Accept-Language")]
    render = Render(
        body=body,
        etag=etag,
        modified=modified,
        full=(("Content-Type", TYPES[kind]), ("Content-Length", str(len(body))), *validators, *common),
        not_modified=(*validators, *common),
    )
    _kept[key] = render
    while len(_kept) > MAX_KEPT:
        _kept.popitem(last=False)
    return render


def _rewrite_files(notice: PublicNotice) -> None:
    try:
        rendering.write_notice(notice)
    except OSError:
        log.exception("could not write the files of notice %s", notice.slug)


def http_response(found: Answer) -> HttpResponse:
    response = HttpResponse(found.body, status=found.status)
    if found.status == 304:
        del response["Content-Type"]
    for name, value in found.headers:
        response[name] = value
    return response


# --- before Django ---------------------------------------------------------------------------------


class FastPath:
    """WSGI middleware: GET and HEAD of a notice address answered from memory when the
    process has the answer, everything else handed to `app` (Django) untouched."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/notice/") and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            secure = is_secure(environ)
            # Plain HTTP that Django would redirect to HTTPS goes on to Django.
            if secure or not settings.SECURE_SSL_REDIRECT:
                found = kept_answer(
                    Request(
                        method=environ["REQUEST_METHOD"],
                        path=path,
                        query=environ.get("QUERY_STRING", ""),
                        accept_language=environ.get("HTTP_ACCEPT_LANGUAGE", ""),
                        if_none_match=environ.get("HTTP_IF_NONE_MATCH", ""),
                        if_modified_since=environ.get("HTTP_IF_MODIFIED_SINCE", ""),
                        secure=secure,
                    )
                )
                if found is not None:
                    start_response(STATUS_LINES[found.status], found.headers)
                    return [found.body]
        return self.app(environ, start_response)


def is_secure(environ) -> bool:
    """As Django's request.is_secure(): the proxy's header when configured, else the scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"
