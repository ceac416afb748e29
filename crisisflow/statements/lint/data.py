"""The linter's word lists: data files an organisation extends without code.

The built-in files live beside this module (data/zh-hans.yaml, data/en.yaml); every
*.yaml file in the folders named by CRISISFLOW["LINT_EXTRA_DIRS"] is read after them and
its entries are added to the lists of its language (its `levels:` override the built-in
ones). A file is checked before anything of it is used: a mistake is reported as
`path:line: field: message` (LintDataError), never half-applied: until it is fixed the
linter keeps to the built-in lists (crisisflow.statements.lint.rules.ruleset).

Loaded once per process and set of folders (`ruleset()` is cached); edit a file, restart.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

BUILTIN_DIR = Path(__file__).resolve().parent / "data"
LANGUAGES = ("zh-hans", "en")
LEVELS = ("error", "warning", "info")

# Lists whose entries are found in the text and reported under their own code.
FINDING_LISTS = (
    "blame_shifting",
    "vague_promise",
    "jargon",
    "absolute_claim",
    "minimising",
    "liability_admission",
)
# Lists whose entries are signals the rules look for (the three elements and friends).
SIGNAL_LISTS = ("attitude", "facts_what", "facts_when", "facts_scope", "action", "concrete", "hedges", "pledge")
CODES = (
    "missing_attitude",
    "missing_facts",
    "missing_action",
    *FINDING_LISTS,
    "fact_mismatch",
    "channel_length",
)
DEFAULT_LEVELS = {
    "missing_attitude": "error",
    "missing_facts": "error",
    "missing_action": "error",
    "blame_shifting": "warning",
    "vague_promise": "warning",
    "jargon": "warning",
    "absolute_claim": "warning",
    "minimising": "warning",
    "liability_admission": "info",
    "fact_mismatch": "error",
}
ENTRY_KEYS = {"term", "pattern", "plain", "always"}
TOP_KEYS = {"language", "levels", "nouns", *FINDING_LISTS, *SIGNAL_LISTS}
MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class DataError:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class LintDataError(Exception):
    """One or more word-list files are wrong; `errors` says where and why."""

    def __init__(self, errors: list[DataError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass(frozen=True)
class Entry:
    """One phrase of a list: a literal `term` or a regular expression `pattern`."""

    term: str = ""
    pattern: str = ""
    plain: str = ""
    always: bool = False
    source: str = ""  # path:line, for messages about the entry itself

    @property
    def shown(self) -> str:
        return self.term or self.pattern


@dataclass
class Wordlists:
    """Everything the files say for one language, merged."""

    language: str
    lists: dict[str, list[Entry]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    nouns: dict[str, list[str]] = field(default_factory=dict)


def files_in(folders: tuple[str, ...]) -> list[Path]:
    """The built-in files, then each extra folder's *.yaml / *.yml files in name order.
    An extra path may also name a single file."""
    paths = sorted(BUILTIN_DIR.glob("*.yaml"))
    for folder in folders:
        p = Path(folder)
        if p.is_file():
            paths.append(p)
        else:
            paths.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
    return paths


def load(folders: tuple[str, ...] = ()) -> dict[str, Wordlists]:
    """The merged word lists per language; LintDataError if any file is wrong."""
    merged = {
        language: Wordlists(language, {name: [] for name in (*FINDING_LISTS, *SIGNAL_LISTS)}) for language in LANGUAGES
    }
    errors: list[DataError] = []
    for folder in folders:
        if not Path(folder).exists():
            errors.append(DataError(str(folder), 0, "LINT_EXTRA_DIRS", "no such file or folder"))
    parsed = []
    for path in files_in(folders):
        result, file_errors = check_file(path)
        errors.extend(file_errors)
        if result is not None:
            parsed.append(result)
    if errors:
        raise LintDataError(errors)
    for result in parsed:
        target = merged[result.language]
        for name, entries in result.lists.items():
            target.lists[name].extend(entries)
        target.levels.update(result.levels)
        for category, words in result.nouns.items():
            target.nouns.setdefault(category, []).extend(words)
    return merged


def check_file(path: Path) -> tuple[Wordlists | None, list[DataError]]:
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, [DataError(name, 0, "file", f"cannot be read ({exc.strerror})")]
    if len(data) > MAX_BYTES:
        return None, [DataError(name, 1, "file", f"larger than {MAX_BYTES // 1024} KiB; split it")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [DataError(name, line, "file", "the file is not valid UTF-8")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [DataError(name, line, "file", f"not valid YAML: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [DataError(name, 1, "file", f"not valid YAML: {exc}")]
    return _Checker(name).check(root)


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[DataError] = []

    def error(self, node: yaml.Node | None, where: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.errors.append(DataError(self.path, line, where, message))

    def check(self, root: yaml.Node | None) -> tuple[Wordlists | None, list[DataError]]:
        if not isinstance(root, yaml.MappingNode):
            self.error(root, "file", "expected a mapping with `language:` and lists of phrases")
            return None, self.errors
        items = self.mapping(root)
        language_node = items.get("language", (None, None))[1]
        language = self.string(language_node, "language") if language_node is not None else None
        if language_node is None:
            self.error(root, "language", f"missing; one of {', '.join(LANGUAGES)}")
        elif language is not None and language not in LANGUAGES:
            self.error(language_node, "language", f"unknown language {language!r}; one of {', '.join(LANGUAGES)}")
            language = None
        result = Wordlists(language or "en")
        for key, (key_node, value) in items.items():
            if key == "language":
                continue
            if key not in TOP_KEYS:
                self.error(key_node, key, "unknown list" + _did_you_mean(key, TOP_KEYS))
            elif key == "levels":
                result.levels = self.levels(value)
            elif key == "nouns":
                result.nouns = self.nouns(value)
            else:
                result.lists[key] = self.entries(key, value, english=language == "en")
        if self.errors or language is None:
            return None, self.errors
        return result, self.errors

    def mapping(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, "file", "keys must be plain words")
                continue
            if key in items:
                self.error(key_node, key, "given twice")
                continue
            items[key] = (key_node, value)
        return items

    def string(self, node: yaml.Node, where: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (
            "tag:yaml.org,2002:str",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
        ):
            self.error(node, where, "expected text")
            return None
        value = str(node.value).strip()
        if not value:
            self.error(node, where, "must not be empty")
            return None
        return value

    def levels(self, node: yaml.Node) -> dict[str, str]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "levels", "expected a mapping of code: level")
            return {}
        levels = {}
        for code, (key_node, value) in self.mapping(node).items():
            where = f"levels.{code}"
            if code not in DEFAULT_LEVELS:
                self.error(key_node, where, "unknown code" + _did_you_mean(code, DEFAULT_LEVELS))
                continue
            level = self.string(value, where)
            if level is not None and level not in LEVELS:
                self.error(value, where, f"unknown level {level!r}; one of {', '.join(LEVELS)}")
            elif level is not None:
                levels[code] = level
        return levels

    def nouns(self, node: yaml.Node) -> dict[str, list[str]]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, "nouns", "expected a mapping of category: [words]")
            return {}
        nouns = {}
        for category, (_key, value) in self.mapping(node).items():
            where = f"nouns.{category}"
            if not isinstance(value, yaml.SequenceNode):
                self.error(value, where, "expected a list of words")
                continue
            words = [self.string(item, f"{where}[{i}]") for i, item in enumerate(value.value)]
            nouns[category] = [w for w in words if w]
        return nouns

    def entries(self, name: str, node: yaml.Node, *, english: bool) -> list[Entry]:
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, name, "expected a list of phrases")
            return []
        return [e for i, item in enumerate(node.value) if (e := self.entry(name, f"{name}[{i}]", item, english))]

    def entry(self, name: str, where: str, node: yaml.Node, english: bool) -> Entry | None:
        source = f"{self.path}:{node.start_mark.line + 1}"
        if isinstance(node, yaml.ScalarNode):
            term = self.string(node, where)
            return Entry(term=term, source=source) if term else None
        if not isinstance(node, yaml.MappingNode):
            self.error(node, where, "expected a phrase or a mapping with term: or pattern:")
            return None
        items = self.mapping(node)
        for key, (key_node, _value) in items.items():
            if key not in ENTRY_KEYS:
                self.error(key_node, f"{where}.{key}", "unknown field" + _did_you_mean(key, ENTRY_KEYS))
        if ("term" in items) == ("pattern" in items):
            self.error(node, where, "give exactly one of term: or pattern:")
            return None
        values: dict[str, Any] = {"source": source}
        for key in ("term", "pattern", "plain"):
            if key in items:
                value = self.string(items[key][1], f"{where}.{key}")
                if value is None:
                    return None
                values[key] = value
        if "plain" in items and name != "jargon":
            self.error(items["plain"][0], f"{where}.plain", "only jargon entries have plain wording")
        if "always" in items:
            always_node = items["always"][1]
            if name != "blame_shifting":
                self.error(items["always"][0], f"{where}.always", "only blame_shifting entries may be `always`")
            elif not (isinstance(always_node, yaml.ScalarNode) and always_node.tag == "tag:yaml.org,2002:bool"):
                self.error(always_node, f"{where}.always", "expected true or false")
            else:
                values["always"] = always_node.value.lower() in ("true", "yes", "on")
        if "pattern" in values:
            try:
                compiled = re.compile(values["pattern"])
            except re.error as exc:
                self.error(items["pattern"][1], f"{where}.pattern", f"not a valid regular expression: {exc}")
                return None
            if re.search(r"[A-Z]", re.sub(r"\\.", "", values["pattern"])):
                self.error(
                    items["pattern"][1],
                    f"{where}.pattern",
                    "write patterns in lower case (texts are matched in lower case)",
                )
                return None
            if compiled.groupindex:
                self.error(items["pattern"][1], f"{where}.pattern", "named groups are not allowed; use (?:…)")
                return None
            if compiled.match(""):
                self.error(items["pattern"][1], f"{where}.pattern", "matches empty text; it would flag everything")
                return None
        return Entry(**values)


def _did_you_mean(word: str, known) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(sorted(known))}"


@lru_cache(maxsize=8)
def cached(folders: tuple[str, ...]) -> dict[str, Wordlists]:
    return load(folders)


def check_word_lists(app_configs=None, **kwargs) -> list:
    """A Django system check: every word-list file loads (register it in an app's ready())."""
    from django.core.checks import Error

    from crisisflow.statements.lint.rules import extra_dirs

    try:
        load(extra_dirs())
    except LintDataError as exc:
        return [Error(str(error), id="crisisflow.statements.E001") for error in exc.errors]
    return []
