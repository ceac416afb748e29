"""An incident with a full crisis team and a fact sheet, for the statements tests."""

from __future__ import annotations

from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident
from crisisflow.vocab import Role, State
from tests.conftest import Personas
from tests.flows import report, walk_to


def team_incident(people: Personas, **fields) -> Incident:
    """An incident at team_assembled (SMALL_PLAN): the commander, PR lead, legal from the
    roster, plus customer service, the executive and an observer on the team."""
    fields.setdefault("affected_users", 1_200_000)
    fields.setdefault("regions", ["East China"])
    incident = walk_to(people, report(people, **fields), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.cs, Role.CUSTOMER_SERVICE)
    actions.add_team_member(people.commander, incident, people.executive, Role.EXECUTIVE)
    actions.add_team_member(people.commander, incident, people.observer, Role.OBSERVER)
    incident.refresh_from_db()
    return incident


def sheet(**sections) -> dict:
    """A filled-in fact sheet; keyword arguments replace whole sections."""
    content = {
        "what": {"text": "Payments failed for users in East China.", "confirmed": True, "by": "tech_security"},
        "when": {
            "outbreak": {"at": "2026-03-02T08:00:00+00:00", "confirmed": True, "by": "tech_security"},
            "discovery": {"at": "2026-03-02T08:20:00+00:00", "confirmed": True, "by": "tech_security"},
        },
        "who": {"text": "Users who paid by card.", "confirmed": False, "by": ""},
        "cause": {"status": "under_investigation", "text": "", "confirmed": False, "by": ""},
        "done": [{"text": "Switched payments to the backup data centre.", "confirmed": True, "by": "tech_security"}],
        "next": [{"text": "Refund every failed payment.", "due": "2026-03-05", "confirmed": True, "by": "legal"}],
        "compensation": {"text": "A 20 yuan voucher for every affected user.", "confirmed": False, "by": ""},
        "help": {"hotline": "400-800-1234", "page": "https://example.com/help", "email": "help@example.com"},
        "qa": [
            {
                "question": "Is my money safe?",
                "answer": "Yes, failed payments were not charged.",
                "confirmed": True,
                "by": "legal",
            }
        ],
    }
    content.update(sections)
    return {"sections": content}
