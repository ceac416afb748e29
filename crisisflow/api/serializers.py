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

import logging
from datetime import UTC

from django.core.validators import ProhibitNullCharactersValidator
from django.db import models
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from crisisflow import clock
from crisisflow.alerts import messages
from crisisflow.alerts.models import Notification
from crisisflow.evidence.models import Attachment
from crisisflow.incidents import actions, golden_clock
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import check_moment, text_problem
from crisisflow.incidents.models import Event, Incident, Task, TeamMember
from crisisflow.incidents.timeline import describe
from crisisflow.people.models import User
from crisisflow.playbooks.models import PlaybookVersion, crisis_type_choices, localized
from crisisflow.vocab import FACTS, Severity

log = logging.getLogger(__name__)

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


class Person(serializers.Serializer):
    """Someone, as the API names them (the shape person() writes)."""

    id = serializers.IntegerField()
    name = serializers.CharField()


PERSON_OR_NULL = Person(allow_null=True)


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


class OutbreakInput(VersionInput):
    detected_at = MomentInput(not_after_now=True, help_text="When the crisis broke out (with its time zone).")
    reason = _text(default="", multiline=True)


CLOCK_STATES = ["none", "running", "met", "missed"]


class GoldenClock(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=CLOCK_STATES,
        help_text="none: no clock at this severity; running; met or missed (decided, or past due while running).",
    )
    due_at = serializers.DateTimeField(allow_null=True)
    margin_seconds = serializers.IntegerField(
        allow_null=True, help_text="Time left (running), to spare (met) or past the deadline (missed), in seconds."
    )


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


class CommentInput(serializers.Serializer):
    text = _text(default="", trim_whitespace=False)


class EvidenceInput(serializers.Serializer):
    """Only reads the upload; crisisflow.evidence.actions.attach decides what is allowed
    (type from the bytes, size, caption length)."""

    file = serializers.FileField(required=False, allow_empty_file=True, use_url=False)
    caption = _text(default="")


class CommandInput(VersionInput):
    commander = _user_field(help_text="The new commander: someone on the commander roster.")


class BulkItem(serializers.Serializer):
    id = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT)
    version = serializers.IntegerField(min_value=0, max_value=MAX_BIGINT, help_text="The task's version as seen.")


class BulkAssignInput(serializers.Serializer):
    # Null is refused by the use case with its own message (it names the field).
    assignee = _user_field(allow_null=True)
    tasks = BulkItem(many=True)


class PlaybookQuery(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="A version number; the current one if left out."
    )


# --- output ----------------------------------------------------------------------------------------


class IncidentSummary(ModelOutput):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    severity_label = serializers.SerializerMethodField()
    crisis_type_label = serializers.SerializerMethodField()
    commander = serializers.SerializerMethodField()
    golden_clock = serializers.SerializerMethodField()
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
            "golden_clock",
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

    @extend_schema_field(PERSON_OR_NULL)
    def get_commander(self, incident: Incident) -> dict | None:
        return person(incident.commander)

    @extend_schema_field(GoldenClock)
    def get_golden_clock(self, incident: Incident) -> dict:
        result = golden_clock.outcome(incident, clock.now())
        margin = int(result.margin.total_seconds()) if result.margin is not None else None
        return {"state": result.state, "due_at": result.due_at, "margin_seconds": margin}

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


