"""CrisisFlow's own settings: one namespaced dict, settings.CRISISFLOW, defaults here."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "REFERENCE_PREFIX": "CF",
    # How often beat asks the worker to prove it is alive (seconds); three missed
    # heartbeats (and at least 30 s) and commanders are told the worker is down.
    "HEARTBEAT_SECONDS": 10.0,
    "PLAYBOOK_DIR": str(settings.BASE_DIR / "playbooks"),
    # Largest playbook file read; a larger one is an error, not read past the limit.
    "PLAYBOOK_MAX_BYTES": 256 * 1024,
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
    # The golden clock before a playbook is pinned: seconds from the outbreak to the
    # first public statement, per severity (a severity not listed has no clock until a
    # plan gives it one). A pinned playbook's first_statement_within rules after that.
    "GOLDEN_CLOCK_SECONDS": {"critical": 4 * 3600, "high": 4 * 3600},
    # A report must be confirmed or dismissed within this many seconds of reporting.
    "TRIAGE_SECONDS": 30 * 60,
    "TRIAGE_LADDER": {
        "warn_before": [10 * 60],
        "remind_after": [30 * 60, 60 * 60],
        "to": ["duty_commanders"],
    },
    # A deadline whose firing fails backs off: the first retry after this many seconds,
    # doubling each time up to the cap, so a broken row never heads every sweep.
    "SWEEP_BACKOFF_SECONDS": 60,
    "SWEEP_BACKOFF_MAX_SECONDS": 3600,
    # The golden clock's ladder.
    "CLOCK_LADDER": {
        "warn_before": [2 * 3600, 3600, 30 * 60],
        "warn_to": ["pr_lead", "legal_lead", "commander"],
        "expired_to": ["executive", "commander"],
    },
    # A statement's approval not given by its deadline: the leads of the roles still
    # missing are told this long after it, the commander this long after it.
    "APPROVAL_LADDER": {"lead_after": 15 * 60, "commander_after": 30 * 60},
    # Delivery: a claimed row not finished within the lease is tried again; a queued
    # row not claimed within REDRIVE_AFTER is queued again (a lost broker message).
    "DELIVERY_LEASE_SECONDS": 60.0,
    "DELIVERY_REDRIVE_AFTER_SECONDS": 30.0,
    # Waits between attempts after a transient failure; one attempt more than waits.
    "DELIVERY_RETRY_SECONDS": [10, 30, 120, 600],
    "WEBHOOK_TIMEOUT_SECONDS": 10.0,
    # Webhooks to loopback, private, link-local, multicast or reserved addresses are
    # refused unless this is on (local development and tests).
    "WEBHOOK_ALLOW_PRIVATE": False,
    # One message per target and channel for everything one sweep fires (outbox.gather);
    # off: one message per rung.
    "DIGESTS": True,
    # Largest evidence attachment accepted.
    "EVIDENCE_MAX_BYTES": 10 * 1024 * 1024,
    # Folders (or single files) of extra statement-linter word lists, read after the
    # built-in ones in crisisflow/statements/lint/data/ (README: "The statement linter").
    "LINT_EXTRA_DIRS": [],
    # Subscribers to public notices (crisisflow.subscribers). A confirmation link works
    # this long; an SMS code this long.
    "SUBSCRIBE_CONFIRM_SECONDS": 3 * 24 * 3600,
    "SUBSCRIBE_CODE_SECONDS": 15 * 60,
    # Subscription requests per network address, and per target (the e-mail address,
    # URL or number asked for): sliding windows in the cache, like API_RATES.
    "SUBSCRIBE_RATES": {"address": "20/hour", "target": "3/hour"},
    # Subscribers written to the outbox per transaction of a fan-out, and how long a
    # worker's hold on a fan-out lasts (a dead worker's is taken over after it).
    "SUBSCRIBER_FANOUT_CHUNK": 5000,
    "SUBSCRIBER_FANOUT_LEASE_SECONDS": 60.0,
    # How long the subscribers who read the other language (zh-Hans / English) wait for
    # their version of a public statement while it is being written or approved, so they
    # get one message in their own language; the readers of the published language never
    # wait (0: nobody waits). Short: those who wait hear nothing meanwhile.
    "SUBSCRIBER_PAIRING_SECONDS": 300.0,
    # The SMS gateway (crisisflow.subscribers.sms): {} means no SMS subscriptions.
    "SMS_GATEWAY": {},
    # Where public notices are written as static files (HTML and feeds) for a reverse
    # proxy or CDN to serve, also while the app is down (README: "Public notices").
    "NOTICE_DIR": str(settings.BASE_DIR / "var" / "notices"),
    # How long a web process trusts what it knows of a notice's address before asking
    # the database again (seconds; 0: every request asks).
    "NOTICE_STAMP_SECONDS": 1.0,
    # API rate limits (crisisflow.api.throttles), sliding windows kept in the cache.
    # "<scope>" counts per person, "<scope>_address" per network address (a whole
    # office behind one address, hence the larger figure). Generous: a crisis team
    # working flat out, or a script polling every second, stays well below them.
    # Settings and CRISISFLOW_API_RATES override single keys; unknown keys are refused.
    "API_RATES": {
        # Failed API authentications (wrong password, unknown or revoked token).
        "auth_failures": "20/10min",
        "report": "120/hour",
        "report_address": "600/hour",
        "steps": "600/hour",
        "steps_address": "3000/hour",
        "timeline": "3600/hour",
        "timeline_address": "18000/hour",
        "list": "3600/hour",
        "list_address": "18000/hour",
        # A review's Markdown or PDF (about a second of WeasyPrint each) and the analytics.
        "export": "120/hour",
        "export_address": "600/hour",
        "analytics": "600/hour",
        "analytics_address": "3000/hour",
        # Signed batches of early-warning data (crisisflow.watch), per data source: a
        # provider pushing every few seconds fits; a runaway loop does not.
        "watch_batches": "120/min",
    },
}


def setting(name: str) -> Any:
    return getattr(settings, "CRISISFLOW", {}).get(name, DEFAULTS[name])


def unknown_keys() -> list[str]:
    """Keys of settings.CRISISFLOW that no default names: a typo would otherwise be
    silently ignored (see the system check in crisisflow.incidents.apps)."""
    return sorted(set(getattr(settings, "CRISISFLOW", {})) - set(DEFAULTS))
