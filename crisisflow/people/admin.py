from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from crisisflow.people.models import RosterEntry, User


class RosterInline(admin.TabularInline):
    model = RosterEntry
    fk_name = "user"  # not updated_by, the audit field
    extra = 0
    readonly_fields = ("updated_by", "updated_at")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("CrisisFlow"), {"fields": ("display_name", "language", "time_zone", "phone")}),
    )
    list_display = ("username", "display_name", "email", "language", "time_zone", "is_staff")
    inlines = [RosterInline]


@admin.register(RosterEntry)
class RosterEntryAdmin(admin.ModelAdmin):
    list_display = ("role", "user", "rank", "position")
    list_filter = ("role", "rank")
