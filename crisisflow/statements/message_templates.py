"""Statement templates: the first drafts of the message set, as data files beside the
playbooks (playbooks/statements/*.yaml), checked like playbooks.

One file per crisis type (`crisis_type: data_breach`) plus `default.yaml`
(`crisis_type: default`), which must hold every kind. A crisis type's file may give any
kinds; the rest come from the default. Each kind gives a text in both languages::

    crisis_type: data_breach
    kinds:
      holding_statement:
        zh-hans:
          body: |
            ……{what}……
        en:
          title: About {incident_title}     # kinds with a title line need one
          body: |
            …{what}…

Placeholders in braces are filled from the fact sheet (PLACEHOLDERS); `{{` and `}}`
are a brace. Every error is `path:line: field: message`, and the files are used all or
none: one bad file and drafting refuses with the list (a half-valid set would draft some
kinds from a stale text). The files are read again when one of them changes.
"""

from __future__ import annotations

import difflib
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from crisisflow import conf
from crisisflow.playbooks.schema import FILE_FIELD, PlaybookError, read_sources, sort_errors
from crisisflow.statements import kinds
from crisisflow.vocab import CrisisType

DEFAULT = "default"
TOP_FIELDS = ("crisis_type", "kinds")
TEXT_FIELDS = ("title", "body")
MAX_NESTING = 8
MAX_VALUES = 2_000
MAX_VALUE_CHARS = 10_000

# What a template may say in braces, and what it becomes (crisisflow.statements.drafting).
PLACEHOLDERS = {
    "incident_title": "the incident's title",
    "what": "what happened (worded as preliminary while unconfirmed)",
    "outbreak": "when it started",
    "discovery": "when it was found",
    "affected": "who and how many are affected (the incident's scope facts)",
    "regions": "the regions affected",
    "cause": "the cause, or that it is under investigation",
    "done": "what has been done, one line each",
    "next": "what will be done, one line each with its date",
    "next_update": "the date of the next commitment (when to expect news)",
    "compensation": "the compensation",
    "help": "where affected people get help, in one sentence",
    "hotline": "the hotline",
    "help_page": "the help page",
    "help_email": "the help e-mail address",
    "qa": "the questions and answers, one pair each",
    "today": "the day the draft is made",
}

CRISIS_TYPES = (DEFAULT, *(c.value for c in CrisisType))

TemplateError = PlaybookError


class TemplatesCheckFailed(Exception):
    """At least one template file has an error; no template is used."""

    def __init__(self, errors: list[PlaybookError]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} statement template error(s)")


@dataclass(frozen=True)
class Template:
    title: str
    body: str


# {crisis_type: {kind: {language: Template}}}
Templates = dict[str, dict[str, dict[str, Template]]]


def template_dir() -> Path:
    return Path(conf.setting("PLAYBOOK_DIR")) / "statements"


def default_paths() -> list[Path]:
    return sorted(template_dir().glob("*.yaml"))


# --- reading YAML with line numbers ---------------------------------------------------------


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[PlaybookError] = []

    def add(self, line: int, field: str, message: str) -> None:
        self.errors.append(PlaybookError(self.path, line, field or FILE_FIELD, message))


