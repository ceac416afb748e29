"""CrisisFlow's own settings: one namespaced dict, settings.CRISISFLOW, defaults here."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "REFERENCE_PREFIX": "CF",
    "PLAYBOOK_DIR": str(settings.BASE_DIR / "playbooks"),
    # How often beat runs the deadline sweep (seconds).
    "SWEEP_SECONDS": 5.0,
    # Most due rows one sweep claims before it lets the next sweep carry on.
    "SWEEP_BATCH": 2000,
    # The default escalation ladder of a task (a playbook task may override any key).
    "TASK_LADDER": {
        "remind_at_half": True,
        "remind_before": [15 * 60],
        "escalate_after": {"commander": 30 * 60, "executive": 2 * 3600},
    },
    # The golden clock's ladder.
    "CLOCK_LADDER": {
        "warn_before": [2 * 3600, 3600, 30 * 60],
        "warn_to": ["pr_lead", "legal_lead", "commander"],
        "expired_to": ["executive", "commander"],
    },
    # Delivery: a claimed row not finished within the lease is tried again; a queued
    # row not claimed within REDRIVE_AFTER is queued again (a lost broker message).
    "DELIVERY_LEASE_SECONDS": 60.0,
    "DELIVERY_REDRIVE_AFTER_SECONDS": 30.0,
    # Waits between attempts after a transient failure; one attempt more than waits.
    "DELIVERY_RETRY_SECONDS": [10, 30, 120, 600],
    "WEBHOOK_TIMEOUT_SECONDS": 10.0,
    # One message per target and channel for everything one sweep fires (outbox.gather);
    # off: one message per rung.
    "DIGESTS": True,
    # Largest evidence attachment accepted.
    "EVIDENCE_MAX_BYTES": 10 * 1024 * 1024,
}


def setting(name: str) -> Any:
    return getattr(settings, "CRISISFLOW", {}).get(name, DEFAULTS[name])
