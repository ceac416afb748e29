"""The public notice pages (no sign-in) and the commander's notice settings.

The public addresses are answered by crisisflow.notices.serving (from memory before
Django, or by the middleware); these views are what the URLconf names, and answer the
same way when a request reaches them.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from crisisflow.incidents import permissions as incident_permissions
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, NotFound
from crisisflow.notices import actions, serving
from crisisflow.notices import render as rendering
from crisisflow.notices.forms import NoticeForm
from crisisflow.web import guards


def forget_renders() -> None:
    serving.forget()


def _public(request: HttpRequest) -> HttpResponse:
    found = serving.answer(serving.Request.of(request))
    if found is None:
        raise Http404(_("No such notice."))
    return serving.http_response(found)


@require_safe
def notice_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _public(request)


@require_safe
def notice_atom(request: HttpRequest, slug: str) -> HttpResponse:
    return _public(request)


@require_safe
def notice_json(request: HttpRequest, slug: str) -> HttpResponse:
    return _public(request)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return _public(request)


@require_safe
def index_atom(request: HttpRequest) -> HttpResponse:
    return _public(request)


@require_safe
def index_json(request: HttpRequest) -> HttpResponse:
    return _public(request)


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
