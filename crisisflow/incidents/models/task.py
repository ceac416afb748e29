from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from crisisflow.playbooks.models import localized
from crisisflow.vocab import Deliverable, Role, Stage


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    BLOCKED = "blocked", _("Blocked")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


# A task in one of these no longer holds anything up.
FINISHED = (TaskStatus.DONE, TaskStatus.SKIPPED, TaskStatus.CANCELLED)
UNFINISHED = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.BLOCKED)


class Task(ConcurrentTransitionMixin, models.Model):
    """One piece of a playbook's work on one incident, owned by a role."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="tasks")
    key = models.CharField(_("playbook task key"), max_length=80)
    position = models.PositiveIntegerField(default=0)
    title = models.JSONField(_("title"))  # {"zh": …, "en": …}
    instructions = models.JSONField(_("instructions"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    deliverable = models.CharField(
        _("deliverable"), max_length=32, choices=Deliverable.choices, default=Deliverable.NONE
    )
    gates = models.CharField(_("gates the move into"), max_length=32, blank=True)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)  # [{"text": {…}, "done": bool}]

    status = FSMField(_("status"), default=TaskStatus.OPEN, choices=TaskStatus.choices, protected=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks"
    )
    depends_on = models.ManyToManyField("self", symmetrical=False, related_name="dependents", blank=True)

    # The deadline: anchor + offset. due_at stays empty until the anchor happens.
    anchor = models.CharField(_("due after"), max_length=96)
    offset = models.DurationField(_("due offset"))
    due_at = models.DateTimeField(_("due at"), null=True, blank=True, db_index=True)

    # The deadline engine (crisisflow.alerts): the next rung of this task's escalation
    # ladder, found by the sweep through a partial index. alert_generation changes each
    # time the ladder is rebuilt (new due time, new assignee), alert_step counts the
    # rungs fired since, alert_window_start is where "half the window" counts from.
    ladder = models.JSONField(_("escalation ladder override"), null=True, blank=True)
    next_alert_at = models.DateTimeField(null=True, blank=True)
    alert_step = models.PositiveSmallIntegerField(default=0)
    alert_generation = models.PositiveIntegerField(default=0)
    alert_window_start = models.DateTimeField(null=True, blank=True)
    # Sweeps in a row whose firing of this task's rung failed; the next try backs off.
    alert_failures = models.PositiveSmallIntegerField(default=0)

    blocked_reason = models.TextField(_("why blocked"), blank=True)
    blocked_from = models.CharField(max_length=16, blank=True)
    skip_reason = models.TextField(_("why skipped"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="task_key_once_per_incident"),
        ]
        indexes = [
            # Only tasks with an alert still to come are in it: a sweep's cost follows the
            # due rows, not the open ones.
            models.Index(
                fields=["next_alert_at"], name="task_next_alert", condition=models.Q(next_alert_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return self.title_text()

    def title_text(self) -> str:
        return localized(self.title)

    def instructions_text(self) -> str:
        return localized(self.instructions)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    def checklist_items(self) -> list[dict]:
        return [
            {"index": i, "text": localized(item["text"]), "done": bool(item.get("done"))}
            for i, item in enumerate(self.checklist)
        ]

    # --- transitions ------------------------------------------------------------------
    @transition(field=status, source=TaskStatus.OPEN, target=TaskStatus.IN_PROGRESS)
    def start(self, at):
        self.started_at = at

    @transition(field=status, source=TaskStatus.IN_PROGRESS, target=TaskStatus.DONE)
    def complete(self, at):
        self.completed_at = at

    @transition(field=status, source=[TaskStatus.OPEN, TaskStatus.IN_PROGRESS], target=TaskStatus.BLOCKED)
    def block(self, at, reason: str):
        self.blocked_from = self.status
        self.blocked_reason = reason

    @transition(field=status, source=TaskStatus.BLOCKED, target=RETURN_VALUE(TaskStatus.OPEN, TaskStatus.IN_PROGRESS))
    def unblock(self, at):
        back = self.blocked_from or TaskStatus.OPEN
        self.blocked_from = ""
        self.blocked_reason = ""
        return back

    @transition(field=status, source=list(UNFINISHED), target=TaskStatus.SKIPPED)
    def skip(self, at, reason: str):
        self.skip_reason = reason
        self.completed_at = at

    @transition(field=status, source=list(UNFINISHED), target=TaskStatus.CANCELLED)
    def cancel(self, at):
        self.completed_at = at
