"""What the API reads and what it writes.

Input serializers only parse: types, required fields, user ids that exist, and the shared
input checks of crisisflow.incidents.inputs (characters text may hold, the range of
moments), so those refusals name the field before the use case runs. The rules (which
severities exist, who may do what, what a gate needs) live in the use cases, which answer
in the reader's language with the field they refuse; a second copy here would drift from
them.

Times go out in UTC ("…Z"); they come in as ISO 8601 and must carry their offset.
"""

from __future__ import annotations

from datetime import UTC

from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.reverse import reverse

from crisisflow.incidents import actions
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import check_moment, text_problem
from crisisflow.incidents.models import Event, Incident, Task, TeamMember
from crisisflow.incidents.timeline import describe
from crisisflow.people.models import User
from crisisflow.playbooks.models import crisis_type_choices, localized
from crisisflow.vocab import FACTS, Severity

# PositiveBigIntegerField's ceiling: larger numbers would overflow the column.
MAX_BIGINT = 2**63 - 1


class UTCDateTimeField(serializers.DateTimeField):
    """Aware times in UTC. A naive input stays naive, so the use case refuses it with its
    own message instead of DRF quietly reading it in the server's zone."""

    def enforce_timezone(self, value):
        if value.tzinfo is None:
            return value
        try:
            return value.astimezone(UTC)
        except OverflowError:
            self.fail("overflow")


class MomentInput(UTCDateTimeField):
    """A moment a person sets, inside the bounds every stored moment keeps
    (crisisflow.incidents.inputs.check_moment); `not_after_now` for moments that have
    happened."""

    def __init__(self, *, not_after_now: bool = False, **kwargs):
        self.not_after_now = not_after_now
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        try:
            return check_moment(moment, self.field_name, not_after_now=self.not_after_now)
        except Invalid as err:
            raise serializers.ValidationError(str(err.message), code="out_of_range") from None


class ModelOutput(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UTCDateTimeField,
    }


def person(user: User | None) -> dict | None:
    return {"id": user.pk, "name": str(user)} if user is not None else None


# --- input -----------------------------------------------------------------------------------------


class Text(serializers.CharField):
    """One line of text that can be stored: refuses NUL, control characters, bidi
    overrides and lone surrogates (valid JSON escapes, invalid Unicode) with the same
    words as the use case (crisisflow.incidents.inputs), which then turns line breaks and
    tabs into spaces. `multiline=True` keeps line breaks (notes, reasons, summaries)."""

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(**kwargs)
        # DRF's NUL message is Django's, which reads "empty string not allowed" in
        # Chinese; ours (from to_internal_value, which runs first) says what is wrong.
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = text_problem(value, multiline=self.multiline)
        if problem:
            raise serializers.ValidationError(problem, code="bad_characters")
        return value


def _text(**kwargs) -> Text:
    return Text(required=False, allow_blank=True, **kwargs)


def _user_field(**kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), **kwargs)


class VersionInput(serializers.Serializer):
    # The version the client last saw; when given, a newer one on the server is a 409.
    expected_version = serializers.IntegerField(required=False, allow_null=True, min_value=0)


class ScopeInput(VersionInput):
    """The fields actions.update_scope accepts, all optional (PATCH)."""

    title = _text()
    summary = _text(trim_whitespace=False, multiline=True)
    affected_users = serializers.IntegerField(required=False, allow_null=True, max_value=MAX_BIGINT)
    regions = serializers.ListField(child=Text(), required=False)
    platforms = serializers.ListField(child=Text(), required=False)
    personal_data = serializers.BooleanField(required=False)
    injuries = serializers.BooleanField(required=False)
    financial_loss = serializers.BooleanField(required=False)
    regulator_involved = serializers.BooleanField(required=False)
    media_coverage = serializers.BooleanField(required=False)

    def validate(self, attrs):
        # A field that is not part of the scope (state, severity…) is refused rather than
        # silently ignored: the client would believe it had changed it.
        unknown = [name for name in self.initial_data if name not in self.fields]
        if unknown:
            raise serializers.ValidationError(
                {name: [_("“%(field)s” cannot be changed here.") % {"field": name}] for name in unknown}
            )
        return attrs

    def changes(self) -> dict:
        return {k: v for k, v in self.validated_data.items() if k != "expected_version"}


class ReportInput(ScopeInput):
    title = Text(allow_blank=True)
    crisis_type = _text()
    severity = _text()
    detected_at = MomentInput(required=False, not_after_now=True)
    restricted = serializers.BooleanField(required=False)
    commander = _user_field(required=False, allow_null=True)
    expected_version = None  # a new incident has no version to check


class StepInput(VersionInput):
    reason = _text(default="", multiline=True)
    crisis_type = _text()
    severity = _text()
    playbook = _text()


class SeverityInput(VersionInput):
    severity = Text()
    reason = _text(default="", multiline=True)


class NoteInput(serializers.Serializer):
    text = _text(default="", trim_whitespace=False, multiline=True)


class MemberInput(VersionInput):
    user = _user_field()
    role = Text()
    lead = serializers.BooleanField(required=False, default=False)


