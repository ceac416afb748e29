"""Public notice addresses (no sign-in) and the commander's notice settings."""

from django.urls import path

from crisisflow.notices import views

app_name = "notices"

urlpatterns = [
    path("notice/", views.index, name="index"),
    path("notice/feed.atom", views.index_atom, name="index-atom"),
    path("notice/feed.json", views.index_json, name="index-json"),
    path("notice/<slug:slug>/", views.notice_page, name="page"),
    path("notice/<slug:slug>/feed.atom", views.notice_atom, name="atom"),
    path("notice/<slug:slug>/feed.json", views.notice_json, name="json"),
    path("incidents/<str:reference>/notice/", views.settings_page, name="settings"),
    path("incidents/<str:reference>/notice/off/", views.turn_off, name="off"),
    path("incidents/<str:reference>/notice/drill/", views.drill, name="drill"),
]
