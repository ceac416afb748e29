"""The statement editor's approval panel and publish form: request approval, approve
(overriding lint errors with a reason), reject, publish and publish a correction.

Each view is three steps: find the statement the person may see, read the form, call the
use case (approvals.py, publishing.py). A refusal shows the editor again with the message
beside the field it names; a refusal to someone who may not act is the 403 page.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crisisflow.incidents.errors import CrisisFlowError, Forbidden, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.statements import approvals, kinds, publishing, versions
from crisisflow.statements.forms import StatementForm
from crisisflow.statements.models import Statement
from crisisflow.statements.views import editor_context
from crisisflow.vocab import Role
from crisisflow.web import guards
from crisisflow.web.forms import LineField, TextField, VersionedForm

ROLE_CHOICES = [(r.value, r.label) for r in Role if r != Role.OBSERVER]
CHANNEL_CHOICES = [(c.key, c.label) for c in kinds.CHANNELS.values()]


class RequestForm(VersionedForm):
    """Ask for approval of the version shown."""


class ApproveForm(VersionedForm):
    role = forms.ChoiceField(label=gettext_lazy("Approve as"), choices=ROLE_CHOICES)
    override_reason = TextField(
        label=gettext_lazy("Why the lint errors may stand"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectForm(VersionedForm):
    role = forms.ChoiceField(label=gettext_lazy("Reject as"), choices=ROLE_CHOICES)
    reason = TextField(label=gettext_lazy("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PublishForm(VersionedForm):
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=CHANNEL_CHOICES)
    location = LineField(label=gettext_lazy("URL or message id"), required=False, max_length=publishing.MAX_LOCATION)


def _statement(request: HttpRequest, reference: str, statement_id: int) -> tuple[Incident, Statement]:
    incident = guards.incident_for(request, reference)
    try:
        return incident, versions.visible_statement(request.user, incident, statement_id)
    except NotFound:
        raise Http404(_("No such statement.")) from None


def _editor_again(request: HttpRequest, incident: Incident, statement: Statement, flow_form, status: int):
    """The editor with the refused form (and its message) in the panel."""
    current = statement.current
    form = StatementForm(
        initial={
            "version": statement.version,
            "title": current.title if current else "",
            "body": current.body if current else "",
        }
    )
    context = editor_context(request, incident, statement, form)
    context["flow_form"] = flow_form
    return render(request, "statements/editor.html", context, status=status)


def _run(request: HttpRequest, reference: str, statement_id: int, form_class, call, done: str) -> HttpResponse:
    incident, statement = _statement(request, reference, statement_id)
    form = form_class(request.POST)
    if not form.is_valid():
        return _editor_again(request, incident, statement, form, 400)
    try:
        call(statement, form.cleaned_data)
    except NotFound as err:
        raise Http404(str(err.message)) from None
    except Forbidden as err:
        raise PermissionDenied(str(err.message)) from None
    except CrisisFlowError as err:
        visible = err.field in form.fields and not form.fields[err.field].widget.is_hidden
        form.add_error(err.field if visible else None, str(err.message))
        fresh = Statement.objects.select_related("current").get(pk=statement.pk)
        return _editor_again(request, incident, fresh, form, err.status)
    messages.success(request, done)
    return redirect("statements:edit", reference=incident.reference, statement_id=statement.pk)


@require_POST
@login_required
def request_approval(request: HttpRequest, reference: str, statement_id: int) -> HttpResponse:
    def call(statement, data):
        approvals.request_approval(request.user, statement, expected_version=data["version"])

    return _run(request, reference, statement_id, RequestForm, call, _("Approval requested; the approvers are told."))


@require_POST
@login_required
def approve(request: HttpRequest, reference: str, statement_id: int) -> HttpResponse:
    def call(statement, data):
        approvals.approve(
            request.user,
            statement,
            role=data["role"],
            expected_version=data["version"],
            override_reason=data["override_reason"],
        )

    return _run(request, reference, statement_id, ApproveForm, call, _("Approved."))


@require_POST
@login_required
def reject(request: HttpRequest, reference: str, statement_id: int) -> HttpResponse:
    def call(statement, data):
        approvals.reject(
            request.user, statement, role=data["role"], reason=data["reason"], expected_version=data["version"]
        )

    return _run(request, reference, statement_id, RejectForm, call, _("Sent back to draft with your reason."))


@require_POST
@login_required
def publish(request: HttpRequest, reference: str, statement_id: int) -> HttpResponse:
    def call(statement, data):
        publishing.publish(
            request.user,
            statement,
            channel=data["channel"],
            location=data["location"],
            expected_version=data["version"],
        )

    return _run(request, reference, statement_id, PublishForm, call, _("Published."))