class ReasonInput(VersionInput):
    reason = _text(default="", multiline=True)


class AssignInput(VersionInput):
    # Required but may be null: null takes the task off whoever holds it.
    assignee = _user_field(allow_null=True)


class TickInput(VersionInput):
    index = serializers.IntegerField()
    done = serializers.BooleanField()


# --- output ----------------------------------------------------------------------------------------


class IncidentSummary(ModelOutput):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    severity_label = serializers.SerializerMethodField()
    crisis_type_label = serializers.SerializerMethodField()
    commander = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "reference",
            "title",
            "crisis_type",
            "crisis_type_label",
            "severity",
            "severity_label",
            "state",
            "state_label",
            "commander",
            "detected_at",
            "statement_due_at",
            "first_statement_at",
            "version",
            "url",
        ]

    def get_severity_label(self, incident: Incident) -> str | None:
        return str(Severity(incident.severity).label) if incident.severity else None

    def get_crisis_type_label(self, incident: Incident) -> str | None:
        if not incident.crisis_type:
            return None
        # Read the loaded playbooks' types once per answer, not once per incident listed.
        if "crisis_types" not in self.context:
            self.context["crisis_types"] = dict(crisis_type_choices())
        return self.context["crisis_types"].get(incident.crisis_type, incident.crisis_type)

    def get_commander(self, incident: Incident) -> dict | None:
        return person(incident.commander)

    def get_url(self, incident: Incident) -> str:
        return reverse("api:incident-detail", args=[incident.reference], request=self.context.get("request"))


class Member(ModelOutput):
    user = serializers.IntegerField(source="user_id")
    name = serializers.SerializerMethodField()
    role_label = serializers.CharField(source="get_role_display")

    class Meta:
        model = TeamMember
        fields = ["id", "user", "name", "role", "role_label", "is_lead", "added_at"]

    def get_name(self, member: TeamMember) -> str:
        return str(member.user)


class TaskOutput(ModelOutput):
    title_localized = serializers.CharField(source="title_text")
    instructions_localized = serializers.CharField(source="instructions_text")
    assignee = serializers.SerializerMethodField()
    depends_on = serializers.SerializerMethodField()
    checklist = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "key",
            "title",
            "title_localized",
            "instructions",
            "instructions_localized",
            "role",
            "stage",
            "status",
            "assignee",
            "due_at",
            "deliverable",
            "gates",
            "depends_on",
            "checklist",
            "blocked_reason",
            "skip_reason",
            "started_at",
            "completed_at",
            "version",
        ]

    def get_assignee(self, task: Task) -> dict | None:
        return person(task.assignee)

    def get_depends_on(self, task: Task) -> list[str]:
        # .all() so a prefetch_related("depends_on") is used.
        return [dep.key for dep in task.depends_on.all()]

    def get_checklist(self, task: Task) -> list[dict]:
        return [
            {
                "index": i,
                "text": item["text"],
                "text_localized": localized(item["text"]),
                "done": bool(item.get("done")),
            }
            for i, item in enumerate(task.checklist)
        ]


class IncidentDetail(IncidentSummary):
    reporter = serializers.SerializerMethodField()
    playbook = serializers.SerializerMethodField()
    team = Member(many=True)
    next_steps = serializers.SerializerMethodField()
    tasks = TaskOutput(many=True)

    class Meta(IncidentSummary.Meta):
        fields = [
            *IncidentSummary.Meta.fields,
            "summary",
            "restricted",
            "reporter",
            "affected_users",
            "regions",
            "platforms",
            *FACTS,
            "playbook",
            "reported_at",
            "confirmed_at",
            "plan_activated_at",
            "team_assembled_at",
            "closed_at",
            "dismissed_at",
            "dismiss_reason",
            "team",
            "next_steps",
            "tasks",
        ]

    def get_reporter(self, incident: Incident) -> dict | None:
        return person(incident.reporter)

    def get_playbook(self, incident: Incident) -> dict | None:
        version = incident.playbook_version
        if version is None:
            return None
        return {"key": version.key, "version": version.number, "name": version.name()}

    def get_next_steps(self, incident: Incident) -> list[dict]:
        return [
            {
                "step": n.step.name,
                "label": str(n.step.label),
                "ready": n.ready,
                "blockers": n.blockers,
                "needs_reason": n.step.needs_reason,
            }
            for n in actions.next_steps(incident)
        ]


class EventOutput(ModelOutput):
    actor = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["seq", "at", "actor", "kind", "task", "data", "text", "prev_hash", "hash"]

    def get_actor(self, event: Event) -> dict | None:
        return person(event.actor)

    def get_text(self, event: Event) -> str:
        return describe(event)


def proposal(proposals: list[actions.RoleProposal]) -> list[dict]:
    return [
        {
            "role": p.role,
            "label": p.label,
            "needed": p.needed,
            "filled": p.filled,
            "current": [person(m.user) for m in p.current],
            "proposed": [person(u) for u in p.proposed],
        }
        for p in proposals
    ]
