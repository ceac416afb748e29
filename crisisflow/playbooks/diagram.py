"""The swimlane picture of a playbook: where each task goes, computed without a database.

A playbook gives deadlines relative to moments that have not happened yet ("2 h after
confirmation", "3 d after the first statement", "1 d after the fix is done"). To draw a
plan on one time axis, the picture assumes a timeline for those moments (ASSUMED_HOURS,
the first statement at the plan's golden clock) and puts a task anchored on another task
after that task's own due time. The page says so in its legend.

Time runs left to right in hours after detection on a piecewise scale: the golden four
hours are drawn to scale, since every half hour counts there; after that each doubling
of time takes the same width, so 30 minutes and 30 days both fit on a phone-sized scroll.

Everything here is plain data (numbers, keys, localised strings); the template turns it
into SVG and escapes every string.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crisisflow.playbooks.models import localized
from crisisflow.vocab import GOLDEN_CLOCK_SECONDS, TASK_ANCHOR_PREFIX, Role, Stage

HOUR = 3600
DAY = 24 * HOUR

# The assumed moments of the incident's own milestones, in hours after detection. When a
# plan's first statement is due sooner than 2 h, they shrink with it (see assumed_moments).
ASSUMED_HOURS = {"detected": 0.0, "confirmed": 0.5, "plan_activated": 1.0, "team_assembled": 1.5}

# --- the time scale ---------------------------------------------------------------------------

LINEAR_SECONDS = GOLDEN_CLOCK_SECONDS  # to scale up to here...
PX_PER_HOUR = 100
PX_PER_DOUBLING = 76  # ...then the same width for each doubling of time
# Where a tick may go; those beyond the last task are dropped.
TICK_SECONDS = (
    0,
    HOUR // 2,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    4 * HOUR,
    8 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    60 * DAY,
    90 * DAY,
    180 * DAY,
    365 * DAY,
)


def x_of(seconds: float) -> float:
    """Pixels from the start of the time axis for a moment `seconds` after detection."""
    seconds = max(0.0, seconds)
    linear_end = LINEAR_SECONDS / HOUR * PX_PER_HOUR
    if seconds <= LINEAR_SECONDS:
        return seconds / HOUR * PX_PER_HOUR
    return linear_end + PX_PER_DOUBLING * math.log2(seconds / LINEAR_SECONDS)


# --- durations in words -----------------------------------------------------------------------


def short_duration(seconds: int) -> str:
    """A duration the way a schedule says it: "30 min", "4 h", "1 h 30 min", "2 d"."""
    if seconds <= 0:
        return "0"
    days, rest = divmod(int(seconds), DAY)
    hours, rest = divmod(rest, HOUR)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(_("%(n)s d") % {"n": days})
    if hours:
        parts.append(_("%(n)s h") % {"n": hours})
    if minutes:
        parts.append(_("%(n)s min") % {"n": minutes})
    return " ".join(parts) or _("%(n)s min") % {"n": 0}


def hours_label(seconds: float) -> str:
    """An assumed moment, rounded to the minute: "≈ 3 d 4 h" reads better than 76.0."""
    return short_duration(round(seconds / 60) * 60)


def due_phrase(task: Mapping[str, Any], title_of: Callable[[str], str]) -> str:
    """When a task is due, in words: "4 h after detection", "2 d after “Fix the hole” is done".

    `title_of` gives the title of another task of the plan by its key.
    """
    duration = short_duration(task["offset"])
    anchor = task["anchor"]
    if anchor.startswith(TASK_ANCHOR_PREFIX):
        other = anchor[len(TASK_ANCHOR_PREFIX) :]
        return _("%(duration)s after “%(task)s” is done") % {"duration": duration, "task": title_of(other)}
    phrases = {
        "detected": _("%(duration)s after detection"),
        "confirmed": _("%(duration)s after confirmation"),
        "plan_activated": _("%(duration)s after the plan is activated"),
        "team_assembled": _("%(duration)s after the team is assembled"),
        "first_statement": _("%(duration)s after the first statement"),
    }
    return phrases.get(anchor, _("%(duration)s after %(anchor)s")) % {"duration": duration, "anchor": anchor}


# --- the assumed timeline ---------------------------------------------------------------------


def assumed_moments(definition: Mapping[str, Any]) -> dict[str, float]:
    """Seconds after detection at which the picture assumes each milestone anchor happens."""
    statement = float(definition.get("first_statement_within") or GOLDEN_CLOCK_SECONDS)
    # Confirmation, activation and the team come before the first statement; with a clock
    # shorter than 2 h the default half-hour steps would not, so they shrink with it.
    shrink = min(1.0, statement / (2 * HOUR))
    moments = {anchor: hours * HOUR * shrink for anchor, hours in ASSUMED_HOURS.items()}
    moments["first_statement"] = statement
    return moments


def due_seconds(definition: Mapping[str, Any]) -> dict[str, float]:
    """Each task's assumed due moment, in seconds after detection.

    A task counted from another task's completion starts from that task's own assumed due
    moment. An anchor that cannot be resolved (the schema forbids it, but the picture must
    not fail on an old stored definition) counts from plan activation, as the engine does
    for an anchor task that was not created.
    """
    moments = assumed_moments(definition)
    tasks = {task["key"]: task for task in definition["tasks"]}
    resolved: dict[str, float] = {}

    def resolve(key: str, visiting: frozenset[str]) -> float:
        if key in resolved:
            return resolved[key]
        task = tasks[key]
        anchor = task["anchor"]
        if anchor.startswith(TASK_ANCHOR_PREFIX):
            other = anchor[len(TASK_ANCHOR_PREFIX) :]
            if other in tasks and other not in visiting:
                start = resolve(other, visiting | {key})
            else:
                start = moments["plan_activated"]
        else:
            start = moments.get(anchor, moments["plan_activated"])
        resolved[key] = start + task["offset"]
        return resolved[key]

    for key in tasks:
        resolve(key, frozenset({key}))
    return resolved


# --- wrapping titles into boxes ----------------------------------------------------------------

# Estimated advance of one character, as a share of the font size: wide (CJK) characters
# are one em; Latin text averages a little over half an em in the UI fonts (bold: more).
WIDE_EM = 1.0
NARROW_EM = 0.47
NARROW_EM_BOLD = 0.56


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def text_px(text: str, size: float, bold: bool = False) -> float:
    """The estimated width of `text` in pixels at font size `size`."""
    narrow = NARROW_EM_BOLD if bold else NARROW_EM
    return sum(size * (WIDE_EM if _is_wide(ch) else narrow) for ch in text)


def wrap(
    text: str, width: float, max_lines: int, *, size: float = 11, bold: bool = False, first_width: float | None = None
) -> list[str]:
    """Break `text` into at most `max_lines` lines no wider than `width` pixels.

    Latin text breaks between words (a word too long for a line is cut); CJK text breaks
    between any two characters. The last line ends in "…" when something was left out.
    `first_width` narrows the first line (to leave room for a mark in the corner).
    """

    def room(index: int) -> float:
        return first_width if index == 0 and first_width is not None else width

    def fits(candidate: str, index: int) -> bool:
        return text_px(candidate, size, bold) <= room(index)

    tokens = _tokens(text)
    lines: list[str] = []
    line = ""
    i = 0
    while i < len(tokens):
        token = tokens[i] if line else tokens[i].lstrip()
        if not token:
            i += 1
            continue
        if fits(line + token, len(lines)):
            line += token
            i += 1
            continue
        if line:
            lines.append(line.rstrip())
            line = ""
        else:  # one word longer than a whole line: cut it
            cut = _fit(token, room(len(lines)), size, bold) or token[0]
            lines.append(cut)
            tokens[i] = token[len(cut) :]
        if len(lines) == max_lines:
            if any(t.strip() for t in tokens[i:]):
                last = max_lines - 1
                lines[last] = _fit(lines[last], room(last) - size * NARROW_EM, size, bold).rstrip() + "…"
            return lines
    if line:
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Words with their leading space, and every wide character on its own."""
    tokens: list[str] = []
    current = ""
    for ch in " ".join(text.split()):
        wide = _is_wide(ch)
        if wide or ch == " ":
            if current:
                tokens.append(current)
            current = ch if ch == " " else ""
            if wide:
                tokens.append(ch)
        else:
            current += ch
    if current:
        tokens.append(current)
    return tokens


