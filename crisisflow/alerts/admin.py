"""Admin: team webhooks are set up here; the outbox is shown, never edited (a row's state
is the delivery workers' business, and its history is on the incident's timeline)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crisisflow.alerts import webhook_client
from crisisflow.alerts.models import Notification, WebhookEndpoint
from crisisflow.conf import setting

ADDRESS_KINDS = {
    "loopback": _("a loopback address"),
    "private": _("a private address"),
    "link-local": _("a link-local address"),
    "multicast": _("a multicast address"),
    "reserved": _("a reserved address"),
}


class WebhookEndpointForm(forms.ModelForm):
    # Chat platforms only take https; say so rather than guess http for a bare host.
    url = forms.URLField(
        label=_("URL"), max_length=WebhookEndpoint._meta.get_field("url").max_length, assume_scheme="https"
    )
    # The secret is never sent back to the browser: left empty, the current one stays.
    secret = forms.CharField(
        label=_("signing secret"),
        required=False,
        max_length=WebhookEndpoint._meta.get_field("secret").max_length,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "HMAC key for generic webhooks; the bot's signing secret for DingTalk and Feishu. "
            "Leave empty to keep the current one."
        ),
    )
    clear_secret = forms.BooleanField(label=_("remove the signing secret"), required=False)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "name",
            "format",
            "url",
            "secret",
            "active",
            "escalations_only",
            "min_severity",
            "restricted_incidents",
        ]

    def clean_url(self) -> str:
        """The same check as before every delivery: a URL that would be refused then is
        refused now, with the reason."""
        url = self.cleaned_data["url"]
        try:
            webhook_client.target(url, allow_private=bool(setting("WEBHOOK_ALLOW_PRIVATE")))
        except webhook_client.Refused as err:
            if err.kind:
                raise forms.ValidationError(
                    _(
                        "%(host)s resolves to %(address)s, %(kind)s. Webhooks may only go to public "
                        "addresses (CRISISFLOW_WEBHOOK_ALLOW_PRIVATE allows others, for local development)."
                    )
                    % {"host": err.host, "address": err.address, "kind": ADDRESS_KINDS.get(err.kind, err.kind)}
                    if err.host != err.address
                    else _(
                        "%(address)s is %(kind)s. Webhooks may only go to public addresses "
                        "(CRISISFLOW_WEBHOOK_ALLOW_PRIVATE allows others, for local development)."
                    )
                    % {"address": err.address, "kind": ADDRESS_KINDS.get(err.kind, err.kind)},
                    code="private_address",
                ) from err
            raise forms.ValidationError(
                _("This URL cannot be called: %(reason)s") % {"reason": err.reason}, code="bad_url"
            ) from err
        except webhook_client.Unresolvable as err:
            raise forms.ValidationError(
                _("The host name of this URL cannot be resolved: %(reason)s") % {"reason": err},
                code="unresolvable",
            ) from err
        return url

    def clean(self):
        data = super().clean()
        if data.get("clear_secret"):
            data["secret"] = ""
        elif not data.get("secret") and self.instance.pk:
            data["secret"] = self.instance.secret
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    fields = [
        "name",
        "format",
        "url",
        "secret",
        "clear_secret",
        "active",
        "escalations_only",
        "min_severity",
        "restricted_incidents",
    ]
    list_display = (
        "name",
        "format",
        "active",
        "escalations_only",
        "min_severity",
        "restricted_incidents",
        "has_secret",
    )
    list_filter = ("format", "active", "escalations_only")
    search_fields = ("name",)

    @admin.display(boolean=True, description=_("signed"))
    def has_secret(self, endpoint: WebhookEndpoint) -> bool:
        return bool(endpoint.secret)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "incident",
        "kind",
        "rung",
        "channel",
        "target",
        "state",
        "attempts",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("state", "channel", "kind")
    search_fields = ("incident__reference", "target", "source", "last_error")
    list_select_related = ("incident",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
