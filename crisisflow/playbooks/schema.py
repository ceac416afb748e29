"""The playbook checker: every rule of playbooks/README.md, with exact line numbers.

A playbook file is parsed with PyYAML's composer (not its constructor) so that each
value keeps the line it came from; the nodes are then turned into plain Python values by
hand. That conversion is also where duplicate mapping keys are caught, which PyYAML's
own loader would silently overwrite.

The checker never stops at the first problem: it walks the whole file, records every
error as a `PlaybookError` and only returns a normalised definition for a file without
errors. The normalised definition is what `PlaybookVersion.definition` stores and what
the incident engine reads, so its shape is part of the public contract (see
`check_text`).
"""

from __future__ import annotations

import difflib
import operator
import re
import stat
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
import yaml.cyaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from crisisflow import conf
from crisisflow.alerts.ladder import AUDIENCES
from crisisflow.vocab import (
    FACTS,
    GATEABLE_STATES,
    GOLDEN_CLOCK_SECONDS,
    NUMBER_COMPARISONS,
    TASK_ANCHOR_PREFIX,
    Anchor,
    CrisisType,
    Deliverable,
    Role,
    Severity,
    Stage,
    State,
    severity_at_least,
)

# The field name used for problems with the file as a whole (unreadable, bad YAML...).
FILE_FIELD = "(file)"

SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")
# Matches Playbook.key's max_length, so a valid file can always be stored.
KEY_MAX_LENGTH = 80
# Days, hours, minutes, each optional, in that order. [0-9] rather than \d: \d would
# also accept non-ASCII digits.
DURATION_RE = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?")
DURATION_HINT = "whole days, hours and minutes in that order, like 30m, 4h, 1h30m or 2d12h"
# A deadline more than a year after its anchor is a typo; a few thousand years would no
# longer fit in a date at all (activation would fail adding it to the outbreak time).
MAX_DURATION_DAYS = 366

LANGUAGES = ("zh", "en")
TOP_FIELDS = (
    "key",
    "name",
    "description",
    "serves",
    "defines_crisis_types",
    "first_statement_within",
    "first_statement_within_critical",
    "roles",
    "tasks",
    "statements",
)
TOP_REQUIRED = ("key", "name", "description", "serves", "roles", "tasks")
SERVES_FIELDS = ("crisis_types", "severities")
DEFINED_TYPE_FIELDS = ("key", "name")
TASK_FIELDS = (
    "key",
    "title",
    "instructions",
    "role",
    "stage",
    "due",
    "depends_on",
    "checklist",
    "conditions",
    "gates",
    "deliverable",
    "alerts",
)
TASK_REQUIRED = ("key", "title", "instructions", "role", "stage", "due")
DUE_FIELDS = ("anchor", "offset")
CONDITION_FIELDS = ("severity_at_least", "facts")
# A task's own escalation ladder; the engine merges it over settings' TASK_LADDER.
ALERT_FIELDS = ("remind_at_half", "remind_before", "escalate_after")
# Who a task may escalate to: the assignee is reminded, never escalated to.
ESCALATION_AUDIENCES = tuple(a for a in AUDIENCES if a != "assignee")

ROLES = tuple(r.value for r in Role)
# The optional `statements:` section: who approves each kind of statement, how long an
# approval may take, and whether the internal notice must go out first.
STATEMENT_FIELDS = ("approvals", "approval_deadlines", "internal_notice_first")
APPROVER_ROLES = tuple(r for r in ROLES if r != Role.OBSERVER.value)
STAGES = tuple(s.value for s in Stage)
SEVERITIES = tuple(s.value for s in Severity)
ANCHORS = tuple(a.value for a in Anchor)
GATES = tuple(s.value for s in GATEABLE_STATES)
DELIVERABLES = tuple(d.value for d in Deliverable)
BUILTIN_CRISIS_TYPES = tuple(c.value for c in CrisisType)
ANCHOR_HINT = ", ".join(ANCHORS[:-1]) + f", {ANCHORS[-1]} or {TASK_ANCHOR_PREFIX}<key>"
# Plans for these severities must satisfy the golden 4 hours.
GOLDEN_SEVERITIES = (Severity.HIGH.value, Severity.CRITICAL.value)
DEFAULT_FIRST_STATEMENT_SECONDS = GOLDEN_CLOCK_SECONDS

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
}
assert set(COMPARE) == set(NUMBER_COMPARISONS)


@dataclass(frozen=True)
class PlaybookError:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


# --- public API ---------------------------------------------------------------------------


def check_text(text: str, path: str) -> tuple[dict | None, list[PlaybookError]]:
    """Check one playbook file's text against every single-file rule.

    Returns the normalised definition (None when there is any error) and every error.
    Rules that need all files - a playbook key used twice, a crisis type that no file
    defines - are checked by `check_files` / `check_sources`.

    The definition has exactly these keys::

        key, name {zh, en}, description {zh, en}, crisis_types [..], severities [..],
        defines_crisis_types [{key, name}], first_statement_within (seconds),
        first_statement_within_critical (seconds or None), roles {role: minimum},
        tasks [{key, title, instructions, role, stage, anchor, offset (seconds),
                depends_on, checklist, severity_at_least, facts, gates, deliverable,
                alerts}]

    A task's `alerts` is None when the file gives none, else only the keys it gives:
    {remind_at_half: bool, remind_before: [seconds], escalate_after: {audience: seconds}}.
    """
    result = _FileChecker(path).check(text)
    return result.definition, sort_errors(result.errors)


def read_sources(paths: Iterable[Path]) -> tuple[dict[str, str], list[PlaybookError]]:
    """Read each file as UTF-8, keyed by the path as given. Unreadable files are errors,
    and so is a file larger than the PLAYBOOK_MAX_BYTES setting (it is not read past it)."""
    sources: dict[str, str] = {}
    errors: list[PlaybookError] = []
    limit = max_bytes()
    for path in paths:
        name = str(path)
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                # A folder, a device (/dev/zero never ends), a pipe (may never open).
                errors.append(PlaybookError(name, 1, FILE_FIELD, "not a regular file"))
                continue
            # Bytes, then decode: read_text() would rewrite line endings, and the stored
            # text (and its hash) should be exactly what is on disk.
            with path.open("rb") as file:
                data = file.read(limit + 1)
            if len(data) > limit:
                errors.append(PlaybookError(name, 1, FILE_FIELD, too_big(max(len(data), _size(path)), limit)))
                continue
            sources[name] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            errors.append(
                PlaybookError(name, line, FILE_FIELD, f"the file is not valid UTF-8 ({exc.reason} at byte {exc.start})")
            )
        except OSError as exc:
            errors.append(PlaybookError(name, 1, FILE_FIELD, f"cannot read the file: {exc.strerror or exc}"))
    return sources, errors


