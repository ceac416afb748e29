from crisisflow.incidents.models.event import AppendOnlyError, Event, TimelineHead
from crisisflow.incidents.models.heartbeat import Heartbeat
from crisisflow.incidents.models.incident import Incident, ReferenceCounter
from crisisflow.incidents.models.task import Task, TaskStatus
from crisisflow.incidents.models.team import TeamMember

__all__ = [
    "AppendOnlyError",
    "Event",
    "Heartbeat",
    "Incident",
    "ReferenceCounter",
    "Task",
    "TaskStatus",
    "TeamMember",
    "TimelineHead",
]
