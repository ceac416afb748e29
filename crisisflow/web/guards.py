"""The first two steps of every incident view: find what the person may see, check the guard.

Shared by the incident page, its live regions, the room's forms and the board, so each
finds an incident and refuses an outsider the same way: a restricted incident is a 404 to
anyone who may not see it, exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.models import Incident, Task
from crisisflow.incidents.tasks import last_heartbeat, worker_silence
from crisisflow.web.forms import VersionedForm, missing_version_message


def incident_for(request: HttpRequest, reference: str) -> Incident:
    """The incident, if the person may see it; a restricted one is a 404 to outsiders."""
    incident = (
        Incident.objects.select_related("commander", "reporter", "playbook_version__playbook")
        .filter(reference=reference)
        .first()
    )
    if incident is None or not permissions.can_view(request.user, incident):
        raise Http404(_("No such incident."))
    return incident


def task_for(request: HttpRequest, reference: str, task_id: int) -> Task:
    """A task of an incident the person may see (404 otherwise), its incident attached."""
    incident = incident_for(request, reference)
    task = incident.tasks.select_related("assignee").filter(pk=task_id).first()
    if task is None:
        raise Http404(_("No such task."))
    task.incident = incident
    return task


def require(allowed: bool, message: str) -> None:
    """The guard: the 403 page with `message` when the person may not do this."""
    if not allowed:
        raise PermissionDenied(message)


def posted_version(request: HttpRequest) -> int:
    """The version a button-only form was rendered with. A form without one is malformed,
    not merely stale, and is refused (400, naming the field) rather than applied unchecked."""
    form = VersionedForm(request.POST)
    if not form.is_valid():
        raise Invalid(missing_version_message(), field="version")
    return form.cleaned_data["version"]


def back(incident: Incident, anchor: str = "") -> HttpResponse:
    """Back to the incident page (post/redirect/get), at `anchor`."""
    url = reverse("incident-detail", kwargs={"reference": incident.reference})
    return redirect(f"{url}#{anchor}" if anchor else url)


# Beat asks for a heartbeat every few seconds; a minute of silence means the background
# worker or beat is down, and the team should know.
# The same silence as the commanders' banner (templates/web/_worker_banner.html).
WORKER_SILENCE = worker_silence()


def worker_status(now: datetime) -> dict:
    """The background worker's state as the pages show it: worker_ok, worker_seen, and
    worker_key (what a live region's stamp needs: while it is silent, for how many
    minutes — a new minute is a change)."""
    seen = last_heartbeat()
    ok = seen is not None and now - seen <= WORKER_SILENCE
    silent_for = None if ok or seen is None else int((now - seen).total_seconds() // 60)
    return {"worker_ok": ok, "worker_seen": seen, "worker_key": (ok, seen is None, silent_for)}
