"""What this app needs to know about public notices, in one place (the notices app owns
them: a notice's address is its chosen or random slug, and only a notice the commander
turned on — never a drill's — can be followed or tells its followers anything)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from crisisflow.notices.models import PublicNotice


def _open_notices():
    return PublicNotice.objects.filter(enabled=True, drill=False)


def notice_path(reference: str) -> str:
    """The public notice page of the incident with this reference (the index of notices
    if it has none open)."""
    notice = _open_notices().filter(incident__reference=reference).only("slug").first()
    if notice is None:
        return reverse("notices:index")
    return reverse("notices:page", args=[notice.slug])


def notice_url(reference: str) -> str:
    return settings.SITE_URL.rstrip("/") + notice_path(reference)


def index_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("notices:index")


def open_to_subscribers(incident) -> bool:
    """May the public follow this incident's notice, and does a publication tell them?
    Only while its notice is on and it is no drill: nothing of an incident goes to the
    public unless its commander opened a notice for it."""
    return _open_notices().filter(incident=incident).exists()