def _fit(text: str, width: float, size: float, bold: bool) -> str:
    out = ""
    for ch in text:
        if text_px(out + ch, size, bold) > width:
            break
        out += ch
    return out


# --- the layout ----------------------------------------------------------------------------

LABEL_WIDTH = 112  # the lane-name column (its own SVG, kept in view while the plan scrolls)
HEADER_HEIGHT = 62  # stage names (on two rows where they would touch), then the time ticks
STAGE_ROWS_Y = (14, 29)
TICK_Y = 52
BOX_WIDTH = 100
BOX_HEIGHT = 38
BOX_GAP = 6  # horizontal room between two boxes in one row
ROW_GAP = 8
LANE_PAD = 8
TITLE_SIZE = 11
TITLE_INSET = 8  # after the stage stripe
TITLE_ROOM = BOX_WIDTH - TITLE_INSET - 4
GATE_MARK_ROOM = 11  # the flag in the top right corner of a gating task
TITLE_LINES = 2
LANE_NAME_SIZE = 12
BAND_LABEL_SIZE = 10.5
RIGHT_MARGIN = 24
FOOTER_HEIGHT = 26  # the labels of the golden line and the plan's clocks


@dataclass
class Box:
    key: str
    title: str  # the whole title, for the tooltip
    lines: list[str]
    role: str
    stage: str
    due: float  # assumed seconds after detection
    x: float  # left edge
    y: float  # top edge
    due_x: float  # where the deadline falls: the box is centred on it, unless that would cross an edge
    gates: str | None
    conditional: bool
    due_text: str = ""
    width: int = BOX_WIDTH
    height: int = BOX_HEIGHT
    row: int = 0

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def middle_y(self) -> float:
        return self.y + self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def title_rows(self) -> list[tuple[float, str]]:
        """(baseline, text) of each title line, centred in the box."""
        first = self.y + self.height / 2 - (len(self.lines) - 1) * 6.5 + 4
        return [(round(first + 13 * i, 1), line) for i, line in enumerate(self.lines)]


