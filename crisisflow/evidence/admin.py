"""Evidence in the admin: to read, never to change or delete (evidence is evidence)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crisisflow.evidence.models import Attachment


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ("original_name", "incident", "kind", "content_type", "size", "uploaded_by", "uploaded_at")
    list_filter = ("kind", "content_type")
    search_fields = ("incident__reference", "original_name", "sha256", "caption")
    list_select_related = ("incident", "uploaded_by")
    # The stored file's own link would point at MEDIA_URL, which nothing serves; the
    # download goes through the view that checks who may see the incident.
    fields = (
        "incident",
        "original_name",
        "download",
        "kind",
        "content_type",
        "size",
        "sha256",
        "caption",
        "uploaded_by",
        "uploaded_at",
    )
    readonly_fields = fields

    @admin.display(description=_("file"))
    def download(self, obj: Attachment):
        url = reverse("evidence-file", args=[obj.incident.reference, obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("open"))

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
