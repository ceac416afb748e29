"""Admin for every incident model. The timeline is read-only there as everywhere."""

from __future__ import annotations

from django.contrib import admin

from crisisflow.incidents.models import Event, Heartbeat, Incident, ReferenceCounter, Task, TeamMember


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TeamInline(admin.TabularInline):
    model = TeamMember
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    """Incidents change only through the use cases (so every change is on the timeline);
    the admin shows them."""

    list_display = ("reference", "title", "crisis_type", "severity", "state", "commander", "detected_at")
    list_filter = ("state", "severity", "crisis_type", "restricted")
    search_fields = ("reference", "title")
    inlines = [TeamInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("incident", "key", "role", "stage", "status", "assignee", "due_at")
    list_filter = ("status", "role", "stage")
    search_fields = ("incident__reference", "key")


@admin.register(TeamMember)
class TeamMemberAdmin(ReadOnlyAdmin):
    list_display = ("incident", "user", "role", "is_lead", "added_at")
    list_filter = ("role",)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("incident", "seq", "at", "actor", "kind")
    list_filter = ("kind",)
    search_fields = ("incident__reference",)


@admin.register(ReferenceCounter)
class ReferenceCounterAdmin(ReadOnlyAdmin):
    list_display = ("year", "last")


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "last_seen")
