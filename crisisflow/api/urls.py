from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from crisisflow.api import views
from crisisflow.commitments import api as commitments
from crisisflow.notices import api as notices
from crisisflow.reviews import api as reviews
from crisisflow.statements import api as statements
from crisisflow.statements import flow_api
from crisisflow.subscribers import api as subscribers_api
from crisisflow.watch import api as watch
from crisisflow.watch import brand_api as watch_brands

app_name = "api"

incident = "incidents/<str:reference>/"
task = "tasks/<int:task_id>/"

urlpatterns = [
    path("incidents/", views.incidents, name="incident-list"),
    path(incident, views.incident, name="incident-detail"),
    path(incident + "steps/<str:step>/", views.advance, name="incident-step"),
    path(incident + "severity/", views.change_severity, name="incident-severity"),
    path(incident + "outbreak/", views.correct_outbreak_time, name="incident-outbreak"),
    path(incident + "notes/", views.add_note, name="incident-notes"),
    path(incident + "timeline/", views.timeline, name="incident-timeline"),
    path(incident + "command/", views.hand_over_command, name="incident-command"),
    path(incident + "evidence/", views.Evidence.as_view(), name="incident-evidence"),
    path(incident + "evidence/<int:attachment_id>/", views.evidence_file, name="evidence-file"),
    path(incident + "team/", views.team, name="incident-team"),
    path(incident + "team/accept/", views.accept_team, name="team-accept"),
    path("team-members/<int:member_id>/", views.remove_team_member, name="team-member"),
    path("tasks/assign/", views.assign_tasks, name="tasks-assign"),
    path(task, views.task, name="task-detail"),
    path(task + "start/", views.start_task, name="task-start"),
    path(task + "complete/", views.complete_task, name="task-complete"),
    path(task + "block/", views.block_task, name="task-block"),
    path(task + "unblock/", views.unblock_task, name="task-unblock"),
    path(task + "skip/", views.skip_task, name="task-skip"),
    path(task + "assign/", views.assign_task, name="task-assign"),
    path(task + "checklist/", views.tick_checklist, name="task-checklist"),
    path(task + "comments/", views.task_comments, name="task-comments"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.read_all_notifications, name="notifications-read-all"),
    path("notifications/<int:notification_id>/read/", views.read_notification, name="notification-read"),
    path("playbooks/", views.playbooks, name="playbooks"),
    path("playbooks/<slug:key>/", views.playbook, name="playbook-detail"),
    # The fact sheet, statements and their versions (crisisflow.statements.api).
    *statements.urlpatterns,
    path("watch/batches/", watch.batches, name="watch-batches"),
    # Approvals and publishing (crisisflow.statements.flow_api).
    *flow_api.urlpatterns,
    # Public subscriptions to notices (no sign-in).
    *subscribers_api.urlpatterns,
    # Public notices and the commitments ledger.
    *notices.urlpatterns,
    *commitments.urlpatterns,
    # Post-mortem reviews and the analytics, and the brand an incident is about.
    *reviews.urlpatterns,
    *watch_brands.urlpatterns,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.Docs.as_view(), name="docs"),
]
