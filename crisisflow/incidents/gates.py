"""Gate conditions: what must hold before an incident may move into a state.

A gate is a function of the incident that returns human-readable blockers (an empty
list when the way is clear). The engine registers its own gates in core_gates; a later
feature registers more from its app's ready() with the same decorator, without touching
the Incident model:

    @gate(State.INFO_PUBLISHED)
    def statement_approved(incident):
        if not approved_statement_exists(incident):
            yield _("the first statement has not been approved by Legal")

Each FSM transition's `conditions` asks the registry, so can_proceed() and the
transition itself always agree with what the incident page shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crisisflow.incidents.models import Incident

Gate = Callable[["Incident"], Iterable[str]]

_gates: dict[str, list[Gate]] = defaultdict(list)


def gate(*targets: str) -> Callable[[Gate], Gate]:
    """Register a gate for moving into each of `targets`."""

    def register(fn: Gate) -> Gate:
        for target in targets:
            if fn not in _gates[str(target)]:
                _gates[str(target)].append(fn)
        return fn

    return register


def unregister(fn: Gate) -> None:
    for fns in _gates.values():
        if fn in fns:
            fns.remove(fn)


def blockers(incident: Incident, target: str) -> list[str]:
    """Every reason the incident cannot move into `target` now, in registration order."""
    found: list[str] = []
    for fn in _gates.get(str(target), []):
        found.extend(str(b) for b in fn(incident))
    return found


def gate_condition(target: str) -> Callable[[Incident], bool]:
    """A django-fsm condition that holds when no gate for `target` blocks."""

    def condition(incident: Incident) -> bool:
        return not blockers(incident, target)

    condition.__name__ = f"gates_into_{target}_clear"
    return condition
