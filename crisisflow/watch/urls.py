"""The early-warning pages, listed in crisisflow.web.urls (so the route checks see them)."""

from django.urls import path

from crisisflow.watch import views

web_patterns = [
    path("watch/", views.watch_page, name="watch"),
    path("watch/upload/", views.upload, name="watch-upload"),
    path("watch/points/", views.add_point, name="watch-point-add"),
    path("watch/rules/quiet/", views.quiet_rule, name="watch-rule-quiet"),
]