class ChecklistItem(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.JSONField(help_text='The item in every language: {"zh": …, "en": …}.')
    text_localized = serializers.CharField()
    done = serializers.BooleanField()


class PlaybookRef(serializers.Serializer):
    key = serializers.CharField()
    version = serializers.IntegerField()
    name = serializers.CharField()


class NextStepOutput(serializers.Serializer):
    step = serializers.ChoiceField(choices=list(actions.STEPS))
    label = serializers.CharField()
    ready = serializers.BooleanField()
    blockers = serializers.ListField(child=serializers.CharField())
    needs_reason = serializers.BooleanField()


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

    @extend_schema_field(PERSON_OR_NULL)
    def get_assignee(self, task: Task) -> dict | None:
        return person(task.assignee)

    def get_depends_on(self, task: Task) -> list[str]:
        # .all() so a prefetch_related("depends_on") is used.
        return [dep.key for dep in task.depends_on.all()]

    @extend_schema_field(ChecklistItem(many=True))
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

    @extend_schema_field(PERSON_OR_NULL)
    def get_reporter(self, incident: Incident) -> dict | None:
        return person(incident.reporter)

    @extend_schema_field(PlaybookRef(allow_null=True))
    def get_playbook(self, incident: Incident) -> dict | None:
        version = incident.playbook_version
        if version is None:
            return None
        return {"key": version.key, "version": version.number, "name": version.name()}

    @extend_schema_field(NextStepOutput(many=True))
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
    # Apps register kinds of their own (statement_drafted, review_signed_off…): any name.
    kind = serializers.CharField(help_text="the kind of event: one of the engine's or one an app registered")

    class Meta:
        model = Event
        fields = ["seq", "at", "actor", "kind", "task", "data", "text", "prev_hash", "hash"]

    @extend_schema_field(PERSON_OR_NULL)
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


class RoleProposalOutput(serializers.Serializer):
    role = serializers.CharField()
    label = serializers.CharField()
    needed = serializers.IntegerField()
    filled = serializers.BooleanField()
    current = Person(many=True)
    proposed = Person(many=True)


class TeamOutput(serializers.Serializer):
    team = Member(many=True)
    proposal = RoleProposalOutput(many=True)


class CommentOutput(ModelOutput):
    """A comment on a task: its timeline event, with the text at the top."""

    actor = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["seq", "at", "actor", "task", "text"]

    @extend_schema_field(PERSON_OR_NULL)
    def get_actor(self, event: Event) -> dict | None:
        return person(event.actor)

    def get_text(self, event: Event) -> str:
        return event.data.get("text", "")


class AttachmentOutput(ModelOutput):
    uploaded_by = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="Where the file itself is served (after the same check).")

    class Meta:
        model = Attachment
        fields = [
            "id",
            "original_name",
            "caption",
            "kind",
            "content_type",
            "size",
            "sha256",
            "uploaded_by",
            "uploaded_at",
            "url",
        ]

    @extend_schema_field(PERSON_OR_NULL)
    def get_uploaded_by(self, attachment: Attachment) -> dict | None:
        return person(attachment.uploaded_by)

    def get_url(self, attachment: Attachment) -> str:
        return reverse(
            "api:evidence-file",
            args=[attachment.incident.reference, attachment.pk],
            request=self.context.get("request"),
        )


class NotificationOutput(ModelOutput):
    """An in-app notification in the reader's language and time zone."""

    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    subject = serializers.SerializerMethodField()
    headline = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField(help_text="The incident page, at the task or the golden clock.")

    class Meta:
        model = Notification
        fields = ["id", "kind", "incident", "task", "subject", "headline", "link", "created_at", "read_at"]

    def get_subject(self, notification: Notification) -> str:
        try:
            return messages.subject(notification.payload)
        except Exception:  # one odd payload must not take the whole inbox down
            log.exception("cannot render notification %s", notification.pk)
            return notification.kind

    def get_headline(self, notification: Notification) -> str:
        try:
            return messages.headline(notification.payload, messages.zone_of(notification))
        except Exception:
            log.exception("cannot render notification %s", notification.pk)
            return ""

    def get_link(self, notification: Notification) -> str:
        url = reverse("incident-detail", args=[notification.incident.reference], request=self.context.get("request"))
        return f"{url}#task-{notification.task_id}" if notification.task_id else f"{url}#clock"


class UnreadOutput(serializers.Serializer):
    unread = serializers.IntegerField(help_text="How many of the reader's notifications are unread.")


