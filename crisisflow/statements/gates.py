"""The `info_published` step waits for a real first public statement.

Publishing information is the first public statement going out: a holding or full
statement, approved by every role it needs and published (publishing.publish). Where
the playbook asks for it (`statements: internal_notice_first: true`), the internal
notice must have gone out no later. Skipping the statement task, or ticking checklists,
satisfies neither.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from crisisflow.incidents.gates import gate
from crisisflow.incidents.models import Incident
from crisisflow.vocab import State


@gate(State.INFO_PUBLISHED)
def first_statement_published(incident: Incident):
    from crisisflow.statements import publishing

    first = publishing.first_statement_published(incident)
    if first is None:
        yield _("no approved first public statement (holding or full statement) has been published")
        return
    if publishing.internal_notice_first(incident):
        notice_at = publishing.internal_notice_published_at(incident)
        if notice_at is None:
            yield _("the internal notice has not been published (the playbook asks for it first)")
        elif notice_at > first.published_at:
            yield _("the internal notice went out after the first public statement")