def _refuse_unsafe(text: str, problems: _Problems) -> bool:
    """Walk the YAML events: anchors, aliases and tags are refused (a template never
    needs them, and aliases are what a "billion laughs" file is made of), and so is
    nesting or size past the limits. True when the text may be composed."""
    depth = values = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent):
                problems.add(line, "", "YAML aliases are not allowed; write the value out in full")
                continue
            if getattr(event, "anchor", None):
                problems.add(line, "", "YAML anchors are not allowed; write the value out in full")
            if getattr(event, "tag", None) not in (None, "!"):
                problems.add(line, "", f"YAML tags are not allowed ({str(event.tag)[:60]})")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    problems.add(line, "", f"values are nested more than {MAX_NESTING} levels deep")
                    return False
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                values += 1
                if values > MAX_VALUES:
                    problems.add(line, "", f"the file holds more than {MAX_VALUES:,} values")
                    return False
            if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_VALUE_CHARS:
                problems.add(line, "", f"a value of {len(event.value):,} characters (at most {MAX_VALUE_CHARS:,})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        problems.add(mark.line + 1 if mark else 1, "", f"not valid YAML: {reason}")
        return False
    return not problems.errors


def _compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, where: str, problems: _Problems) -> dict[str, tuple[int, yaml.Node]] | None:
    if not isinstance(node, yaml.MappingNode):
        problems.add(_line(node), where, "expected a mapping of fields")
        return None
    entries: dict[str, tuple[int, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            problems.add(_line(key_node), where, "expected a field name")
            continue
        name = key_node.value
        if name in entries:
            problems.add(
                _line(key_node),
                f"{where}.{name}" if where else name,
                f"duplicate key '{name[:60]}' (first given on line {entries[name][0]})",
            )
            continue
        entries[name] = (_line(key_node), value_node)
    return entries


def _unknown(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (use {', '.join(known)})"
    return f"unknown '{name[:60]}'{hint}"


def _placeholder_problems(value: str) -> list[tuple[int, str]]:
    """(offset into value, message) for every bad placeholder."""
    found: list[tuple[int, str]] = []
    position = 0
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError as exc:
        return [(0, f"braces do not match ({exc}); write {{{{ and }}}} for a brace")]
    for literal, name, spec, conversion in parsed:
        position += len(literal)
        if name is None:
            continue
        offset = value.find("{" + name, position)
        offset = position if offset < 0 else offset
        if name not in PLACEHOLDERS:
            close = difflib.get_close_matches(name, list(PLACEHOLDERS), n=1)
            hint = f" (did you mean {{{close[0]}}}?)" if close else f" (use {', '.join(PLACEHOLDERS)})"
            found.append((offset, f"unknown placeholder {{{name[:60]}}}{hint}"))
        elif spec or conversion:
            found.append((offset, f"write the placeholder as {{{name}}}, without a format"))
        position = offset + len(name) + 2
    return found


def _text(node: yaml.Node, where: str, problems: _Problems) -> str | None:
    if not isinstance(node, yaml.ScalarNode):
        problems.add(_line(node), where, "expected text")
        return None
    value = node.value
    start = _line(node) + (1 if node.style in ("|", ">") else 0)
    for offset, message in _placeholder_problems(value):
        problems.add(start + value.count("\n", 0, offset), where, message)
    return value


def _check_one(path: str, text: str) -> tuple[str | None, int, dict[str, dict[str, Template]], list[PlaybookError]]:
    """(crisis type, its line, {kind: {language: Template}}, errors) of one file."""
    problems = _Problems(path)
    if not _refuse_unsafe(text, problems):
        return None, 1, {}, problems.errors
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:  # pragma: no cover - the event walk found these already
        problems.add(1, "", f"not valid YAML: {exc}")
        return None, 1, {}, problems.errors
    if root is None:
        problems.add(1, "", "the file is empty")
        return None, 1, {}, problems.errors
    top = _mapping(root, "", problems)
    if top is None:
        return None, 1, {}, problems.errors
    for name, (line, _node) in top.items():
        if name not in TOP_FIELDS:
            problems.add(line, name, _unknown(name, TOP_FIELDS))
    crisis_type, type_line = None, 1
    if "crisis_type" not in top:
        problems.add(1, "crisis_type", "required: the crisis type these templates serve, or 'default'")
    else:
        type_line, node = top["crisis_type"]
        if isinstance(node, yaml.ScalarNode) and node.value in CRISIS_TYPES:
            crisis_type = node.value
        else:
            shown = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
            problems.add(type_line, "crisis_type", _unknown(str(shown), CRISIS_TYPES))
    result: dict[str, dict[str, Template]] = {}
    if "kinds" not in top:
        problems.add(1, "kinds", "required: the templates, by kind of statement")
        return crisis_type, type_line, result, problems.errors
    kinds_line, kinds_node = top["kinds"]
    entries = _mapping(kinds_node, "kinds", problems) or {}
    for kind_key, (line, node) in entries.items():
        where = f"kinds.{kind_key}"
        if kind_key not in kinds.KINDS:
            problems.add(line, where, _unknown(kind_key, kinds.KINDS))
            continue
        languages = _mapping(node, where, problems)
        if languages is None:
            continue
        for language, (lang_line, _n) in languages.items():
            if language not in kinds.LANGUAGES:
                problems.add(lang_line, f"{where}.{language}", _unknown(language, kinds.LANGUAGES))
        texts: dict[str, Template] = {}
        for language in kinds.LANGUAGES:
            if language not in languages:
                problems.add(line, f"{where}.{language}", "required: every template is given in zh-hans and en")
                continue
            lang_line, lang_node = languages[language]
            lwhere = f"{where}.{language}"
            fields = _mapping(lang_node, lwhere, problems)
            if fields is None:
                continue
            for name, (field_line, _n) in fields.items():
                if name not in TEXT_FIELDS:
                    problems.add(field_line, f"{lwhere}.{name}", _unknown(name, TEXT_FIELDS))
            title = _text(fields["title"][1], f"{lwhere}.title", problems) if "title" in fields else ""
            if "body" not in fields:
                problems.add(lang_line, f"{lwhere}.body", "required: the text of the statement")
                continue
            body = _text(fields["body"][1], f"{lwhere}.body", problems)
            if not (body or "").strip():
                problems.add(fields["body"][0], f"{lwhere}.body", "the text is empty")
                continue
            if kinds.KINDS[kind_key].has_title and not (title or "").strip():
                problems.add(lang_line, f"{lwhere}.title", "required: this kind has a title or subject line")
            texts[language] = Template((title or "").strip(), body.strip() + "\n")
        result[kind_key] = texts
    if crisis_type == DEFAULT:
        missing = [key for key in kinds.KINDS if key not in entries]
        if missing:
            problems.add(
                kinds_line, "kinds", "the default templates must give every kind; missing: " + ", ".join(missing)
            )
    return crisis_type, type_line, result, problems.errors


def check_sources(sources: dict[str, str]) -> tuple[Templates, list[PlaybookError]]:
    """Check the texts of template files ({path: text}), across files too: one file per
    crisis type, and a default file."""
    templates: Templates = {}
    errors: list[PlaybookError] = []
    seen: dict[str, str] = {}
    for path, text in sources.items():
        crisis_type, line, result, file_errors = _check_one(path, text)
        errors += file_errors
        if crisis_type is None:
            continue
        if crisis_type in seen:
            errors.append(
                PlaybookError(path, line, "crisis_type", f"'{crisis_type}' is also served by {seen[crisis_type]}")
            )
            continue
        seen[crisis_type] = path
        templates[crisis_type] = result
    if sources and DEFAULT not in seen and not errors:
        first = sorted(sources)[0]
        errors.append(PlaybookError(first, 1, "crisis_type", "no file has 'crisis_type: default' (default.yaml)"))
    return ({} if errors else templates), sort_errors(errors)


def check_files(paths: Iterable[Path]) -> tuple[Templates, list[PlaybookError]]:
    sources, read_errors = read_sources(paths)
    templates, errors = check_sources(sources)
    errors = sort_errors(read_errors + errors)
    return ({} if errors else templates), errors


# --- the loaded set, read again when a file changes -------------------------------------------

_lock = threading.Lock()
_cache: dict[str, object] = {}


def _stamp(paths: list[Path]) -> tuple:
    stamp = []
    for path in paths:
        try:
            info = path.stat()
            stamp.append((str(path), info.st_mtime_ns, info.st_size))
        except OSError:
            stamp.append((str(path), None, None))
    return tuple(stamp)


def load() -> Templates:
    """Every template, or TemplatesCheckFailed listing every error (none is used)."""
    paths = default_paths()
    stamp = _stamp(paths)
    with _lock:
        if _cache.get("stamp") == stamp:
            return _cache["templates"]  # type: ignore[return-value]
    if not paths:
        raise TemplatesCheckFailed([PlaybookError(str(template_dir()), 1, FILE_FIELD, "no statement templates found")])
    templates, errors = check_files(paths)
    if errors:
        raise TemplatesCheckFailed(errors)
    with _lock:
        _cache.update(stamp=stamp, templates=templates)
    return templates


def template_for(crisis_type: str, kind: str, language: str) -> Template:
    """The crisis type's own template for `kind`, else the default one."""
    templates = load()
    own = templates.get(crisis_type or DEFAULT, {}).get(kind, {}).get(language)
    return own or templates[DEFAULT][kind][language]
