"""The manager's board (/board/) and the rosters (/rosters/).

The same three steps as crisisflow.web.views: find what the person may see (404), check
the guard (403), call the use case (crisisflow.incidents.board, .actions,
crisisflow.people.rosters). Nothing here changes data by itself.

Success redirects back (post/redirect/get) with a message. A refusal re-renders the
page with the message next to the control that caused it, under the refusal's status
(400 Invalid, 409 Conflict; Forbidden is the 403 page, NotFound a 404).

With HTMX (the bulk assignment, the roster rows) only the changed part of the page comes
back: on success with its notice, on a refusal with the message in place and status 422
— the one error status these pages tell htmx to swap in (templates/web/_board_htmx.html),
so a stray error page (a lost session's CSRF 403, say) never lands inside the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from crisisflow import clock
from crisisflow.incidents import actions, board, permissions
from crisisflow.incidents.errors import CrisisFlowError, Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.people import rosters
from crisisflow.people.models import RosterEntry, User
from crisisflow.vocab import Role
from crisisflow.web.forms import VersionedForm, missing_version_message, show_error

HTMX_REFUSAL = 422  # see the module docstring


@dataclass
class Refusal:
    """A refusal to show next to the control it is about (`key`)."""

    key: str
    message: str
    task_id: int | None = None  # the board row it is about
    entry_id: int | None = None  # the roster row it is about
    incident_id: int | None = None  # the team panel it is about


def _guard(allowed: bool, message) -> None:
    # Forbidden, not PermissionDenied: a refused HTMX request gets its message in place.
    if not allowed:
        raise Forbidden(message)


def _active_people():
    return User.objects.filter(is_active=True).order_by("display_name", "username")


# --- forms: they only read the input; the use cases decide what is allowed ----------------------


class AssignSelectedForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=gettext_lazy("Assign selected to"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _active_people()


class ReplaceRoleForm(VersionedForm):
    role = forms.ChoiceField(choices=Role.choices)
    users = forms.ModelMultipleChoiceField(queryset=User.objects.none(), required=False)
    extra = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["users"].queryset = self.fields["extra"].queryset = _active_people()

    def people(self) -> list[User]:
        """The people ticked, in the order the page lists them (the first one leads if
        the role's lead leaves), then the one picked from everybody."""
        order = {str(pk): i for i, pk in enumerate(self.data.getlist("users"))}
        chosen = sorted(self.cleaned_data["users"], key=lambda u: order.get(str(u.pk), len(order)))
        extra = self.cleaned_data.get("extra")
        return chosen + ([extra] if extra is not None and extra not in chosen else [])


class RosterAddForm(forms.Form):
    user = forms.ModelChoiceField(
        label=gettext_lazy("Person"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("Choose a person…"),
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices)
    rank = forms.ChoiceField(label=gettext_lazy("Rank"), choices=RosterEntry.Rank.choices)
    place = forms.IntegerField(
        label=gettext_lazy("Place"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
        help_text=gettext_lazy("1 is first within the rank; leave empty for last."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _active_people()

    def position(self) -> int | None:
        place = self.cleaned_data.get("place")
        return None if place is None else place - 1  # the use case counts from 0


# --- the board ---------------------------------------------------------------------------------------


def _visible_incident(request: HttpRequest, reference: str) -> Incident:
    incident = Incident.objects.filter(reference=reference).first()
    if incident is None or not permissions.can_view(request.user, incident):
        raise Http404(_("No such incident."))
    return incident


def _filter(request: HttpRequest) -> Incident | None:
    """The incident the board is narrowed to (?incident=CF-…), if any."""
    reference = (request.GET.get("incident") or request.POST.get("incident") or "").strip()
    if not reference:
        return None
    incident = _visible_incident(request, reference)
    if not permissions.manages(request.user, incident):
        raise PermissionDenied(
            _("You neither command %(reference)s nor lead a role on it (or it is no longer open).")
            % {"reference": incident.reference}
        )
    return incident


def _board_url(incident: Incident | None, anchor: str = "") -> str:
    url = reverse("board")
    if incident is not None:
        url += "?" + urlencode({"incident": incident.reference})
    return url + (f"#{anchor}" if anchor else "")


def _board_page(
    request: HttpRequest,
    incident: Incident | None,
    *,
    refusal: Refusal | None = None,
    notice: str = "",
    checked: frozenset[int] = frozenset(),
    chosen: Any = None,
    partial: bool = False,
    status: int = 200,
) -> HttpResponse:
    now = clock.now()
    data = board.board_for(request.user, incident, now=now)
    context = {
        "board": data,
        "filter": incident,
        # Plain values: an Incident with deferred fields would load its state one by one.
        "choices": list(
            permissions.managed_incidents(request.user).order_by("-detected_at").values("pk", "reference", "title")
        ),
        "refusal": refusal,
        "notice": notice,
        "checked": checked,
        "chosen": str(chosen.pk) if isinstance(chosen, User) else "",
        "several": len(data.incidents) > 1,
        "now": now,
    }
    template = "web/_board_work.html" if partial else "web/board.html"
    return render(request, template, context, status=status)


@login_required
def show_board(request: HttpRequest) -> HttpResponse:
    return _board_page(request, _filter(request))


def _selected_tasks(request: HttpRequest) -> list[tuple[int, int]]:
    """The ticked tasks, each posted as "id:version" (the version the page showed)."""
    selected = []
    for value in request.POST.getlist("task"):
        task_id, _sep, version = value.partition(":")
        if not (task_id.isascii() and task_id.isdigit() and version.isascii() and version.isdigit()):
            raise Invalid(missing_version_message(), field="tasks")
        selected.append((int(task_id), int(version)))
    return selected


@require_POST
@login_required
def assign_selected(request: HttpRequest) -> HttpResponse:
    incident = _filter(request)
    try:
        selected, malformed = _selected_tasks(request), None
    except Invalid as err:
        selected, malformed = [], err
    checked = frozenset(task_id for task_id, _version in selected)
    form = AssignSelectedForm(request.POST)
    chosen = form.cleaned_data.get("assignee") if form.is_valid() else None

    def page(refusal: Refusal | None = None, status: int = 200, notice: str = "") -> HttpResponse:
        if request.htmx:
            status = HTMX_REFUSAL if refusal else 200
        return _board_page(
            request,
            incident,
            refusal=refusal,
            notice=notice,
            checked=checked if refusal else frozenset(),
            chosen=chosen,
            partial=bool(request.htmx),
            status=status,
        )

    try:
        _guard(
            permissions.manages_any(request.user),
            _("Only incident commanders and role leads can assign from the board."),
        )
        if malformed is not None:
            raise malformed
        if not form.is_valid():
            raise Invalid("; ".join(str(e) for errors in form.errors.values() for e in errors), field="assignee")
        tasks = actions.assign_tasks(request.user, selected, chosen)
    except NotFound as err:
        raise Http404(str(err.message)) from err
    except Forbidden as err:
        if not request.htmx:
            raise PermissionDenied(str(err.message)) from err
        return page(Refusal("assign", str(err.message), getattr(err, "task_id", None)))
    except CrisisFlowError as err:
        return page(Refusal("assign", str(err.message), getattr(err, "task_id", None)), status=err.status)
    notice = ngettext(
        "%(count)d task assigned to %(person)s.", "%(count)d tasks assigned to %(person)s.", len(tasks)
    ) % {"count": len(tasks), "person": chosen}
    if request.htmx:
        return page(notice=notice)
    messages.success(request, notice)
    return redirect(_board_url(incident, "board-work"))


# --- the team, from the board ----------------------------------------------------------------------


def _commanded(request: HttpRequest, reference: str) -> Incident:
    incident = _visible_incident(request, reference)
    if not permissions.commands(request.user, incident):
        raise PermissionDenied(_("Only the incident commander can do this."))
    return incident


def _team_refused(request: HttpRequest, incident: Incident, err: CrisisFlowError, key: str) -> HttpResponse:
    if isinstance(err, NotFound):
        raise Http404(str(err.message))
    if isinstance(err, Forbidden):
        raise PermissionDenied(str(err.message))
    refusal = Refusal(key, str(err.message), incident_id=incident.pk)
    return _board_page(request, _filter(request), refusal=refusal, status=err.status)


@require_POST
@login_required
def accept_team(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _commanded(request, reference)
    form = VersionedForm(request.POST)
    try:
        if not form.is_valid():
            raise Invalid(missing_version_message(), field="version")
        added = actions.accept_team(request.user, incident, expected_version=form.cleaned_data["version"])
    except CrisisFlowError as err:
        return _team_refused(request, incident, err, f"team-{incident.pk}")
    messages.success(
        request,
        ngettext(
            "%(count)d person joined the team of %(reference)s.",
            "%(count)d people joined the team of %(reference)s.",
            len(added),
        )
        % {"count": len(added), "reference": incident.reference},
    )
    return redirect(_board_url(_filter(request), f"team-{incident.pk}"))


@require_POST
@login_required
def replace_role(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _commanded(request, reference)
    form = ReplaceRoleForm(request.POST)
    key = f"role-{incident.pk}-{request.POST.get('role', '')}"
    if not form.is_valid():
        message = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        refusal = Refusal(key, message, incident_id=incident.pk)
        return _board_page(request, _filter(request), refusal=refusal, status=400)
    data = form.cleaned_data
    try:
        change = actions.replace_role(
            request.user, incident, data["role"], form.people(), expected_version=data["version"]
        )
    except CrisisFlowError as err:
        return _team_refused(request, incident, err, key)
    role = Role(data["role"]).label
    if change.changed:
        messages.success(
            request, _("%(role)s on %(reference)s updated.") % {"role": role, "reference": incident.reference}
        )
    else:
        messages.info(request, _("Nothing changed: these people already hold %(role)s.") % {"role": role})
    return redirect(_board_url(_filter(request), f"team-{incident.pk}"))


# --- rosters -------------------------------------------------------------------------------------------


MANAGE_ROSTERS = gettext_lazy(
    "Only duty commanders (people on the commander roster) and administrators can change the rosters."
)


def _rosters_page(request: HttpRequest, *, form: RosterAddForm | None = None, refusal=None, status=200):
    context = {
        "rosters": rosters.rosters(),
        "may_manage": rosters.may_manage(request.user),
        "form": form or RosterAddForm(auto_id="roster_%s", initial={"rank": RosterEntry.Rank.PRIMARY}),
        "refusal": refusal,
    }
    return render(request, "web/rosters.html", context, status=status)


@login_required
def show_rosters(request: HttpRequest) -> HttpResponse:
    return _rosters_page(request)


@require_POST
@login_required
def add_to_roster(request: HttpRequest) -> HttpResponse:
    if not rosters.may_manage(request.user):
        raise PermissionDenied(str(MANAGE_ROSTERS))
    form = RosterAddForm(request.POST, auto_id="roster_%s")
    if not form.is_valid():
        return _rosters_page(request, form=form, status=400)
    data = form.cleaned_data
    try:
        entry = rosters.add_to_roster(request.user, data["user"], data["role"], data["rank"], form.position())
    except Forbidden as err:
        raise PermissionDenied(str(err.message)) from err
    except CrisisFlowError as err:
        show_error(form, err)
        return _rosters_page(request, form=form, status=err.status)
    messages.success(
        request,
        _("%(person)s is on the %(role)s roster (%(rank)s).")
        % {"person": entry.user, "role": entry.get_role_display(), "rank": entry.get_rank_display()},
    )
    return redirect(reverse("rosters") + f"#roster-{entry.role}")


def _roster_row_change(
    request: HttpRequest, entry_id: int, change: Callable[[RosterEntry], Any], done: Callable[[RosterEntry], str]
) -> HttpResponse:
    """The shared path of the roster row buttons: find the entry, guard, call the use
    case; answer with the role's section (HTMX) or the page."""
    entry = RosterEntry.objects.select_related("user").filter(pk=entry_id).first()
    role = entry.role if entry is not None else request.POST.get("role", "")
    refusal = None
    try:
        if entry is None:
            raise NotFound(_("This roster entry no longer exists."))
        _guard(rosters.may_manage(request.user), MANAGE_ROSTERS)
        change(entry)
    except NotFound as err:
        # Someone removed it a moment ago: show the roster as it is now.
        if not (request.htmx and role in Role.values):
            raise Http404(str(err.message)) from err
        refusal = Refusal("role", str(err.message))
    except Forbidden as err:
        if not request.htmx:
            raise PermissionDenied(str(err.message)) from err
        refusal = Refusal("entry", str(err.message), entry_id=entry_id)
    except CrisisFlowError as err:
        refusal = Refusal("entry", str(err.message), entry_id=entry_id)
        if not request.htmx:
            return _rosters_page(request, refusal=refusal, status=err.status)
    if request.htmx:
        context = {"r": rosters.rosters(role)[0], "may_manage": rosters.may_manage(request.user), "refusal": refusal}
        if refusal is None:
            context["notice"] = done(entry)
        return render(request, "web/_board_roster_role.html", context, status=HTMX_REFUSAL if refusal else 200)
    messages.success(request, done(entry))
    return redirect(reverse("rosters") + f"#roster-{role}")


@require_POST
@login_required
def set_rank(request: HttpRequest, entry_id: int) -> HttpResponse:
    rank = request.POST.get("rank", "")

    def done(entry):
        entry.refresh_from_db()
        return _("%(person)s is now %(rank)s.") % {"person": entry.user, "rank": entry.get_rank_display()}

    return _roster_row_change(request, entry_id, lambda entry: rosters.set_rank(request.user, entry.pk, rank), done)


@require_POST
@login_required
def move_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    direction = request.POST.get("direction", "")

    def done(entry):
        if direction == "up":
            return _("%(person)s moved up.") % {"person": entry.user}
        return _("%(person)s moved down.") % {"person": entry.user}

    return _roster_row_change(request, entry_id, lambda entry: rosters.move(request.user, entry.pk, direction), done)


@require_POST
@login_required
def remove_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    def done(entry):
        return _("%(person)s is off the %(role)s roster.") % {"person": entry.user, "role": entry.get_role_display()}

    return _roster_row_change(request, entry_id, lambda entry: rosters.remove_from_roster(request.user, entry.pk), done)
