"""The kinds of metric series, read from data/kinds.yaml (extend the file, not the code)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from django.utils import translation

KINDS_FILE = Path(__file__).resolve().parent / "data" / "kinds.yaml"
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
UNITS = ("count", "percent", "index", "rank", "stars", "currency")

# The platforms a per-platform series may name (the seeds' channels of public opinion).
PLATFORMS = {
    "weibo": ("Weibo", "微博"),
    "wechat": ("WeChat", "微信"),
    "douyin": ("Douyin", "抖音"),
    "xiaohongshu": ("Xiaohongshu", "小红书"),
    "news": ("News", "新闻"),
    "other": ("Other", "其他"),
}


@dataclass(frozen=True)
class SeriesKind:
    key: str
    en: str
    zh: str
    unit: str
    per_platform: bool = False

    @property
    def label(self) -> str:
        return self.zh if translation.get_language() in ("zh-hans", "zh") else self.en


def platform_label(key: str) -> str:
    en, zh = PLATFORMS.get(key, (key, key))
    return zh if translation.get_language() in ("zh-hans", "zh") else en


def load(path: Path = KINDS_FILE) -> dict[str, SeriesKind]:
    """The kinds in the file, checked: a bad entry names its position and what is wrong."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    kinds: dict[str, SeriesKind] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{path.name}, entry {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping")
        unknown = set(entry) - {"key", "en", "zh", "unit", "per_platform"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        key = str(entry.get("key", ""))
        if not KEY.match(key):
            raise ValueError(f"{where}: key {key!r} must be lower-case letters, digits and _")
        if key in kinds:
            raise ValueError(f"{where}: key {key!r} appears twice")
        if entry.get("unit") not in UNITS:
            raise ValueError(f"{where}: unit must be one of {', '.join(UNITS)}")
        if not entry.get("en") or not entry.get("zh"):
            raise ValueError(f"{where}: both names (en, zh) are required")
        kinds[key] = SeriesKind(key, str(entry["en"]), str(entry["zh"]), entry["unit"], bool(entry.get("per_platform")))
    return kinds


@cache
def all_kinds() -> dict[str, SeriesKind]:
    return load()


def kind_of(key: str) -> SeriesKind:
    return all_kinds().get(key) or SeriesKind(key, key, key, "count")


def choices() -> list[tuple[str, str]]:
    return [(kind.key, kind.en) for kind in all_kinds().values()]
