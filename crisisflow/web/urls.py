from django.contrib.auth import views as auth_views
from django.urls import include, path

from crisisflow.evidence import views as evidence
from crisisflow.watch import brand_views
from crisisflow.watch.urls import web_patterns as watch
from crisisflow.web import board, dashboard, playbooks, tokens, views
from crisisflow.web.forms import SignInForm

incident = "incidents/<str:reference>/"
task = incident + "tasks/<int:task_id>/"

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=SignInForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # POST only
    path("", dashboard.show_dashboard, name="dashboard"),
    path("my/tasks/", dashboard.my_tasks, name="my-tasks"),
    path("live/", dashboard.page_changes, name="live"),
    path("live/dashboard/<slug:region>/", dashboard.dashboard_region, name="dashboard-live"),
    path("live/my-tasks/", dashboard.my_tasks_region, name="my-tasks-live"),
    path("incidents/", views.list_incidents, name="incident-list"),
    path("notifications/", views.list_notifications, name="notifications"),
    path("notifications/read/", views.read_all_notifications, name="notifications-read-all"),
    path("notifications/<int:notification_id>/read/", views.read_notification, name="notification-read"),
    path("me/", views.edit_preferences, name="preferences"),
    path("me/tokens/", tokens.create_api_token, name="api-token-create"),
    path("me/tokens/<int:token_id>/revoke/", tokens.revoke_api_token, name="api-token-revoke"),
    path("playbooks/", playbooks.list_playbooks, name="playbooks"),
    path("board/", board.show_board, name="board"),
    path("board/assign/", board.assign_selected, name="board-assign"),
    path("board/<str:reference>/team/accept/", board.accept_team, name="board-team-accept"),
    path("board/<str:reference>/team/replace/", board.replace_role, name="board-team-replace"),
    path("rosters/", board.show_rosters, name="rosters"),
    path("rosters/add/", board.add_to_roster, name="roster-add"),
    path("rosters/<int:entry_id>/rank/", board.set_rank, name="roster-rank"),
    path("rosters/<int:entry_id>/move/", board.move_entry, name="roster-move"),
    path("rosters/<int:entry_id>/remove/", board.remove_entry, name="roster-remove"),
    path("playbooks/<slug:key>/", playbooks.show_playbook, name="playbook-detail"),
    path("incidents/new/", views.report_incident, name="incident-report"),
    path(incident, views.show_incident, name="incident-detail"),
    path(incident + "live/", dashboard.incident_changes, name="incident-changes"),
    path(incident + "live/<slug:region>/", dashboard.incident_region, name="incident-live"),
    path(incident + "advance/", views.advance_incident, name="incident-advance"),
    path(incident + "severity/", views.change_severity, name="incident-severity"),
    path(incident + "scope/", views.update_scope, name="incident-scope"),
    path(incident + "brand/", brand_views.set_brand, name="incident-brand"),
    path(incident + "outbreak/", views.correct_outbreak_time, name="incident-outbreak"),
    path(incident + "notes/", views.add_note, name="incident-note"),
    path(incident + "timeline/", views.timeline, name="incident-timeline"),
    path(incident + "evidence/", views.attach_evidence, name="evidence-attach"),
    path(incident + "evidence/<int:attachment_id>/", evidence.serve, name="evidence-file"),
    path(incident + "team/accept/", views.accept_team, name="team-accept"),
    path(incident + "team/add/", views.add_team_member, name="team-add"),
    path(incident + "team/hand-over/", views.hand_over_command, name="hand-over"),
    path(incident + "tasks/stage/<slug:stage>/", views.task_stage, name="task-stage"),
    path(incident + "team/<int:member_id>/remove/", views.remove_team_member, name="team-remove"),
    path(task + "start/", views.start_task, name="task-start"),
    path(task + "done/", views.complete_task, name="task-done"),
    path(task + "block/", views.block_task, name="task-block"),
    path(task + "unblock/", views.unblock_task, name="task-unblock"),
    path(task + "skip/", views.skip_task, name="task-skip"),
    path(task + "assign/", views.assign_task, name="task-assign"),
    path(task + "tick/", views.tick_checklist, name="task-tick"),
    path(task + "comment/", views.comment_on_task, name="task-comment"),
    # The Statements tab of an incident: fact sheet, message set, editor, versions.
    path("", include("crisisflow.statements.urls")),
    # Public notices (no sign-in) and the commander's notice settings.
    path("", include("crisisflow.notices.urls")),
    # The commitments ledger.
    path("", include("crisisflow.commitments.urls")),
    *watch,
    # The review of an incident, its exports and share links, and analytics.
    path("", include("crisisflow.reviews.urls")),
]
