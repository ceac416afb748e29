from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crisisflow.api import tokens
from crisisflow.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made by their owner (/me/) or `manage.py create_api_token`, where the
    token can be shown once; here they can only be looked at and revoked."""

    list_display = ("name", "user", "display", "scope", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix", "user__username", "user__display_name")
    readonly_fields = [field.name for field in ApiToken._meta.fields if field.name != "digest"]
    exclude = ("digest",)
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoked tokens stay, so their use can be traced

    @admin.action(description=_("Revoke the selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        ids = list(queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True))
        for token_id in ids:
            tokens.revoke_token(request.user, token_id)
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", len(ids)) % {"count": len(ids)},
            messages.SUCCESS,
        )