class InboxOutput(UnreadOutput):
    notifications = NotificationOutput(many=True)


class MarkedOutput(UnreadOutput):
    marked = serializers.IntegerField(help_text="How many were marked read by this call.")


class PlaybookSummary(serializers.Serializer):
    """One playbook version, as the catalogue lists it."""

    key = serializers.CharField()
    version = serializers.IntegerField(source="number")
    current = serializers.SerializerMethodField()
    name = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    crisis_types = serializers.SerializerMethodField()
    severities = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField(help_text="The minimum number of people per role.")
    first_statement_within = serializers.SerializerMethodField(
        help_text="Seconds from detection to the first public statement."
    )
    first_statement_within_critical = serializers.SerializerMethodField(
        help_text="The same for critical incidents, when the plan sets a shorter clock."
    )
    loaded_at = UTCDateTimeField()
    url = serializers.SerializerMethodField()

    def get_current(self, version: PlaybookVersion) -> bool:
        return version.playbook.current_version_id == version.pk

    def get_name(self, version: PlaybookVersion) -> str:
        return version.name()

    def get_description(self, version: PlaybookVersion) -> str:
        return version.description()

    def get_crisis_types(self, version: PlaybookVersion) -> list[str]:
        return list(version.definition["crisis_types"])

    def get_severities(self, version: PlaybookVersion) -> list[str]:
        return list(version.definition["severities"])

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "integer"}})
    def get_roles(self, version: PlaybookVersion) -> dict[str, int]:
        return dict(version.roles)

    def get_first_statement_within(self, version: PlaybookVersion) -> int:
        return version.definition["first_statement_within"]

    def get_first_statement_within_critical(self, version: PlaybookVersion) -> int | None:
        return version.definition.get("first_statement_within_critical") or None

    def get_url(self, version: PlaybookVersion) -> str:
        url = reverse("api:playbook-detail", args=[version.key], request=self.context.get("request"))
        return f"{url}?version={version.number}"


class PlaybookTask(serializers.Serializer):
    """A task of the plan as its file defines it; texts are {"zh": …, "en": …}."""

    key = serializers.CharField()
    title = serializers.JSONField()
    title_localized = serializers.CharField()
    instructions = serializers.JSONField()
    instructions_localized = serializers.CharField()
    role = serializers.CharField()
    stage = serializers.CharField()
    anchor = serializers.CharField(help_text="The moment the due time counts from (detected, confirmed, task:KEY…).")
    offset = serializers.IntegerField(help_text="Seconds after the anchor.")
    depends_on = serializers.ListField(child=serializers.CharField())
    gates = serializers.CharField(allow_null=True)
    deliverable = serializers.CharField()
    severity_at_least = serializers.CharField(allow_null=True)
    facts = serializers.JSONField(help_text="Conditions on the incident's facts for the task to be created.")
    checklist = serializers.JSONField()

    def to_representation(self, task: dict) -> dict:
        data = {name: task.get(name) for name in self.fields if not name.endswith("_localized")}
        data["depends_on"] = list(task.get("depends_on") or [])
        data["facts"] = task.get("facts") or {}
        data["checklist"] = task.get("checklist") or []
        data["deliverable"] = task.get("deliverable") or "none"
        data["title_localized"] = localized(task["title"])
        data["instructions_localized"] = localized(task["instructions"])
        return data


class PlaybookDetail(PlaybookSummary):
    versions = serializers.SerializerMethodField(help_text="Every loaded version's number, newest first.")
    tasks = serializers.SerializerMethodField()

    def get_versions(self, version: PlaybookVersion) -> list[int]:
        return list(version.playbook.versions.order_by("-number").values_list("number", flat=True))

    @extend_schema_field(PlaybookTask(many=True))
    def get_tasks(self, version: PlaybookVersion) -> list[dict]:
        return PlaybookTask(version.tasks, many=True).data
