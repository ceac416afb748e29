from django.urls import path

from crisisflow.subscribers import views

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", views.confirm, name="subscribe-confirm"),
    path("subscribe/code/<str:token>/", views.code, name="subscribe-code"),
    path("subscribe/notice/<str:reference>/", views.subscribe, name="subscribe-notice"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
