"""What a use case says when it refuses. Views and the API map these to HTTP codes."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class CrisisFlowError(Exception):
    status = 400

    def __init__(self, message, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class Invalid(CrisisFlowError):
    """Bad input: says which field and what is wrong with it."""

    status = 400


class NotFound(CrisisFlowError):
    """No such object, or one the person may not know exists (restricted incidents)."""

    status = 404

    def __init__(self, message=None, **kwargs):
        super().__init__(message or _("Not found."), **kwargs)


class Forbidden(CrisisFlowError):
    status = 403


class Conflict(CrisisFlowError):
    """Someone else changed the object since the person loaded it."""

    status = 409


class Blocked(CrisisFlowError):
    """A step whose gate conditions do not hold yet; `blockers` says what is missing."""

    status = 409

    def __init__(self, step_label, blockers: list[str]):
        self.blockers = [str(b) for b in blockers]
        super().__init__(f"{step_label}: " + "; ".join(self.blockers))


def stale_incident_error() -> Conflict:
    return Conflict(_("Someone else changed this incident; reload the page and try again."))


def stale_task_error(who: str | None = None) -> Conflict:
    if who:
        return Conflict(_("This task was changed by %(who)s; reload the page and try again.") % {"who": who})
    return Conflict(_("Someone else changed this task; reload the page and try again."))
