import json

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crisisflow.subscribers import privacy
from crisisflow.subscribers.models import Consent, Subscriber


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    can_delete = False
    fields = ["action", "at", "scope", "network_address", "wording_version", "language", "wording"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "address", "scope", "language", "state", "created_at", "confirmed_at"]
    list_filter = ["kind", "state", "language"]
    search_fields = ["address"]
    readonly_fields = [f.name for f in Subscriber._meta.fields if f.name != "id"]
    exclude = ["secret"]
    inlines = [ConsentInline]
    actions = ["export_data", "erase_data"]

    def has_add_permission(self, request):
        return False  # only the person themselves subscribes (consent)

    @admin.action(description=_("Export the selected subscribers' data (JSON)"))
    def export_data(self, request, queryset):
        addresses = sorted({s.address for s in queryset})
        data = [privacy.export(a) for a in addresses]
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="subscriber-data.json"'
        return response

    @admin.action(description=_("Erase the selected subscribers and all their data"), permissions=["delete"])
    def erase_data(self, request, queryset):
        counts = privacy.erase_subscribers(list(queryset))
        self.message_user(
            request,
            ngettext(
                "Erased %(n)d subscription and its data.",
                "Erased %(n)d subscriptions and their data.",
                counts["subscriptions"],
            )
            % {"n": counts["subscriptions"]},
            messages.SUCCESS,
        )
