"""API tokens: create, revoke, and find the token a request shows.

One function per use case; the /me/ page, `manage.py create_api_token` and the admin
all call these. A token looks like ``cf_<prefix>_<secret>``: the prefix (not secret)
finds the row, the SHA-256 digest of the whole token proves it. The token itself is
returned once, by create_token, and stored nowhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.api.models import ApiToken
from crisisflow.incidents.errors import Invalid, NotFound
from crisisflow.people.models import User

PREFIX_ALPHABET = string.ascii_letters + string.digits
PREFIX_LENGTH = 10
# 32 random bytes: far beyond guessing, which is why one SHA-256 is enough at rest.
SECRET_BYTES = 32
MAX_EXPIRY_DAYS = 3650
# Recording every use would write a row per request; once a minute is enough to tell
# a token in use from a forgotten one.
LAST_USED_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _clean_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise Invalid(_("Give the token a name, e.g. the program that will use it."), field="name")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise Invalid(_("The name is too long (at most 100 characters)."), field="name")
    return name


def _clean_scope(scope: str) -> str:
    if scope not in ApiToken.Scope.values:
        raise Invalid(_("The scope must be “read” or “write”."), field="scope")
    return scope


def _clean_expiry(days: int | None) -> timedelta | None:
    if days is None:
        return None
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise Invalid(
            _("A token expires after 1 to %(max)d days, or never.") % {"max": MAX_EXPIRY_DAYS}, field="expires_in_days"
        )
    return timedelta(days=days)


def create_token(user: User, *, name: str, scope: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for `user` (for themselves: whoever calls this has checked that).

    Returns the row and the token itself, which is shown to the person once and never
    again: only its digest is kept.
    """
    if not user.is_authenticated or not user.is_active:
        raise Invalid(_("Only an active person can have API tokens."), field="user")
    name, scope, lifetime = _clean_name(name), _clean_scope(scope), _clean_expiry(expires_in_days)
    now = clock.now()
    for _attempt in range(3):  # a repeated prefix is about 1 in 10^17; try again rather than fail
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        token = f"cf_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        try:
            with transaction.atomic():
                row = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    digest=digest(token),
                    scope=scope,
                    created_at=now,
                    expires_at=now + lifetime if lifetime else None,
                )
        except IntegrityError:
            continue
        return row, token
    raise RuntimeError("could not find an unused token prefix")


def may_revoke(actor: User, token: ApiToken) -> bool:
    """The owner, or an administrator who may change tokens (the admin site)."""
    return actor.is_authenticated and (token.user_id == actor.pk or actor.has_perm("api.change_apitoken"))


def revoke_token(actor: User, token_id: int) -> ApiToken:
    """Revoke a token at once; requests showing it are refused from now on.

    Someone else's token is "not found" to a person who may not revoke it, so token ids
    reveal nothing. Revoking a revoked token changes nothing.
    """
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None or not may_revoke(actor, token):
            raise NotFound(_("No such API token."))
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            token.revoked_by = actor
            token.save(update_fields=["revoked_at", "revoked_by"])
    return token


def tokens_of(user: User):
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def looks_like_token(raw: str) -> bool:
    return raw.startswith("cf_")


def find_token(raw: str) -> ApiToken | None:
    """The active token `raw` is, with its user; None for an unknown, revoked or expired
    one, or one whose owner's account is switched off."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != "cf" or len(parts[1]) != PREFIX_LENGTH:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.digest, digest(raw)):
        return None
    now = clock.now()
    if not token.is_active(now) or not token.user.is_active:
        return None
    _note_use(token, now)
    return token


def _note_use(token: ApiToken, now) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    # Conditional, so concurrent requests in the same minute write once between them.
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
    ).update(last_used_at=now)
    token.last_used_at = now
