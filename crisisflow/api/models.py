"""API tokens: what a program shows instead of a password.

Only the SHA-256 digest of a token is stored. A token is a long random secret, so a
fast hash is enough (a slow password hash protects guessable passwords; nobody guesses
256 random bits), and checking one costs microseconds instead of the second a password
costs. The short prefix is not secret: it finds the row and tells the owner which token
is which.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("person")
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    digest = models.CharField(_("SHA-256 digest"), max_length=64)
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    # Written at most once a minute per token (see tokens.LAST_USED_EVERY), not per request.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} (cf_{self.prefix}…)"

    @property
    def display(self) -> str:
        """How the token is shown after creation: its prefix, never the secret."""
        return f"cf_{self.prefix}_…"

    def is_active(self, at) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)

    @property
    def allows_writes(self) -> bool:
        return self.scope == self.Scope.WRITE
