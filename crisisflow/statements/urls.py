"""The statement pages of an incident (included by crisisflow.web.urls)."""

from django.urls import path

from crisisflow.statements import flow_views, views
from crisisflow.statements.lint_views import lint_fragment

app_name = "statements"

base = "incidents/<str:reference>/statements/"
statement = base + "<int:statement_id>/"

urlpatterns = [
    path(base, views.statement_list, name="list"),
    path(base + "draft/", views.draft_message_set, name="draft-set"),
    path(base + "new/", views.new_statement, name="create"),
    path(base + "facts/", views.fact_sheet, name="facts"),
    path("incidents/<str:reference>/statements/lint/", lint_fragment, name="lint"),
    path(statement, views.edit_statement, name="edit"),
    path(statement + "versions/", views.version_list, name="versions"),
    path(statement + "diff/", views.version_diff, name="diff"),
    # Approval and publishing (flow_views).
    path(statement + "request-approval/", flow_views.request_approval, name="request"),
    path(statement + "approve/", flow_views.approve, name="approve"),
    path(statement + "reject/", flow_views.reject, name="reject"),
    path(statement + "publish/", flow_views.publish, name="publish"),
]