def max_bytes() -> int:
    """The largest playbook file accepted (settings.CRISISFLOW["PLAYBOOK_MAX_BYTES"])."""
    return int(conf.setting("PLAYBOOK_MAX_BYTES"))


def too_big(size: int, limit: int) -> str:
    return f"the file is {size:,} bytes; a playbook may be at most {limit:,} bytes (CRISISFLOW_PLAYBOOK_MAX_BYTES)"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def check_sources(sources: Mapping[str, str]) -> tuple[dict[str, dict], list[PlaybookError]]:
    """Check several files' texts ({path: text}), including the rules across files."""
    results = {path: _FileChecker(path).check(text) for path, text in sources.items()}
    errors = [error for result in results.values() for error in result.errors]

    # A playbook key names one playbook; two files with the same key would silently
    # overwrite each other's versions on every load.
    files_by_key: dict[str, list[str]] = {}
    for path, result in results.items():
        if result.key is not None:
            files_by_key.setdefault(result.key, []).append(path)
    for key, paths in files_by_key.items():
        for path in paths if len(paths) > 1 else ():
            others = ", ".join(other for other in paths if other != path)
            errors.append(
                PlaybookError(
                    path,
                    results[path].key_line,
                    "key",
                    f"playbook key '{key}' is also used by {others} (each file needs its own key)",
                )
            )

    defined = {key for result in results.values() for key in result.defined_types}
    known = set(BUILTIN_CRISIS_TYPES) | defined
    for path, result in results.items():
        for crisis_type, line, where in result.crisis_types:
            if crisis_type not in known:
                errors.append(PlaybookError(path, line, where, _unknown_crisis_type(crisis_type, defined)))

    failed = {error.path for error in errors}
    definitions = {
        path: result.definition
        for path, result in results.items()
        if result.definition is not None and path not in failed
    }
    return definitions, sort_errors(errors)


def check_files(paths: list[Path]) -> tuple[dict[str, dict], list[PlaybookError]]:
    """Check playbook files; returns {path: definition} for the valid ones and all errors."""
    sources, read_errors = read_sources(paths)
    definitions, errors = check_sources(sources)
    return definitions, sort_errors(read_errors + errors)


def sort_errors(errors: Iterable[PlaybookError]) -> list[PlaybookError]:
    # Stable: errors on the same line keep the order in which the file was walked.
    return sorted(errors, key=lambda error: (error.path, error.line))


def default_paths() -> list[Path]:
    """Every *.yaml file in the playbook folder, sorted."""
    return sorted(Path(conf.setting("PLAYBOOK_DIR")).glob("*.yaml"))


def expand_paths(args: Sequence[str]) -> list[Path]:
    """Command-line paths to playbook files: a folder means every *.yaml file in it.

    With no arguments, the playbook folder, shown relative to the working directory
    when it is inside it (that is how error lines are printed). A file named twice is
    checked once, so it cannot clash with itself over its key.
    """
    if args:
        paths: list[Path] = []
        for arg in args:
            path = Path(arg)
            paths.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    else:
        cwd = Path.cwd()
        paths = [p.relative_to(cwd) if p.is_relative_to(cwd) else p for p in default_paths()]
    seen: set[Path] = set()
    unique = []
    for path in paths:
        if path.resolve() not in seen:
            seen.add(path.resolve())
            unique.append(path)
    return unique


def conditions_hold(task_def: Mapping[str, Any], severity: str | None, facts: Mapping[str, Any]) -> bool:
    """Whether a task's conditions hold for an incident (checked when the plan activates).

    A fact the incident does not know (None) fails every test on it: a task meant for
    "more than 10,000 users" is not created on a guess.
    """
    floor = task_def.get("severity_at_least")
    if floor and not severity_at_least(severity, floor):
        return False
    for name, test in (task_def.get("facts") or {}).items():
        value = facts.get(name)
        if isinstance(test, bool):
            if value is None or bool(value) != test:
                return False
        elif value is None or not all(COMPARE[op](value, limit) for op, limit in test.items()):
            return False
    return True