@dataclass
class Lane:
    role: str
    label: str
    label_lines: list[str]
    y: float
    height: float
    rows: int

    @property
    def label_rows(self) -> list[tuple[float, str]]:
        """(baseline, text) of each line of the lane's name, centred in the lane."""
        first = self.y + self.height / 2 - (len(self.label_lines) - 1) * 7.5 + 4
        return [(round(first + 15 * i, 1), line) for i, line in enumerate(self.label_lines)]


@dataclass
class Band:
    stage: str
    label: str  # the short name drawn in the header
    full_label: str
    index: int
    x: float
    width: float
    label_y: float = STAGE_ROWS_Y[0]


@dataclass
class Tick:
    seconds: int
    x: float
    label: str


@dataclass
class Arrow:
    source: str
    target: str
    path: str  # SVG path data


@dataclass
class Marker:
    """A vertical line: the golden 4 hours, the plan's own clocks."""

    x: float
    label: str
    kind: str  # golden, statement, critical


@dataclass
class Diagram:
    width: float  # of the plot (without the lane-name column)
    height: float  # down to the bottom of the last lane (the marker labels go below)
    label_width: int
    header_height: int
    lanes: list[Lane]
    bands: list[Band]
    ticks: list[Tick]
    boxes: list[Box]
    arrows: list[Arrow]
    markers: list[Marker]
    moments: dict[str, float]
    end_seconds: float
    boxes_by_key: dict[str, Box] = field(default_factory=dict)

    @property
    def tick_y(self) -> int:
        return TICK_Y

    @property
    def svg_height(self) -> float:
        return self.height + FOOTER_HEIGHT

    @property
    def marker_label_y(self) -> float:
        return self.height + 17


STAGE_ORDER = [stage.value for stage in Stage]
ROLE_ORDER = [role.value for role in Role]


