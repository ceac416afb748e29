from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from crisisflow.vocab import CrisisType


class Playbook(models.Model):
    """A named plan; its content lives in immutable versions."""

    key = models.SlugField(_("key"), max_length=80, unique=True)
    current_version = models.ForeignKey(
        "PlaybookVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("current version"),
    )

    class Meta:
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class ImmutableVersionError(Exception):
    pass


class PlaybookVersion(models.Model):
    """One loaded text of a playbook file. Never changed once written: incidents pin it."""

    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content_hash = models.CharField(_("SHA-256 of the file"), max_length=64)
    source_path = models.CharField(_("file"), max_length=500)
    source_text = models.TextField(_("file text"))
    # The validated, normalised definition (see crisisflow.playbooks.schema).
    definition = models.JSONField(_("definition"))
    loaded_at = models.DateTimeField(_("loaded at"))

    class Meta:
        verbose_name = _("playbook version")
        verbose_name_plural = _("playbook versions")
        ordering = ["playbook__key", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "number"], name="playbook_version_number"),
            models.UniqueConstraint(fields=["playbook", "content_hash"], name="playbook_version_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.playbook.key} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableVersionError("a playbook version never changes; load a new version")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise ImmutableVersionError("a playbook version is never deleted")

    # --- reading the definition ---------------------------------------------------------
    @property
    def key(self) -> str:
        return self.definition["key"]

    def name(self) -> str:
        return localized(self.definition["name"])

    def description(self) -> str:
        return localized(self.definition["description"])

    @property
    def roles(self) -> dict[str, int]:
        return self.definition["roles"]

    @property
    def tasks(self) -> list[dict]:
        return self.definition["tasks"]

    def serves(self, crisis_type: str, severity: str) -> bool:
        return crisis_type in self.definition["crisis_types"] and severity in self.definition["severities"]

    def statement_clock_seconds(self, severity: str) -> int:
        if severity == "critical" and self.definition.get("first_statement_within_critical"):
            return self.definition["first_statement_within_critical"]
        return self.definition["first_statement_within"]


def localized(text: dict[str, str]) -> str:
    """Pick the active language from a {zh, en} text."""
    lang = translation.get_language() or "zh-hans"
    return text["zh"] if lang.startswith("zh") else text["en"]


def current_versions() -> list[PlaybookVersion]:
    return list(
        PlaybookVersion.objects.filter(playbook__current_version=models.F("pk"))
        .select_related("playbook")
        .order_by("playbook__key")
    )


def find_version(key: str, number: int | None = None) -> PlaybookVersion | None:
    """Version `number` of the playbook `key`, or its current version; None if there is none."""
    versions = PlaybookVersion.objects.select_related("playbook").filter(playbook__key=key)
    if number is None:
        return versions.filter(playbook__current_version=models.F("pk")).first()
    return versions.filter(number=number).first()


def versions_serving(
    crisis_type: str, severity: str, versions: list[PlaybookVersion] | None = None
) -> list[PlaybookVersion]:
    """The current versions that serve this type and severity. `versions`: the current
    versions when the caller has read them already (a page reads them once)."""
    current = current_versions() if versions is None else versions
    return [v for v in current if v.serves(crisis_type, severity)]


def crisis_type_choices(versions: list[PlaybookVersion] | None = None) -> list[tuple[str, str]]:
    """Built-in crisis types plus those the loaded playbooks define (`versions`: as for
    versions_serving)."""
    choices = [(c.value, str(c.label)) for c in CrisisType]
    known = {c.value for c in CrisisType}
    for version in current_versions() if versions is None else versions:
        for extra in version.definition.get("defines_crisis_types", []):
            if extra["key"] not in known:
                known.add(extra["key"])
                choices.append((extra["key"], localized(extra["name"])))
    return choices


def crisis_type_label(key: str) -> str:
    return dict(crisis_type_choices()).get(key, key)