def format_duration(seconds: int) -> str:
    """Seconds back to playbook notation: 5400 -> 1h30m."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) or "0m"


# --- YAML nodes with line numbers ------------------------------------------------------------


@dataclass
class _Scalar:
    value: Any
    line: int
    # True when the YAML value could not be read at all (bad tag, self-referring alias);
    # that is already an error, so the schema checks stay quiet about it.
    broken: bool = False


@dataclass
class _Seq:
    items: list[_Node]
    line: int


@dataclass
class _Map:
    entries: dict[str, _Node]
    key_lines: dict[str, int]
    line: int

    def get(self, name: str) -> _Node | None:
        return self.entries.get(name)


_Node = _Scalar | _Seq | _Map

_STANDARD_TAG = "tag:yaml.org,2002:"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


# PyYAML's wording for the mistakes playbook authors actually make, and what to do.
_YAML_HINTS = (("mapping values are not allowed", "; a value that contains ': ' must be quoted"),)
_TAB_HINT = "; indent with spaces, not tabs"

# Limits on what the parser accepts, so that no file - however it was made - can keep the
# checker busy for long or make it run out of memory or stack. The largest built-in
# playbook nests 7 levels deep and its longest value is under 600 characters.
MAX_NESTING = 20
# Values (scalars, lists and mappings) in one file; the largest built-in plan has 1,176.
# Each costs some microseconds to check, so this is what bounds the time a file takes.
MAX_VALUES = 10_000
MAX_VALUE_CHARS = 10_000
MAX_KEY_CHARS = 100
# Errors listed per file; past this the checker only counts them.
MAX_ERRORS = 100
# Longer integers are never a number of people or a fact threshold; int() refuses
# very long ones anyway, and reading them costs time.
MAX_INT_DIGITS = 18
# What stands in for an alias (`*name`): aliases are refused, never expanded.
_ALIAS_TAG = "tag:crisisflow,2026:refused-alias"
# What YAML 1.1 allows in a stream (PyYAML's Reader.NON_PRINTABLE, and lone surrogates).
_NOT_YAML_CHARACTER = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"


if yaml.__with_libyaml__:
    # libyaml turns text into events about five times faster than PyYAML's own scanner
    # and parser; the composer below is Python either way (it has to be: it decides
    # what happens to anchors, aliases and nesting).
    class _Events(Composer, Resolver, yaml.cyaml.CParser):
        def __init__(self, stream: str) -> None:
            yaml.cyaml.CParser.__init__(self, stream)
            Composer.__init__(self)
            Resolver.__init__(self)

else:  # pragma: no cover - PyYAML wheels ship with libyaml

    class _Events(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, Composer, Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            Composer.__init__(self)
            Resolver.__init__(self)


class _Refused(Exception):
    """The file goes past a limit; reading it stops at the line where it did."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(_Events):
    """The safe composer, without anchors and aliases, and with bounded nesting.

    Anchors and aliases (`&name`, `*name`) are what a "billion laughs" file is made of:
    a few hundred bytes that expand to billions of values. A playbook never needs them,
    so they are not expanded at all: each alias becomes a placeholder and each anchor is
    noted, and the converter reports both at their own lines. Nesting deeper than
    MAX_NESTING stops the composer (it recurses once per level) with a YAML error.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.values = 0
        # Nodes by id (each stays alive in the tree): anchored ones -> the anchor's
        # name, and those whose tag the author wrote (`!!int 3`) rather than implied.
        self.anchored: dict[int, str] = {}
        self.tagged: set[int] = set()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            return yaml.ScalarNode(_ALIAS_TAG, event.anchor, event.start_mark, event.end_mark)
        event = self.peek_event()
        anchor, event.anchor = event.anchor, None  # never stored, so never looked up
        tagged = getattr(event, "tag", None) not in (None, "!")
        self.depth += 1
        self.values += 1
        if self.depth > MAX_NESTING:
            raise _Refused(event.start_mark.line + 1, f"values are nested more than {MAX_NESTING} levels deep")
        if self.values > MAX_VALUES:
            raise _Refused(
                event.start_mark.line + 1, f"the file holds more than {MAX_VALUES:,} values; a playbook needs far fewer"
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if anchor is not None:
            self.anchored[id(node)] = anchor
        if tagged:
            self.tagged.add(id(node))
        return node


class _Converter:
    """Composed YAML nodes -> _Scalar/_Seq/_Map, reporting duplicate keys, bad tags,
    anchors, aliases and values too long to be meant."""

    def __init__(self, report: Callable[[int, str, str], None], loader: _Loader) -> None:
        self._report = report
        self._anchored = loader.anchored
        self._tagged = loader.tagged
        # Only used for scalars, so int/bool/null/float resolution follows YAML exactly
        # as the safe loader would.
        self._scalars = SafeConstructor()

    def convert(self, node: yaml.Node, where: str) -> _Node:
        line = node.start_mark.line + 1
        if not self._plain(node, line, where):
            return _Scalar(None, line, broken=True)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, line, where)
        # A tagged list or mapping (`!!python/object:...`, `!!set`) is reported once and
        # not looked into: what is inside was never meant as a playbook's values.
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self._report(line, where, f"unsupported YAML tag '{_shown(node.tag)}' (write a plain list)")
                return _Scalar(None, line, broken=True)
            return _Seq([self.convert(item, f"{where}[{i}]") for i, item in enumerate(node.value)], line)
        if node.tag != _MAP_TAG:
            self._report(line, where, f"unsupported YAML tag '{_shown(node.tag)}' (write a plain mapping)")
            return _Scalar(None, line, broken=True)
        return self._mapping(node, where, line)

    def _plain(self, node: yaml.Node, line: int, where: str) -> bool:
        """Report an anchor or alias on this node; False when the node holds no value."""
        if node.tag == _ALIAS_TAG:
            self._report(
                line,
                where,
                f"YAML aliases (*{_shown(node.value)}) are not allowed in a playbook; write the value out in full",
            )
            return False
        anchor = self._anchored.get(id(node))
        if anchor is not None:
            self._report(
                line,
                where,
                f"YAML anchors (&{_shown(anchor)}) are not allowed in a playbook; write the value out in full",
            )
        if isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_VALUE_CHARS:
            self._report(
                line,
                where,
                f"the value is {len(node.value):,} characters long; at most {MAX_VALUE_CHARS:,} are allowed",
            )
            return False
        return True

    def _scalar(self, node: yaml.ScalarNode, line: int, where: str) -> _Scalar:
        if node.tag == _STR_TAG:
            return _Scalar(node.value, line)  # most values: no constructor needed
        if node.tag == _INT_TAG and len(node.value.lstrip("+-").lstrip("0") or "0") > MAX_INT_DIGITS:
            self._report(line, where, f"the number has more than {MAX_INT_DIGITS} digits")
            return _Scalar(None, line, broken=True)
        try:
            return _Scalar(self._scalars.construct_object(node, deep=True), line)
        except Exception:
            # An explicit tag (`!foo x`, `!!int ""`) or a plain value that looks like a
            # typed one but is not (`2026-13-45`): PyYAML's scalar constructors fail in
            # assorted ways (even IndexError) on values that do not fit, and any of them
            # means the same thing to the author.
            kind = _shown(node.tag.removeprefix(_STANDARD_TAG))
            if id(node) not in self._tagged:
                message = f"'{_shown(node.value)}' cannot be read as a YAML {kind} (put it in quotes if it is text)"
            elif node.tag.startswith(_STANDARD_TAG):
                message = f"'{_shown(node.value)}' is not a valid YAML {kind} (remove the !!{kind} tag)"
            else:
                message = f"unsupported YAML tag '{_shown(node.tag)}' (write a plain value)"
            self._report(line, where, message)
            return _Scalar(None, line, broken=True)

    def _mapping(self, node: yaml.MappingNode, where: str, line: int) -> _Map:
        result = _Map({}, {}, line)
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self._report(key_line, where or FILE_FIELD, "expected a field name, found a nested mapping or list")
                continue
            if not self._plain(key_node, key_line, where or FILE_FIELD):
                continue
            # The raw text, not the resolved value: `on:` or `1:` are field names here.
            name = key_node.value
            if len(name) > MAX_KEY_CHARS:
                self._report(
                    key_line, where or FILE_FIELD, f"a field name of {len(name):,} characters (at most {MAX_KEY_CHARS})"
                )
                continue
            child = _join(where, name)
            if name in result.entries:
                self._report(
                    key_line,
                    child,
                    f"duplicate key '{_shown(name)}' (first given on line {result.key_lines[name]}); "
                    "each field may appear only once",
                )
                continue
            result.key_lines[name] = key_line
            result.entries[name] = self.convert(value_node, child)
        return result


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


# --- the checker -------------------------------------------------------------------------------


@dataclass
class _TaskInfo:
    """What the cross-task rules need to know about one task, with lines for errors."""

    index: int
    where: str
    line: int
    key: str | None = None
    key_line: int = 0
    role: str | None = None
    role_line: int = 0
    anchor: str | None = None
    anchor_line: int = 0
    offset: int | None = None
    offset_line: int = 0
    depends_on: list[tuple[str, int, str]] = field(default_factory=list)
    gates: str | None = None
    gates_line: int = 0
    gates_given: bool = False
    deliverable: str | None = None
    definition: dict[str, Any] = field(default_factory=dict)


@dataclass
class _FileResult:
    errors: list[PlaybookError]
    definition: dict | None = None
    key: str | None = None
    key_line: int = 1
    # (crisis type, line, field) for the cross-file check.
    crisis_types: list[tuple[str, int, str]] = field(default_factory=list)
    defined_types: list[str] = field(default_factory=list)


class _FileChecker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[PlaybookError] = []
        self.unlisted = 0

    def error(self, line: int, where: str, message: str) -> None:
        if self.full:
            self.unlisted += 1
        else:
            self.errors.append(PlaybookError(self.path, line, where or FILE_FIELD, message))

    @property
    def full(self) -> bool:
        """Whether MAX_ERRORS are listed already (a costly hint need not be worked out)."""
        return len(self.errors) >= MAX_ERRORS

    def check(self, text: str) -> _FileResult:
        result = self._check(text)
        if self.unlisted:
            self.errors.append(
                PlaybookError(
                    self.path,
                    1,
                    FILE_FIELD,
                    f"{self.unlisted:,} more errors are not listed (only the first {MAX_ERRORS}); "
                    "fix these and check again",
                )
            )
        return result

    # --- the file ---------------------------------------------------------------------
    def _check(self, text: str) -> _FileResult:
        root = self._parse(text)
        if root is None:
            return _FileResult(self.errors)
        if not isinstance(root, _Map):
            self.error(root.line, FILE_FIELD, f"expected a playbook (a mapping of fields), found {_found(root)}")
            return _FileResult(self.errors)

        result = _FileResult(self.errors)
        self._fields(root, "", TOP_FIELDS, TOP_REQUIRED)
        key = self._slug(root.get("key"), "key", "playbook key")
        if key is not None:
            result.key, result.key_line = key, root.key_lines["key"]
        name = self._text(root.get("name"), "name")
        description = self._text(root.get("description"), "description")
        crisis_types, severities = self._serves(root.get("serves"), result)
        defined = self._defined_types(root.get("defines_crisis_types"))
        result.defined_types = [d["key"] for d in defined]

        first = self._optional_duration(root, "first_statement_within")
        first_critical = self._optional_duration(root, "first_statement_within_critical")
        statement_seconds = first if first is not None else DEFAULT_FIRST_STATEMENT_SECONDS
        golden = any(s in GOLDEN_SEVERITIES for s in severities)
        if first is not None and golden and first > GOLDEN_CLOCK_SECONDS:
            self.error(
                root.entries["first_statement_within"].line,
                "first_statement_within",
                f"a plan serving high or critical severity must make its first statement within "
                f"{format_duration(GOLDEN_CLOCK_SECONDS)} of detection (the golden 4 hours), "
                f"found {format_duration(first)}",
            )
        if first_critical is not None and first_critical > statement_seconds:
            self.error(
                root.entries["first_statement_within_critical"].line,
                "first_statement_within_critical",
                f"the critical clock must not be longer than first_statement_within "
                f"({format_duration(statement_seconds)}), found {format_duration(first_critical)}",
            )

        roles = self._roles(root.get("roles"))
        statements = self._statements(root.get("statements"), roles)
        tasks = self._tasks(root.get("tasks"))
        if tasks is not None:
            self._task_rules(tasks, None if roles is None else set(roles))
            if golden:
                self._golden_rule(tasks, min(statement_seconds, GOLDEN_CLOCK_SECONDS), root)

        if not self.errors:
            result.definition = {
                "key": key,
                "name": name,
                "description": description,
                "crisis_types": crisis_types,
                "severities": severities,
                "defines_crisis_types": defined,
                "first_statement_within": statement_seconds,
                "first_statement_within_critical": first_critical,
                "roles": roles or {},
                "tasks": [task.definition for task in tasks or []],
            }
            if statements is not None:
                result.definition["statements"] = statements
        return result

    def _parse(self, text: str) -> _Node | None:
        limit = max_bytes()
        # Characters first: a text of more characters than the limit has more bytes too.
        size = len(text) if len(text) > limit else len(text.encode("utf-8", "surrogatepass"))
        if size > limit:
            self.error(1, FILE_FIELD, too_big(size, limit))
            return None
        forbidden = _NOT_YAML_CHARACTER.search(text)
        if forbidden is not None:
            # NUL, ESC and the like, or a lone surrogate: YAML allows none of them.
            self.error(
                text.count("\n", 0, forbidden.start()) + 1,
                FILE_FIELD,
                f"invalid YAML: the file contains the character U+{ord(forbidden.group()):04X}, "
                "which YAML does not allow (a control character)",
            )
            return None
        try:
            loader = _Loader(text)
            try:
                document = Composer.get_single_node(loader)
            finally:
                loader.dispose()
        except _Refused as refused:
            self.error(refused.line, FILE_FIELD, refused.message)
            return None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            if isinstance(exc, yaml.composer.ComposerError) and "another document" in (exc.problem or ""):
                message = "invalid YAML: a playbook file holds one document, found a second one (after '---')"
            else:
                message = f"invalid YAML: {exc.problem or exc.context}"
                if exc.context and exc.problem and exc.context_mark is not None:
                    message += f" ({exc.context} on line {exc.context_mark.line + 1})"
                message += next((hint for problem, hint in _YAML_HINTS if problem in message), "")
                if mark is not None and _character_at(text, mark.line, mark.column) == "\t":
                    message += _TAB_HINT
            self.error(mark.line + 1 if mark else 1, FILE_FIELD, message)
            return None
        except yaml.YAMLError as exc:
            self.error(1, FILE_FIELD, f"invalid YAML: {exc}")
            return None
        if document is None:
            self.error(1, FILE_FIELD, "the file is empty; expected a playbook (a mapping of fields)")
            return None
        return _Converter(self.error, loader).convert(document, "")

    # --- top-level parts ----------------------------------------------------------------
    def _serves(self, node: _Node | None, result: _FileResult) -> tuple[list[str], list[str]]:
        serves = self._map(node, "serves", "a mapping with crisis_types and severities")
        if serves is None:
            return [], []
        self._fields(serves, "serves", SERVES_FIELDS, SERVES_FIELDS)

        crisis_types: list[str] = []
        seen: set[str] = set()
        items = self._list(serves.get("crisis_types"), "serves.crisis_types", "a list of crisis types", True)
        for i, item in enumerate(items or []):
            where = f"serves.crisis_types[{i}]"
            crisis_type = self._string(item, where, "a crisis type")
            if crisis_type is None:
                continue
            if crisis_type in seen:
                self.error(item.line, where, f"crisis type '{_shown(crisis_type)}' is listed twice")
                continue
            seen.add(crisis_type)
            crisis_types.append(crisis_type)
            result.crisis_types.append((crisis_type, item.line, where))

        severities: list[str] = []
        items = self._list(serves.get("severities"), "serves.severities", "a list of severities", True)
        for i, item in enumerate(items or []):
            where = f"serves.severities[{i}]"
            severity = self._choice(item, where, "severity", SEVERITIES)
            if severity is None:
                continue
            if severity in severities:
                self.error(item.line, where, f"severity '{severity}' is listed twice")
                continue
            severities.append(severity)
        return crisis_types, severities

    def _defined_types(self, node: _Node | None) -> list[dict[str, Any]]:
        if node is None:
            return []
        items = self._list(node, "defines_crisis_types", "a list of {key, name}", False)
        defined: list[dict[str, Any]] = []
        for i, item in enumerate(items or []):
            where = f"defines_crisis_types[{i}]"
            entry = self._map(item, where, "a mapping with key and name")
            if entry is None:
                continue
            self._fields(entry, where, DEFINED_TYPE_FIELDS, DEFINED_TYPE_FIELDS)
            key = self._slug(entry.get("key"), f"{where}.key", "crisis type key")
            name = self._text(entry.get("name"), f"{where}.name")
            if key is not None and key in BUILTIN_CRISIS_TYPES:
                self.error(entry.entries["key"].line, f"{where}.key", f"'{key}' is already a built-in crisis type")
            elif key is not None and any(d["key"] == key for d in defined):
                self.error(entry.entries["key"].line, f"{where}.key", f"crisis type '{key}' is defined twice")
            elif key is not None and name is not None:
                defined.append({"key": key, "name": name})
        return defined

    def _roles(self, node: _Node | None) -> dict[str, int] | None:
        """The roles the plan needs; None when `roles` itself is missing or not a mapping."""
        mapping = self._map(node, "roles", "a mapping of role -> minimum number of people")
        if mapping is None:
            return None
        roles: dict[str, int] = {}
        if not mapping.entries:
            self.error(mapping.line, "roles", "a plan needs at least one role")
        for role, value in mapping.entries.items():
            where = f"roles.{role}"
            if role not in ROLES:
                self.error(mapping.key_lines[role], where, f"unknown role '{_shown(role)}' (expected {_or(ROLES)})")
                continue
            count = self._int(value, where, "the minimum number of people", minimum=1)
            # A role with a bad count is still one the plan needs: tasks may use it.
            roles[role] = count if count is not None else 0
        return roles

    # --- statements ------------------------------------------------------------------------
    def _statements(self, node: _Node | None, staffed: dict[str, int] | None) -> dict[str, Any] | None:
        """The `statements:` section, normalised: approvals {kind: [roles]},
        approval_deadlines {kind: seconds}, internal_notice_first (bool)."""
        from crisisflow.statements.kinds import KINDS

        mapping = self._map(node, "statements", "a mapping (approvals, approval_deadlines, internal_notice_first)")
        if mapping is None:
            return None
        self._fields(mapping, "statements", STATEMENT_FIELDS, ())
        found: dict[str, Any] = {"approvals": {}, "approval_deadlines": {}, "internal_notice_first": False}
        kinds = list(KINDS)

        def kind_ok(section: _Map, kind: str, where: str) -> bool:
            if kind in KINDS:
                return True
            close = difflib.get_close_matches(kind, kinds, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected {_or(kinds)}"
            self.error(section.key_lines[kind], where, f"unknown kind of statement '{_shown(kind)}' ({hint})")
            return False

        approvals = self._map(mapping.get("approvals"), "statements.approvals", "a mapping of kind -> list of roles")
        for kind, value in (approvals.entries if approvals else {}).items():
            where = f"statements.approvals.{kind}"
            if not kind_ok(approvals, kind, where):
                continue
            items = self._list(value, where, "a list of roles that must approve", True)
            roles: list[str] = []
            for i, item in enumerate(items or []):
                role = self._choice(item, f"{where}[{i}]", "approving role", APPROVER_ROLES)
                if role is not None and staffed is not None and role not in staffed and role != "commander":
                    self.error(
                        item.line,
                        f"{where}[{i}]",
                        f"role '{role}' approves statements but the plan does not staff it (add it under roles)",
                    )
                    continue
                if role is not None and role not in roles:
                    roles.append(role)
            if roles:
                found["approvals"][kind] = roles
        deadlines = self._map(
            mapping.get("approval_deadlines"), "statements.approval_deadlines", "a mapping of kind -> duration"
        )
        for kind, value in (deadlines.entries if deadlines else {}).items():
            where = f"statements.approval_deadlines.{kind}"
            if kind_ok(deadlines, kind, where):
                seconds = self._duration(value, where)
                if seconds is not None:
                    found["approval_deadlines"][kind] = seconds
        first = mapping.get("internal_notice_first")
        if first is not None and not _broken(first):
            if isinstance(first, _Scalar) and isinstance(first.value, bool):
                found["internal_notice_first"] = first.value
            else:
                self.error(
                    first.line, "statements.internal_notice_first", f"expected true or false, found {_found(first)}"
                )
        return found

    # --- tasks ------------------------------------------------------------------------------
    def _tasks(self, node: _Node | None) -> list[_TaskInfo] | None:
        items = self._list(node, "tasks", "a list of tasks", True)
        if items is None:
            return None
        tasks = []
        for i, item in enumerate(items):
            where = f"tasks[{i}]"
            task = self._map(item, where, "a task (a mapping of fields)")
            if task is not None:
                tasks.append(self._task(task, i, where))
        return tasks

    def _task(self, task: _Map, index: int, where: str) -> _TaskInfo:
        info = _TaskInfo(index=index, where=where, line=task.line)
        self._fields(task, where, TASK_FIELDS, TASK_REQUIRED)
        info.key = self._slug(task.get("key"), f"{where}.key", "task key")
        info.key_line = task.key_lines.get("key", task.line)
        title = self._text(task.get("title"), f"{where}.title")
        instructions = self._text(task.get("instructions"), f"{where}.instructions")
        if task.get("role") is not None:
            info.role = self._choice(task.entries["role"], f"{where}.role", "role", ROLES)
            info.role_line = task.entries["role"].line
        stage = self._choice(task.get("stage"), f"{where}.stage", "stage", STAGES)

        due = self._map(task.get("due"), f"{where}.due", "a mapping with anchor and offset")
        if due is not None:
            self._fields(due, f"{where}.due", DUE_FIELDS, DUE_FIELDS)
            info.anchor = self._anchor(due.get("anchor"), f"{where}.due.anchor")
            info.anchor_line = due.entries["anchor"].line if "anchor" in due.entries else due.line
            info.offset = self._duration(due.get("offset"), f"{where}.due.offset")
            info.offset_line = due.entries["offset"].line if "offset" in due.entries else due.line

        if "depends_on" in task.entries:
            deps = self._list(task.entries["depends_on"], f"{where}.depends_on", "a list of task keys", False)
            listed: set[str] = set()
            for i, item in enumerate(deps or []):
                dep_where = f"{where}.depends_on[{i}]"
                dep = self._string(item, dep_where, "a task key")
                if dep is None:
                    continue
                if dep in listed:
                    self.error(item.line, dep_where, f"task '{_shown(dep)}' is listed twice")
                    continue
                listed.add(dep)
                info.depends_on.append((dep, item.line, dep_where))

        checklist: list[dict[str, str] | None] = []
        if "checklist" in task.entries:
            items = self._list(task.entries["checklist"], f"{where}.checklist", "a list of texts", False)
            checklist = [self._text(item, f"{where}.checklist[{i}]") for i, item in enumerate(items or [])]

        floor, facts = self._conditions(task.get("conditions"), f"{where}.conditions")

        if "gates" in task.entries:
            info.gates_given = True
            info.gates_line = task.entries["gates"].line
            info.gates = self._choice(task.entries["gates"], f"{where}.gates", "state to gate", GATES)
        info.deliverable = Deliverable.NONE.value
        if "deliverable" in task.entries:
            info.deliverable = self._choice(
                task.entries["deliverable"], f"{where}.deliverable", "deliverable", DELIVERABLES
            )
        alerts = self._alerts(task.get("alerts"), f"{where}.alerts")

        info.definition = {
            "key": info.key,
            "title": title,
            "instructions": instructions,
            "role": info.role,
            "stage": stage,
            "anchor": info.anchor,
            "offset": info.offset,
            "depends_on": [dep for dep, _, _ in info.depends_on],
            "checklist": checklist,
            "severity_at_least": floor,
            "facts": facts,
            "gates": info.gates,
            "deliverable": info.deliverable,
            "alerts": alerts,
        }
        return info

    def _alerts(self, node: _Node | None, where: str) -> dict[str, Any] | None:
        """A task's own escalation ladder: only the keys given, durations in seconds.

        The engine merges it over settings' TASK_LADDER key by key, so a key given here
        replaces that default entirely (an escalate_after lists every audience to hear).
        """
        if node is None:
            return None
        alerts = self._map(node, where, f"a mapping with {_or(ALERT_FIELDS)}")
        if alerts is None:
            return None
        self._fields(alerts, where, ALERT_FIELDS, ())
        ladder: dict[str, Any] = {}

        if "remind_at_half" in alerts.entries:
            value = alerts.entries["remind_at_half"]
            field_where = f"{where}.remind_at_half"
            if isinstance(value, _Scalar) and isinstance(value.value, bool):
                ladder["remind_at_half"] = value.value
            elif not _broken(value):
                self.error(value.line, field_where, f"expected yes/no (true or false), found {_found(value)}")

        if "remind_before" in alerts.entries:
            field_where = f"{where}.remind_before"
            items = self._list(
                alerts.entries["remind_before"], field_where, "a list of durations before due (or [] for none)", False
            )
            if items is not None:
                reminders: dict[int, int] = {}  # seconds -> index where first listed
                for i, item in enumerate(items):
                    seconds = self._duration(item, f"{field_where}[{i}]")
                    if seconds is None:
                        continue
                    if seconds in reminders:
                        first = reminders[seconds]
                        self.error(
                            item.line,
                            f"{field_where}[{i}]",
                            f"a reminder {format_duration(seconds)} before due is already listed "
                            f"({field_where}[{first}])",
                        )
                        continue
                    reminders[seconds] = i
                ladder["remind_before"] = list(reminders)

        if "escalate_after" in alerts.entries:
            field_where = f"{where}.escalate_after"
            audiences = self._map(
                alerts.entries["escalate_after"],
                field_where,
                "a mapping of audience -> duration after due, like {commander: 30m}",
            )
            if audiences is not None:
                escalations: dict[str, int] = {}
                for audience, value in audiences.entries.items():
                    audience_where = f"{field_where}.{audience}"
                    if audience not in ESCALATION_AUDIENCES:
                        if audience == "assignee":
                            message = (
                                "the assignee is reminded, not escalated to (use remind_before or "
                                f"remind_at_half); expected {_or(ESCALATION_AUDIENCES)}"
                            )
                        else:
                            message = f"unknown audience '{_shown(audience)}' (expected {_or(ESCALATION_AUDIENCES)})"
                        self.error(audiences.key_lines[audience], audience_where, message)
                        continue
                    seconds = self._duration(value, audience_where)
                    if seconds is not None:
                        escalations[audience] = seconds
                ladder["escalate_after"] = escalations
        return ladder

    def _anchor(self, node: _Node | None, where: str) -> str | None:
        if node is None:
            return None
        anchor = self._string(node, where, f"an anchor ({ANCHOR_HINT})")
        if anchor is None:
            return None
        task_key = anchor.removeprefix(TASK_ANCHOR_PREFIX)
        if anchor in ANCHORS or (anchor.startswith(TASK_ANCHOR_PREFIX) and SLUG_RE.fullmatch(task_key)):
            return anchor
        self.error(node.line, where, f"unknown anchor '{_shown(anchor)}' (expected {ANCHOR_HINT})")
        return None

    def _conditions(self, node: _Node | None, where: str) -> tuple[str | None, dict[str, Any]]:
        if node is None:
            return None, {}
        conditions = self._map(node, where, "a mapping with severity_at_least and/or facts")
        if conditions is None:
            return None, {}
        self._fields(conditions, where, CONDITION_FIELDS, ())
        floor = None
        if "severity_at_least" in conditions.entries:
            floor = self._choice(
                conditions.entries["severity_at_least"], f"{where}.severity_at_least", "severity", SEVERITIES
            )
        facts: dict[str, Any] = {}
        tests = None
        if "facts" in conditions.entries:
            tests = self._map(conditions.entries["facts"], f"{where}.facts", "a mapping of fact -> test")
        if tests is not None:
            for name, test in tests.entries.items():
                fact_where = f"{where}.facts.{name}"
                fact = FACTS.get(name)
                if fact is None:
                    self.error(
                        tests.key_lines[name], fact_where, f"unknown fact '{_shown(name)}' (expected {_or(FACTS)})"
                    )
                elif _broken(test):
                    continue
                elif fact.kind is bool:
                    if isinstance(test, _Scalar) and isinstance(test.value, bool):
                        facts[name] = test.value
                    else:
                        self.error(
                            test.line,
                            fact_where,
                            f"{name} is a yes/no fact: expected true or false, found {_found(test)}",
                        )
                else:
                    comparisons = self._number_test(test, fact_where, name)
                    if comparisons is not None:
                        facts[name] = comparisons
        return floor, facts

    def _number_test(self, node: _Node, where: str, name: str) -> dict[str, int] | None:
        expected = f"a mapping of one or more of {_or(NUMBER_COMPARISONS)} -> integer, like {{gt: 10000}}"
        if not isinstance(node, _Map) or not node.entries:
            self.error(node.line, where, f"{name} is a number fact: expected {expected}, found {_found(node)}")
            return None
        comparisons: dict[str, int] = {}
        for op, value in node.entries.items():
            if op not in NUMBER_COMPARISONS:
                self.error(
                    node.key_lines[op],
                    f"{where}.{op}",
                    f"unknown comparison '{_shown(op)}' (expected {_or(NUMBER_COMPARISONS)})",
                )
                continue
            number = self._int(value, f"{where}.{op}", f"a number to compare {name} with", minimum=None)
            if number is not None:
                comparisons[op] = number
        return comparisons if len(comparisons) == len(node.entries) else None

    def _task_rules(self, tasks: list[_TaskInfo], roles: set[str] | None) -> None:
        """Rules between tasks: unique keys, known dependencies, anchors, roles, cycles.

        `roles` is None when the roles mapping itself is broken (already an error); then
        no task is blamed for using a role it does not list.
        """
        by_key: dict[str, _TaskInfo] = {}
        for task in tasks:
            if task.key is None:
                continue
            if task.key in by_key:
                first = by_key[task.key]
                self.error(
                    task.key_line,
                    f"{task.where}.key",
                    f"duplicate task key '{task.key}' (already used by {first.where} on line {first.key_line})",
                )
            else:
                by_key[task.key] = task

        for task in tasks:
            if roles is not None and task.role is not None and task.role not in roles:
                needed = f"roles: {', '.join(sorted(roles))}" if roles else "the plan lists no roles"
                self.error(
                    task.role_line,
                    f"{task.where}.role",
                    f"role '{task.role}' is not one of the roles this plan needs ({needed}); add it under roles",
                )
            for dep, line, where in task.depends_on:
                if dep not in by_key and self.full:
                    self.error(line, where, "")  # only counted; the hint would cost a search
                elif dep not in by_key:
                    self.error(line, where, f"unknown task '{_shown(dep)}' ({_no_such_task(dep, by_key)})")
            if task.anchor is not None and task.anchor.startswith(TASK_ANCHOR_PREFIX):
                target = task.anchor.removeprefix(TASK_ANCHOR_PREFIX)
                where = f"{task.where}.due.anchor"
                if target not in by_key:
                    self.error(
                        task.anchor_line,
                        where,
                        f"unknown task '{_shown(target)}' in anchor ({_no_such_task(target, by_key)})",
                    )
                elif all(dep != target for dep, _, _ in task.depends_on):
                    self.error(
                        task.anchor_line,
                        where,
                        f"the anchor task '{target}' must also be listed in depends_on "
                        "(a task cannot fall due before the task it counts from is done)",
                    )

        # Only first occurrences of each key take part: a duplicate is already an error.
        graph = {key: [dep for dep, _, _ in task.depends_on if dep in by_key] for key, task in by_key.items()}
        for cycle in _cycles(graph):
            start = by_key[cycle[0]]
            line = next(line for dep, line, _ in start.depends_on if dep == cycle[1])
            shown = cycle if len(cycle) <= 12 else [*cycle[:10], f"... ({len(cycle) - 1} tasks)", cycle[-1]]
            self.error(line, f"{start.where}.depends_on", f"dependency cycle: {' -> '.join(shown)}")

    def _golden_rule(self, tasks: list[_TaskInfo], limit: int, root: _Map) -> None:
        """The golden 4 hours (README): a plan serving high/critical has a qualifying holding
        statement. When holding-statement tasks exist but none qualifies, each is told why."""
        candidates = [t for t in tasks if t.deliverable == Deliverable.HOLDING_STATEMENT]
        if not candidates:
            self.error(
                root.key_lines["tasks"],
                "tasks",
                "a plan serving high or critical severity needs a holding statement (the golden 4 hours): "
                f"a task with deliverable holding_statement, anchored on detected, due within "
                f"{format_duration(limit)} and gating info_published; none found",
            )
            return
        problems: list[list[tuple[int, str, str]]] = []
        for task in candidates:
            found: list[tuple[int, str, str]] = []
            # A value that is None was already reported as invalid; do not pile on.
            if task.anchor is not None and task.anchor != Anchor.DETECTED:
                found.append(
                    (
                        task.anchor_line,
                        f"{task.where}.due.anchor",
                        f"the holding statement must be anchored on detected (the golden 4 hours count "
                        f"from detection), found '{task.anchor}'",
                    )
                )
            if task.offset is not None and task.offset > limit:
                found.append(
                    (
                        task.offset_line,
                        f"{task.where}.due.offset",
                        f"the holding statement is due {format_duration(task.offset)} after detection; a plan "
                        f"serving high or critical severity must publish it within {format_duration(limit)} "
                        "(first_statement_within, at most 4h)",
                    )
                )
            if task.gates != State.INFO_PUBLISHED and not (task.gates_given and task.gates is None):
                shown = f"'{task.gates}'" if task.gates else "no gates"
                found.append(
                    (
                        task.gates_line or task.line,
                        f"{task.where}.gates",
                        f"the holding statement must gate info_published (nothing is published before it), "
                        f"found {shown}",
                    )
                )
            problems.append(found)
        if all(problems):
            for found in problems:
                for line, where, message in found:
                    self.error(line, where, message)

    # --- value checks: each reports and returns None when the value is wrong ----------------
    def _fields(
        self, mapping: _Map, where: str, allowed: Sequence[str], required: Sequence[str], missing: str = ""
    ) -> None:
        for name, line in mapping.key_lines.items():
            if name not in allowed:
                self.error(
                    line, _join(where, name), f"unknown field '{_shown(name)}' (allowed here: {', '.join(allowed)})"
                )
        for name in required:
            if name not in mapping.entries:
                self.error(mapping.line, _join(where, name), missing or "required field is missing")

    def _map(self, node: _Node | None, where: str, expected: str) -> _Map | None:
        if node is None or _broken(node):
            return None  # missing (reported by _fields) or unreadable (reported on reading)
        if isinstance(node, _Map):
            return node
        self.error(node.line, where, f"expected {expected}, found {_found(node)}")
        return None

    def _list(self, node: _Node | None, where: str, expected: str, non_empty: bool) -> list[_Node] | None:
        if node is None or _broken(node):
            return None
        if not isinstance(node, _Seq):
            self.error(node.line, where, f"expected {expected}, found {_found(node)}")
            return None
        if non_empty and not node.items:
            self.error(node.line, where, f"expected {expected} with at least one entry, found an empty list")
            return None
        return node.items

    def _string(self, node: _Node | None, where: str, expected: str) -> str | None:
        if node is None or _broken(node):
            return None
        if isinstance(node, _Scalar) and isinstance(node.value, str) and node.value.strip():
            return node.value
        self.error(node.line, where, f"expected {expected}, found {_found(node)}")
        return None

    def _choice(self, node: _Node | None, where: str, noun: str, allowed: Sequence[str]) -> str | None:
        if node is None:
            return None
        value = self._string(node, where, f"a {noun} ({_or(allowed)})")
        if value is None or value in allowed:
            return value
        self.error(node.line, where, f"unknown {noun} '{_shown(value)}' (expected {_or(allowed)})")
        return None

    def _slug(self, node: _Node | None, where: str, noun: str) -> str | None:
        value = self._string(node, where, f"a {noun}")
        if value is None or node is None:
            return None
        if not SLUG_RE.fullmatch(value):
            self.error(
                node.line,
                where,
                f"invalid {noun} '{_shown(value)}' (use lower-case letters, digits, '-' and '_', "
                "starting with a letter or digit)",
            )
            return None
        if len(value) > KEY_MAX_LENGTH:
            self.error(node.line, where, f"{noun} is longer than {KEY_MAX_LENGTH} characters")
            return None
        return value

    def _text(self, node: _Node | None, where: str) -> dict[str, str] | None:
        text = self._map(node, where, "a text with zh and en")
        if text is None:
            return None
        self._fields(text, where, LANGUAGES, LANGUAGES, "missing translation (a text needs both zh and en)")
        values = {lang: self._string(text.get(lang), f"{where}.{lang}", "a non-empty string") for lang in LANGUAGES}
        if any(v is None for v in values.values()):
            return None
        return {lang: value for lang, value in values.items() if value is not None}

    def _int(self, node: _Node, where: str, expected: str, minimum: int | None) -> int | None:
        if _broken(node):
            return None
        # bool is an int in Python; `true` is not a number of people.
        if not isinstance(node, _Scalar) or not isinstance(node.value, int) or isinstance(node.value, bool):
            self.error(node.line, where, f"expected {expected} (an integer), found {_found(node)}")
            return None
        if minimum is not None and node.value < minimum:
            self.error(node.line, where, f"expected {expected} (an integer of at least {minimum}), found {node.value}")
            return None
        return node.value

    def _optional_duration(self, mapping: _Map, name: str) -> int | None:
        return self._duration(mapping.get(name), name) if name in mapping.entries else None

    def _duration(self, node: _Node | None, where: str) -> int | None:
        if node is None or _broken(node):
            return None
        if not isinstance(node, _Scalar) or not isinstance(node.value, str) or not node.value:
            self.error(node.line, where, f"expected a duration ({DURATION_HINT}), found {_found(node)}")
            return None
        match = DURATION_RE.fullmatch(node.value)
        if match is None:
            self.error(node.line, where, f"invalid duration '{_shown(node.value)}' (expected {DURATION_HINT})")
            return None
        days, hours, minutes = (int(part or 0) for part in match.groups())
        seconds = days * 86400 + hours * 3600 + minutes * 60
        if seconds <= 0:
            self.error(node.line, where, f"a duration must be greater than zero, found '{_shown(node.value)}'")
            return None
        if seconds > MAX_DURATION_DAYS * 86400:
            self.error(node.line, where, f"a duration must be at most {MAX_DURATION_DAYS}d, found '{node.value}'")
            return None
        return seconds


# --- helpers ---------------------------------------------------------------------------------


def _cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """One cycle per strongly connected component, e.g. ['a', 'b', 'a'].

    Tarjan's algorithm finds the components; inside each, a breadth-first search from its
    first task (in file order) gives the shortest way back to it. One error per tangle
    reads better than one per back edge.
    """
    order = {key: i for i, key in enumerate(graph)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(root: str) -> None:
        # Depth-first with an explicit stack of (task, its next dependency to look at):
        # a chain of a few thousand tasks must not run out of Python's call stack.
        path: list[tuple[str, int]] = [(root, 0)]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while path:
            node, position = path[-1]
            deps = graph[node]
            if position < len(deps):
                path[-1] = (node, position + 1)
                nxt = deps[position]
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    path.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            path.pop()
            if path:
                parent = path[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)

    for node in graph:
        if node not in index:
            visit(node)

    cycles = []
    for component in components:
        members = set(component)
        if len(component) == 1 and component[0] not in graph[component[0]]:
            continue
        start = min(component, key=order.__getitem__)
        parent: dict[str, str] = {}
        queue = deque([start])
        last: str | None = None
        while queue and last is None:
            node = queue.popleft()
            for nxt in graph[node]:
                if nxt == start:
                    last = node
                    break
                if nxt in members and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        assert last is not None  # a strongly connected component always leads back
        path = []
        node = last
        while node != start:
            path.append(node)
            node = parent[node]
        cycles.append([start, *reversed(path), start])
    cycles.sort(key=lambda cycle: order[cycle[0]])
    return cycles


def _broken(node: _Node) -> bool:
    return isinstance(node, _Scalar) and node.broken


def _character_at(text: str, line: int, column: int) -> str:
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    return text[start + column : start + column + 1]


def _shown(value: str, limit: int = 60) -> str:
    """A value quoted in a message, cut short: the message is about the value, not a copy."""
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _or(items: Iterable[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _found(node: _Node) -> str:
    """How a wrong value reads in a message: 'a list', 'the integer 3', 'nothing (null)'."""
    if isinstance(node, _Map):
        return "a mapping"
    if isinstance(node, _Seq):
        return "a list"
    value = node.value
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"the yes/no value {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        if not value.strip():
            return "an empty string"
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string '{shown}'"
    return f"a {type(value).__name__} ({value})"


def _no_such_task(key: str, tasks: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(key, list(tasks), n=1)
    return f"did you mean '{close[0]}'?" if close else "no task in this file has that key"


def _unknown_crisis_type(crisis_type: str, defined: set[str]) -> str:
    message = (
        f"unknown crisis type '{_shown(crisis_type)}' (expected a built-in type: {', '.join(BUILTIN_CRISIS_TYPES)}"
    )
    if defined:
        message += f"; or one a playbook defines: {', '.join(sorted(defined))}"
    else:
        message += "; or one a playbook defines under defines_crisis_types"
    return message + ")"