def short_stage_label(stage: str) -> str:
    """The stage in one word, for the header of its band (the legend has the full name)."""
    return {
        "confirm": pgettext("stage, short", "Confirm"),
        "activate": pgettext("stage, short", "Activate"),
        "assemble": pgettext("stage, short", "Assemble"),
        "publish": pgettext("stage, short", "Publish"),
        "remediate": pgettext("stage, short", "Remediate"),
        "review": pgettext("stage, short", "Review"),
    }[stage]


def build(definition: Mapping[str, Any], pick: Callable[[Mapping[str, str]], str] = localized) -> Diagram:
    """Lay out a playbook definition (see schema.check_text for its shape) as swimlanes.

    `pick` chooses the language of a {zh, en} text; by default the active one.
    """
    moments = assumed_moments(definition)
    dues = due_seconds(definition)
    tasks = list(definition["tasks"])
    by_key = {task["key"]: task for task in tasks}

    def title_of(key: str) -> str:
        return pick(by_key[key]["title"]) if key in by_key else key

    end = max([moments["first_statement"], *dues.values()])

    plot_width = math.ceil(x_of(end) + BOX_WIDTH / 2 + RIGHT_MARGIN)

    # Lanes: every role the plan needs (and any role a task names), in the usual order.
    roles = set(definition.get("roles", {})) | {task["role"] for task in tasks}
    ordered_roles = sorted(roles, key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else len(ROLE_ORDER))

    boxes: dict[str, Box] = {}
    lanes: list[Lane] = []
    y = float(HEADER_HEIGHT)
    stage_rank = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    for role in ordered_roles:
        in_lane = sorted(
            (task for task in tasks if task["role"] == role),
            key=lambda t: (dues[t["key"]], stage_rank.get(t["stage"], 99), t["key"]),
        )
        row_ends: list[float] = []  # the right edge of the last box in each row
        placed: list[Box] = []
        for task in in_lane:
            due = dues[task["key"]]
            due_x = x_of(due)
            left = min(max(0.0, due_x - BOX_WIDTH / 2), plot_width - BOX_WIDTH - 2)
            row = next((i for i, end_x in enumerate(row_ends) if end_x + BOX_GAP <= left), len(row_ends))
            if row == len(row_ends):
                row_ends.append(0.0)
            row_ends[row] = left + BOX_WIDTH
            title = pick(task["title"])
            box = Box(
                key=task["key"],
                title=title,
                lines=wrap(
                    title,
                    TITLE_ROOM,
                    TITLE_LINES,
                    size=TITLE_SIZE,
                    first_width=TITLE_ROOM - GATE_MARK_ROOM if task.get("gates") else None,
                ),
                role=role,
                stage=task["stage"],
                due=due,
                x=round(left, 1),
                y=0.0,
                due_x=round(due_x, 1),
                gates=task.get("gates"),
                conditional=bool(task.get("severity_at_least") or task.get("facts")),
                due_text=due_phrase(task, title_of),
                row=row,
            )
            placed.append(box)
        rows = max(1, len(row_ends))
        height = LANE_PAD * 2 + rows * BOX_HEIGHT + (rows - 1) * ROW_GAP
        for box in placed:
            box.y = y + LANE_PAD + box.row * (BOX_HEIGHT + ROW_GAP)
            boxes[box.key] = box
        label = str(Role(role).label) if role in Role.values else role
        lanes.append(
            Lane(
                role=role,
                label=label,
                label_lines=wrap(label, LABEL_WIDTH - 14, 3, size=LANE_NAME_SIZE, bold=True),
                y=y,
                height=height,
                rows=rows,
            )
        )
        y += height
    height = y

    bands = _bands(definition, moments, dues, plot_width)
    ticks = [Tick(s, round(x_of(s), 1), short_duration(s)) for s in TICK_SECONDS if s <= end]
    markers = _markers(definition, plot_width)
    arrows = [
        Arrow(dep, task["key"], _arrow_path(boxes[dep], boxes[task["key"]]))
        for task in tasks
        for dep in task.get("depends_on", [])
        if dep in boxes
    ]
    return Diagram(
        width=plot_width,
        height=height,
        label_width=LABEL_WIDTH,
        header_height=HEADER_HEIGHT,
        lanes=lanes,
        bands=bands,
        ticks=ticks,
        boxes=[boxes[task["key"]] for task in tasks],
        arrows=arrows,
        markers=markers,
        moments=moments,
        end_seconds=end,
        boxes_by_key=boxes,
    )


