"""CrisisFlow's own settings: one namespaced dict, settings.CRISISFLOW, defaults here."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "REFERENCE_PREFIX": "CF",
    "PLAYBOOK_DIR": str(settings.BASE_DIR / "playbooks"),
}


def setting(name: str) -> Any:
    return getattr(settings, "CRISISFLOW", {}).get(name, DEFAULTS[name])
