"""Loading playbook files into immutable versions, all files or none.

Every file is checked before anything is written: a half-loaded set of playbooks would
leave incidents activating a mix of old and new plans. A version is identified by the
SHA-256 of its file text, so loading the same text again is a no-op and putting back an
earlier text makes that earlier version current again instead of copying it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from crisisflow import clock
from crisisflow.playbooks.models import Playbook, PlaybookVersion
from crisisflow.playbooks.schema import PlaybookError, check_sources, default_paths, read_sources, sort_errors


class PlaybookCheckFailed(Exception):
    """At least one file has an error; nothing was loaded."""

    def __init__(self, errors: list[PlaybookError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} playbook error(s); nothing was loaded")


class Outcome(StrEnum):
    CREATED = "created"  # a new playbook, at version 1
    UPDATED = "updated"  # a new version of an existing playbook
    RESTORED = "restored"  # the text of an earlier version: that version is current again
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class LoadedPlaybook:
    key: str
    outcome: Outcome
    number: int  # the current version number after loading
    source_path: str


@dataclass
class LoadReport:
    playbooks: list[LoadedPlaybook] = field(default_factory=list)

    def _keys(self, *outcomes: Outcome) -> list[str]:
        return [p.key for p in self.playbooks if p.outcome in outcomes]

    @property
    def created(self) -> list[str]:
        return self._keys(Outcome.CREATED)

    @property
    def updated(self) -> list[str]:
        # A restored version is an update as far as incidents are concerned: new
        # activations now use a different text than before the load.
        return self._keys(Outcome.UPDATED, Outcome.RESTORED)

    @property
    def unchanged(self) -> list[str]:
        return self._keys(Outcome.UNCHANGED)


def load_playbooks(paths: Iterable[Path] | None = None, *, at: datetime | None = None) -> LoadReport:
    """Check every file, then load them all in one transaction.

    Raises PlaybookCheckFailed (writing nothing) when any file has an error. `at` is the
    loaded_at time of new versions; it defaults to now.
    """
    files = {str(path): path for path in (default_paths() if paths is None else paths)}
    # The texts are read once: the text that is checked is the text that is stored.
    sources, read_errors = read_sources(files.values())
    definitions, errors = check_sources(sources)
    if read_errors or errors:
        raise PlaybookCheckFailed(sort_errors(read_errors + errors))

    loaded_at = at or clock.now()
    report = LoadReport()
    with transaction.atomic():
        for name, text in sources.items():
            report.playbooks.append(_load_one(files[name], text, definitions[name], loaded_at))
    return report


def _load_one(path: Path, text: str, definition: dict, loaded_at: datetime) -> LoadedPlaybook:
    content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
    source_path = _stored_path(path)
    playbook, created = Playbook.objects.get_or_create(key=definition["key"])
    if not created:
        # Lock the row so two concurrent loads cannot both pick the next version number.
        playbook = (
            Playbook.objects.select_for_update(of=("self",)).select_related("current_version").get(pk=playbook.pk)
        )

    current = playbook.current_version
    if current is not None and current.content_hash == content_hash:
        return LoadedPlaybook(playbook.key, Outcome.UNCHANGED, current.number, source_path)

    earlier = playbook.versions.filter(content_hash=content_hash).first()
    if earlier is not None:
        playbook.current_version = earlier
        playbook.save(update_fields=["current_version"])
        return LoadedPlaybook(playbook.key, Outcome.RESTORED, earlier.number, source_path)

    last = playbook.versions.aggregate(last=Max("number"))["last"] or 0
    version = PlaybookVersion.objects.create(
        playbook=playbook,
        number=last + 1,
        content_hash=content_hash,
        source_path=source_path,
        source_text=text,
        definition=definition,
        loaded_at=loaded_at,
    )
    playbook.current_version = version
    playbook.save(update_fields=["current_version"])
    outcome = Outcome.CREATED if created else Outcome.UPDATED
    return LoadedPlaybook(playbook.key, outcome, version.number, source_path)


def _stored_path(path: Path) -> str:
    """Relative to the project when inside it, so versions read the same on every machine."""
    resolved = path.resolve()
    base = Path(settings.BASE_DIR).resolve()
    return resolved.relative_to(base).as_posix() if resolved.is_relative_to(base) else str(resolved)
