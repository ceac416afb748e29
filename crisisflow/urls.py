from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", include("crisisflow.api.urls")),
    path("", include("crisisflow.subscribers.urls")),
    path("", include("crisisflow.web.urls")),
]

# Unmatched addresses under /api/ answer in the API's JSON error shape.
handler404 = "crisisflow.api.errors.not_found"
