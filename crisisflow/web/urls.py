from django.contrib.auth import views as auth_views
from django.urls import path

from crisisflow.web import views

incident = "incidents/<str:reference>/"
task = incident + "tasks/<int:task_id>/"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # POST only
    path("", views.list_incidents, name="incident-list"),
    path("notifications/", views.list_notifications, name="notifications"),
    path("notifications/read/", views.read_all_notifications, name="notifications-read-all"),
    path("notifications/<int:notification_id>/read/", views.read_notification, name="notification-read"),
    path("me/", views.edit_preferences, name="preferences"),
    path("incidents/new/", views.report_incident, name="incident-report"),
    path(incident, views.show_incident, name="incident-detail"),
    path(incident + "advance/", views.advance_incident, name="incident-advance"),
    path(incident + "severity/", views.change_severity, name="incident-severity"),
    path(incident + "scope/", views.update_scope, name="incident-scope"),
    path(incident + "notes/", views.add_note, name="incident-note"),
    path(incident + "team/accept/", views.accept_team, name="team-accept"),
    path(incident + "team/add/", views.add_team_member, name="team-add"),
    path(incident + "team/<int:member_id>/remove/", views.remove_team_member, name="team-remove"),
    path(task + "start/", views.start_task, name="task-start"),
    path(task + "done/", views.complete_task, name="task-done"),
    path(task + "block/", views.block_task, name="task-block"),
    path(task + "unblock/", views.unblock_task, name="task-unblock"),
    path(task + "skip/", views.skip_task, name="task-skip"),
    path(task + "assign/", views.assign_task, name="task-assign"),
    path(task + "tick/", views.tick_checklist, name="task-tick"),
]
