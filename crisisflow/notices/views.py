"""The public notice pages (no sign-in) and the commander's notice settings.

Public pages are rendered once per change of what they show and kept in this process
(keyed by the notice's generation and the incident's version, so a stage change shows
too); a request costs one small query. The same bytes are written as static files for a
reverse proxy or CDN (render.py). Nothing here sets a cookie or reads the session, so a
cache in front may keep the answers (Cache-Control public, Vary Accept-Language).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from crisisflow.conf import setting
from crisisflow.incidents import permissions as incident_permissions
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, NotFound
from crisisflow.notices import actions, content
from crisisflow.notices import render as rendering
from crisisflow.notices.forms import NoticeForm
from crisisflow.notices.models import PublicNotice
from crisisflow.web import guards

MAX_KEPT = 512
_kept: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()
TYPES = {
    "page": "text/html; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


def language_of(request: HttpRequest) -> str:
    """?lang= (the switch) first, else the browser's Accept-Language; zh-Hans by default."""
    chosen = request.GET.get("lang", "")
    if chosen in content.LANGUAGES:
        return chosen
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-hans"
        if tag.startswith("en"):
            return "en"
    return "zh-hans"


def _kept_render(key: tuple, make) -> tuple[bytes, str]:
    found = _kept.get(key)
    if found is None:
        body = make()
        found = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        _kept[key] = found
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return found


def forget_renders() -> None:
    _kept.clear()
    _stamps.clear()


def _answer(request: HttpRequest, body: bytes, etag: str, kind: str, language: str | None = None) -> HttpResponse:
    if request.META.get("HTTP_IF_NONE_MATCH") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=TYPES[kind])
        response["Content-Length"] = str(len(body))
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=30, stale-if-error=86400"
    response["X-Content-Type-Options"] = "nosniff"
    if language:
        response["Content-Language"] = language
        patch_vary_headers(response, ("Accept-Language",))
    return response


# What a notice's address points at, kept per process for NOTICE_STAMP_SECONDS: a spike of
# readers costs one query a second per process, and a change shows within that time.
_stamps: dict[str, tuple[float, PublicNotice | None]] = {}


def _notice(slug: str) -> PublicNotice:
    now = time.monotonic()
    kept = _stamps.get(slug)
    if kept is not None and kept[0] > now:
        notice = kept[1]
    else:
        notice = (
            PublicNotice.objects.filter(slug=slug, enabled=True, drill=False)
            .select_related("incident")
            .only("pk", "slug", "enabled", "drill", "generation", "incident__version", "incident__state")
            .first()
        )
        ttl = float(setting("NOTICE_STAMP_SECONDS"))
        if ttl > 0:
            if len(_stamps) > 10_000:
                _stamps.clear()
            _stamps[slug] = (now + ttl, notice)
    if notice is None:
        raise Http404(_("No such notice."))
    return notice


def _full(notice: PublicNotice) -> PublicNotice:
    return PublicNotice.objects.select_related("incident").get(pk=notice.pk)


@require_safe
def notice_page(request: HttpRequest, slug: str) -> HttpResponse:
    notice = _notice(slug)
    language = language_of(request)
    key = ("page", notice.pk, notice.generation, notice.incident.version, language)

    def make() -> bytes:
        full = _full(notice)
        body = rendering.page(content.build(full, language))
        # What the page shows changed since the files were written (a stage change moves
        # the status): bring the files a proxy serves during an outage up to date too.
        _rewrite_files(full)
        return body

    body, etag = _kept_render(key, make)
    return _answer(request, body, etag, "page", language)


def _rewrite_files(notice: PublicNotice) -> None:
    try:
        rendering.write_notice(notice)
    except OSError:
        logging.getLogger(__name__).exception("could not write the files of notice %s", notice.slug)


