"""The review pages (included by crisisflow.web.urls)."""

from django.urls import path

from crisisflow.reviews import views

app_name = "reviews"

base = "incidents/<str:reference>/review/"

urlpatterns = [
    path(base, views.show_review, name="show"),
    path(base + "edit/", views.edit_review, name="edit"),
    path(base + "sign/", views.sign_review, name="sign"),
    path(base + "items/", views.add_item, name="add-item"),
    path(base + "items/<int:item_id>/change/", views.change_item, name="change-item"),
    path(base + "items/<int:item_id>/finish/", views.finish_item, name="finish-item"),
    path(base + "share/", views.share, name="share"),
    path(base + "export.<str:fmt>", views.export_review, name="export"),
    path("shared/reviews/<str:token>/", views.shared_review, name="shared"),
    path("analytics/", views.show_analytics, name="analytics"),
    path("analytics.csv", views.analytics_csv, name="analytics-csv"),
]