def _bands(
    definition: Mapping[str, Any], moments: dict[str, float], dues: dict[str, float], plot_width: float
) -> list[Band]:
    """One band per stage: the stretch of the assumed timeline the incident spends in it.

    Confirm until confirmation, activate until activation, assemble until the team is
    assembled, publish until the first statement; remediation lasts until the last task
    that gates the review is due (or the last remediation task), the review after that.
    """
    tasks = definition["tasks"]
    review_gates = [dues[t["key"]] for t in tasks if t.get("gates") == "in_review"]
    remediation = [dues[t["key"]] for t in tasks if t["stage"] == "remediate"]
    review_starts = max(review_gates or remediation or [moments["first_statement"]])
    review_starts = max(review_starts, moments["first_statement"])
    edges = [
        0.0,
        moments["confirmed"],
        moments["plan_activated"],
        moments["team_assembled"],
        moments["first_statement"],
        review_starts,
    ]
    bands = []
    for index, stage in enumerate(STAGE_ORDER):
        left = x_of(edges[index])
        right = x_of(edges[index + 1]) if index + 1 < len(edges) else plot_width
        bands.append(
            Band(
                stage=stage,
                label=short_stage_label(stage),
                full_label=str(Stage(stage).label),
                index=index + 1,
                x=round(left, 1),
                width=round(max(0.0, right - left), 1),
            )
        )
    # A narrow band's name runs into the next one's: put it on the other row.
    row_ends = [-math.inf] * len(STAGE_ROWS_Y)
    for band in bands:
        if band.width <= 0:
            continue
        start = band.x + 4
        row = next((i for i, end_x in enumerate(row_ends) if end_x + 6 <= start), None)
        if row is None:
            row = min(range(len(row_ends)), key=row_ends.__getitem__)
        band.label_y = STAGE_ROWS_Y[row]
        row_ends[row] = start + text_px(band.label, BAND_LABEL_SIZE, bold=True)
    return bands


def _markers(definition: Mapping[str, Any], plot_width: float) -> list[Marker]:
    markers = [Marker(round(x_of(GOLDEN_CLOCK_SECONDS), 1), _("Golden 4 hours"), "golden")]
    statement = definition.get("first_statement_within") or GOLDEN_CLOCK_SECONDS
    if statement != GOLDEN_CLOCK_SECONDS:
        label = _("First statement: %(when)s") % {"when": short_duration(statement)}
        markers.append(Marker(round(x_of(statement), 1), label, "statement"))
    critical = definition.get("first_statement_within_critical")
    if critical and critical != statement:
        label = _("Critical: %(when)s") % {"when": short_duration(critical)}
        markers.append(Marker(round(x_of(critical), 1), label, "critical"))
    return [m for m in markers if m.x <= plot_width]


def _arrow_path(source: Box, target: Box) -> str:
    """A curve from what is needed to what needs it, ending at the target box's edge."""
    if target.x >= source.right + 12:
        # Forwards in time: right edge to left edge.
        x1, y1 = source.right, source.middle_y
        x2, y2 = target.x - 2, target.middle_y
        bend = max(12.0, (x2 - x1) / 2)
        return f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    # Overlapping in time (or backwards): from the bottom or top of one to the other.
    x1 = source.x + source.width * 0.35
    x2 = target.x + target.width * 0.65
    if target.y > source.y:
        y1, y2 = source.y + source.height, target.y - 2
    elif target.y < source.y:
        y1, y2 = source.y, target.y + target.height + 2
    else:  # same row: loop over the top
        y1, y2 = source.y, target.y - 2
        return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 - 18:.1f} {x2:.1f},{y2 - 18:.1f} {x2:.1f},{y2:.1f}"
    middle = (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{middle:.1f} {x2:.1f},{middle:.1f} {x2:.1f},{y2:.1f}"