@require_safe
def notice_atom(request: HttpRequest, slug: str) -> HttpResponse:
    notice = _notice(slug)
    key = ("atom", notice.pk, notice.generation, notice.incident.version)
    body, etag = _kept_render(key, lambda: rendering.atom(_full(notice)))
    return _answer(request, body, etag, "atom")


@require_safe
def notice_json(request: HttpRequest, slug: str) -> HttpResponse:
    notice = _notice(slug)
    key = ("json", notice.pk, notice.generation, notice.incident.version)
    body, etag = _kept_render(key, lambda: rendering.json_feed(_full(notice)))
    return _answer(request, body, etag, "json")


def _index_key() -> tuple:
    stamp = list(
        PublicNotice.objects.filter(enabled=True, listed=True, drill=False).values_list(
            "pk", "generation", "incident__version"
        )
    )
    return tuple(sorted(stamp))


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    language = language_of(request)
    body, etag = _kept_render(("index", _index_key(), language), lambda: rendering.index_page(language))
    return _answer(request, body, etag, "page", language)


@require_safe
def index_atom(request: HttpRequest) -> HttpResponse:
    body, etag = _kept_render(("index-atom", _index_key()), rendering.index_atom)
    return _answer(request, body, etag, "atom")


@require_safe
def index_json(request: HttpRequest) -> HttpResponse:
    body, etag = _kept_render(("index-json", _index_key()), rendering.index_json)
    return _answer(request, body, etag, "json")


# --- the commander's settings ---------------------------------------------------------------------


def _refuse(err: CrisisFlowError):
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))


@login_required
def settings_page(request: HttpRequest, reference: str) -> HttpResponse:
    """The incident's public notice: turn it on, change it (the commander); others read."""
    incident = guards.incident_for(request, reference)
    notice = actions.notice_of(incident)
    commands = incident_permissions.commands(request.user, incident)
    status = 200
    if request.method == "POST":
        if not commands:
            raise PermissionDenied(_("Only the incident commander can do this."))
        form = NoticeForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                actions.save_notice(
                    request.user,
                    incident,
                    title_en=d["title_en"],
                    title_zh=d["title_zh"],
                    summary_en=d["summary_en"],
                    summary_zh=d["summary_zh"],
                    image_url=d["image_url"],
                    slug=d["slug"],
                    listed=d["listed"],
                    enabled=True,
                    expected_version=d["version"],
                )
            except CrisisFlowError as err:
                _refuse(err)
                name = err.field if err.field in form.fields else None
                form.add_error(name, str(err.message))
                status = err.status
            else:
                messages.success(request, _("The public notice is on."))
                return redirect("notices:settings", reference=incident.reference)
        else:
            status = 400
    elif request.method in ("GET", "HEAD"):
        initial = {"version": notice.version if notice else 0}
        if notice is not None:
            initial.update(
                {
                    f: getattr(notice, f)
                    for f in ("title_en", "title_zh", "summary_en", "summary_zh", "image_url", "slug", "listed")
                }
            )
        form = NoticeForm(initial=initial)
    else:
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    return render(
        request,
        "notices/settings.html",
        {
            "incident": incident,
            "notice": notice,
            "form": form,
            "commands": commands,
            "public_url": rendering.notice_path(notice.slug) if notice and notice.shown else "",
        },
        status=status,
    )


@login_required
@require_POST
def turn_off(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    try:
        actions.disable_notice(request.user, incident, expected_version=_version(request))
    except CrisisFlowError as err:
        _refuse(err)
        messages.error(request, str(err.message))
    return redirect("notices:settings", reference=incident.reference)


@login_required
@require_POST
def drill(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    try:
        actions.mark_drill(
            request.user, incident, drill=request.POST.get("drill") == "1", expected_version=_version(request)
        )
    except CrisisFlowError as err:
        _refuse(err)
        messages.error(request, str(err.message))
    return redirect("notices:settings", reference=incident.reference)


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def switch_language(language: str):
    return translation.override(language)
