from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from crisisflow.people.models import RosterEntry, User


class ReadOnly:
    """Rosters change only through the roster use cases (the /rosters/ page), which keep
    the order of each rank and record who changed what; the admin shows them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RosterInline(ReadOnly, admin.TabularInline):
    model = RosterEntry
    fk_name = "user"  # not updated_by, the audit field
    extra = 0
    fields = ("role", "rank", "position", "updated_by", "updated_at")
    readonly_fields = fields


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("CrisisFlow"), {"fields": ("display_name", "language", "time_zone", "phone")}),
    )
    list_display = ("username", "display_name", "email", "language", "time_zone", "is_staff")
    inlines = [RosterInline]


@admin.register(RosterEntry)
class RosterEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("role", "user", "rank", "position")
    list_filter = ("role", "rank")
