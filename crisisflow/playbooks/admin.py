"""Admin: a read-only window on loaded playbooks.

Playbooks change only through `load_playbooks`, which checks every file and writes all
of them in one transaction. Editing a version here would change incidents that pinned
it, and switching `current_version` by hand would bypass the checker, so neither model
can be added, changed or deleted in the admin.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crisisflow.playbooks.models import Playbook, PlaybookVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(admin.TabularInline):
    model = PlaybookVersion
    fields = ("number", "content_hash", "source_path", "loaded_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Playbook)
class PlaybookAdmin(ReadOnlyAdmin):
    list_display = ("key", "current_number", "current_loaded_at")
    search_fields = ("key",)
    fields = ("key", "current_version")
    readonly_fields = fields
    inlines = [VersionInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("current_version")

    @admin.display(description=_("current version"))
    def current_number(self, playbook: Playbook) -> int | None:
        return playbook.current_version.number if playbook.current_version else None

    @admin.display(description=_("loaded at"))
    def current_loaded_at(self, playbook: Playbook):
        return playbook.current_version.loaded_at if playbook.current_version else None


@admin.register(PlaybookVersion)
class PlaybookVersionAdmin(ReadOnlyAdmin):
    list_display = ("playbook", "number", "short_hash", "is_current", "source_path", "loaded_at")
    list_filter = ("playbook",)
    search_fields = ("playbook__key", "content_hash")
    date_hierarchy = "loaded_at"
    fields = ("playbook", "number", "content_hash", "source_path", "loaded_at", "source")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("playbook")

    @admin.display(description=_("SHA-256"))
    def short_hash(self, version: PlaybookVersion) -> str:
        return version.content_hash[:12]

    @admin.display(description=_("current"), boolean=True)
    def is_current(self, version: PlaybookVersion) -> bool:
        return version.playbook.current_version_id == version.pk

    @admin.display(description=_("file text"))
    def source(self, version: PlaybookVersion) -> str:
        # format_html escapes the text; <pre> keeps the YAML's indentation readable.
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", version.source_text)
