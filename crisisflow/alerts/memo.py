"""Memory for the length of one sweep.

A burst of deadlines fires hundreds of rungs on the same few incidents; asking the
database for the same team, roster and webhook endpoints for each rung was most of the
sweep's cost. Inside `one_sweep()` such reads are kept; outside it (a single rung fired
by hand, tests) every call reads afresh. A team changed during a sweep is seen by the
next sweep, seconds later.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_memory: ContextVar[dict[Hashable, Any] | None] = ContextVar("crisisflow_sweep_memory", default=None)


@contextmanager
def one_sweep() -> Iterator[None]:
    token = _memory.set({})
    try:
        yield
    finally:
        _memory.reset(token)


def remembered(key: Hashable, compute: Callable[[], Any]) -> Any:
    memory = _memory.get()
    if memory is None:
        return compute()
    if key not in memory:
        memory[key] = compute()
    return memory[key]


def remember(values: dict[Hashable, Any]) -> None:
    """Keep values read ahead for many keys at once (nothing outside a sweep)."""
    memory = _memory.get()
    if memory is not None:
        for key, value in values.items():
            memory.setdefault(key, value)


def in_sweep() -> bool:
    return _memory.get() is not None


def known(key: Hashable) -> bool:
    memory = _memory.get()
    return memory is not None and key in memory


def recall(key: Hashable) -> Any:
    """What was remembered for `key` (see known())."""
    memory = _memory.get()
    if memory is None:
        raise KeyError(key)
    return memory[key]
