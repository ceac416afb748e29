"""The swimlane layout of a playbook: pure Python, no database."""

from __future__ import annotations

import copy
from itertools import combinations

import pytest
from django.utils import translation

from crisisflow.playbooks import diagram
from crisisflow.playbooks.models import localized
from crisisflow.playbooks.schema import check_files, default_paths
from tests.conftest import SMALL_PLAN, H

DAY = 24 * H


def dues_in_hours(definition) -> dict[str, float]:
    return {key: seconds / H for key, seconds in diagram.due_seconds(definition).items()}


# --- the assumed timeline ---------------------------------------------------------------------


def test_milestones_are_assumed_at_half_hour_steps_and_the_statement_at_the_golden_clock():
    moments = diagram.assumed_moments(SMALL_PLAN)
    assert {k: v / H for k, v in moments.items()} == {
        "detected": 0,
        "confirmed": 0.5,
        "plan_activated": 1,
        "team_assembled": 1.5,
        "first_statement": 4,
    }


def test_a_short_clock_pulls_the_earlier_milestones_in_before_the_statement():
    plan = {**SMALL_PLAN, "first_statement_within": H}
    moments = diagram.assumed_moments(plan)
    assert moments["confirmed"] < moments["plan_activated"] < moments["team_assembled"] < moments["first_statement"]
    assert moments["first_statement"] == H


def test_each_task_is_placed_at_its_anchor_plus_its_offset():
    assert dues_in_hours(SMALL_PLAN) == {
        "legal-review": 3,  # detected + 3 h
        "holding-statement": 4,  # detected + 4 h
        "progress-update": 28,  # first statement (4 h) + 24 h
        "root-cause": 49.5,  # team assembled (1.5 h) + 48 h
        "regulator-notice": 2.5,  # confirmed (0.5 h) + 2 h
        "exec-letter": 7,  # plan activated (1 h) + 6 h
        "follow-up": 61.5,  # after root-cause's own due time (49.5 h) + 12 h
    }


def test_chains_of_task_anchors_add_up():
    plan = copy.deepcopy(SMALL_PLAN)
    plan["tasks"].append({**plan["tasks"][-1], "key": "after-follow-up", "anchor": "task:follow-up", "offset": 2 * DAY})
    assert dues_in_hours(plan)["after-follow-up"] == 61.5 + 48


def test_an_anchor_task_that_is_missing_counts_from_plan_activation():
    plan = copy.deepcopy(SMALL_PLAN)
    plan["tasks"][-1]["anchor"] = "task:gone"
    assert dues_in_hours(plan)["follow-up"] == 1 + 12


# --- the time scale ---------------------------------------------------------------------------


def test_the_golden_hours_are_drawn_to_scale():
    assert diagram.x_of(0) == 0
    assert diagram.x_of(2 * H) == pytest.approx(diagram.x_of(4 * H) / 2)
    assert diagram.x_of(30 * 60) == pytest.approx(diagram.x_of(4 * H) / 8)


def test_after_the_golden_hours_each_doubling_takes_the_same_width():
    widths = [diagram.x_of(2 * t) - diagram.x_of(t) for t in (4 * H, 8 * H, DAY, 7 * DAY)]
    assert widths == pytest.approx([widths[0]] * 4)


def test_thirty_minutes_and_thirty_days_both_fit_and_stay_apart():
    half_hour, month = diagram.x_of(30 * 60), diagram.x_of(30 * DAY)
    assert half_hour >= 40  # wide enough to see
    assert month < 1100  # a month still fits a desktop page
    times = [30 * 60, H, 4 * H, DAY, 3 * DAY, 7 * DAY, 30 * DAY]
    xs = [diagram.x_of(t) for t in times]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


# --- words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(30 * 60, "30 min"), (4 * H, "4 h"), (5400, "1 h 30 min"), (2 * DAY, "2 d"), (DAY + 12 * H, "1 d 12 h")],
)
def test_durations_read_like_a_schedule(seconds, words):
    assert diagram.short_duration(seconds) == words


def test_due_times_in_words_name_their_starting_point():
    tasks = {t["key"]: t for t in SMALL_PLAN["tasks"]}

    def title(key):
        return localized(tasks[key]["title"])

    assert diagram.due_phrase(tasks["holding-statement"], title) == "4 h after detection"
    assert diagram.due_phrase(tasks["progress-update"], title) == "1 d after the first statement"
    assert diagram.due_phrase(tasks["regulator-notice"], title) == "2 h after confirmation"
    assert diagram.due_phrase(tasks["exec-letter"], title) == "6 h after the plan is activated"
    assert diagram.due_phrase(tasks["root-cause"], title) == "2 d after the team is assembled"
    assert diagram.due_phrase(tasks["follow-up"], title) == "12 h after “Root cause” is done"


# --- wrapping titles ------------------------------------------------------------------------------


def test_a_title_wraps_between_words_and_ends_in_an_ellipsis_when_cut():
    lines = diagram.wrap("Publish the first public statement within the golden four hours", 88, 2)
    assert len(lines) == 2
    assert lines[0] == "Publish the first"
    assert lines[1].endswith("…")
    assert all(diagram.text_px(line, 11) <= 88 for line in lines)


def test_a_short_title_is_left_whole():
    assert diagram.wrap("Stop the leak", 88, 2) == ["Stop the leak"]


def test_chinese_titles_break_between_characters():
    lines = diagram.wrap("发布首次公开声明（黄金4小时）", 88, 2)
    assert "".join(lines).rstrip("…").startswith("发布首次公开声明")
    assert all(diagram.text_px(line, 11) <= 88 for line in lines)
    assert len(lines) == 2


def test_a_word_longer_than_a_line_is_cut():
    lines = diagram.wrap("Supercalifragilisticexpialidocious", 60, 2)
    assert len(lines) == 2 and lines[1].endswith("…")


def test_the_first_line_can_leave_room_for_a_mark():
    lines = diagram.wrap("Publish the first public statement", 88, 2, first_width=60)
    assert diagram.text_px(lines[0], 11) <= 60


# --- the layout ---------------------------------------------------------------------------------


def overlapping(a: diagram.Box, b: diagram.Box) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def check_layout(chart: diagram.Diagram, definition: dict) -> None:
    tasks = definition["tasks"]
    assert [box.key for box in chart.boxes] == [t["key"] for t in tasks]
    for a, b in combinations(chart.boxes, 2):
        assert not overlapping(a, b), (a.key, b.key)
    lanes = {lane.role: lane for lane in chart.lanes}
    for box in chart.boxes:
        lane = lanes[box.role]
        assert lane.y <= box.y and box.bottom <= lane.y + lane.height, box.key
        assert 0 <= box.x and box.right <= chart.width, box.key
    # The stage bands follow each other in the order of the response, without gaps.
    assert [band.stage for band in chart.bands] == ["confirm", "activate", "assemble", "publish", "remediate", "review"]
    for left, right in zip(chart.bands, chart.bands[1:], strict=False):
        assert left.x + left.width == pytest.approx(right.x, abs=0.2)
    assert sum(1 for _ in chart.arrows) == sum(len(t["depends_on"]) for t in tasks)


def test_one_lane_per_role_in_the_usual_order():
    chart = diagram.build(SMALL_PLAN)
    assert [lane.role for lane in chart.lanes] == ["commander", "pr", "legal"]
    assert [lane.label for lane in chart.lanes] == ["Commander", "PR", "Legal"]


def test_each_task_is_a_box_on_its_deadline_in_its_role_lane():
    chart = diagram.build(SMALL_PLAN)
    check_layout(chart, SMALL_PLAN)
    statement = chart.boxes_by_key["holding-statement"]
    assert statement.role == "pr"
    assert statement.due_x == pytest.approx(diagram.x_of(4 * H), abs=0.1)
    assert statement.x + statement.width / 2 == pytest.approx(statement.due_x, abs=0.1)  # centred on it
    assert statement.gates == "info_published"
    assert statement.due_text == "4 h after detection"
    assert chart.boxes_by_key["regulator-notice"].conditional
    assert chart.boxes_by_key["exec-letter"].conditional
    assert not statement.conditional


def test_boxes_due_close_together_in_one_lane_are_stacked():
    plan = copy.deepcopy(SMALL_PLAN)
    plan["tasks"][0]["role"] = "pr"  # legal-review (3 h) now shares the PR lane with the statement (4 h)
    chart = diagram.build(plan)
    check_layout(chart, plan)
    pr = next(lane for lane in chart.lanes if lane.role == "pr")
    assert pr.rows == 2


def test_long_titles_are_truncated_in_the_box_but_kept_whole_for_the_tooltip():
    plan = copy.deepcopy(SMALL_PLAN)
    long_title = "Publish the first public statement with attitude, facts and action, approved by legal"
    plan["tasks"][1]["title"] = {"en": long_title, "zh": "发布首次公开声明"}
    box = diagram.build(plan).boxes_by_key["holding-statement"]
    assert box.title == long_title
    assert len(box.lines) == 2 and box.lines[-1].endswith("…")


def test_titles_follow_the_language():
    with translation.override("zh-hans"):
        box = diagram.build(SMALL_PLAN).boxes_by_key["holding-statement"]
    assert box.title == "【Holding statement】"


def test_the_golden_line_and_the_critical_clock_are_marked():
    chart = diagram.build(SMALL_PLAN)
    kinds = {marker.kind: marker for marker in chart.markers}
    assert kinds["golden"].x == pytest.approx(diagram.x_of(4 * H), abs=0.1)
    assert kinds["critical"].x == pytest.approx(diagram.x_of(2 * H), abs=0.1)
    assert kinds["critical"].label == "Critical: 2 h"
    assert "statement" not in kinds  # the plan's clock is the golden 4 hours itself


def test_stage_bands_follow_the_assumed_timeline():
    chart = diagram.build(SMALL_PLAN)
    bands = {band.stage: band for band in chart.bands}
    assert bands["confirm"].x == 0 and bands["confirm"].width == pytest.approx(diagram.x_of(H / 2), abs=0.1)
    assert bands["publish"].x == pytest.approx(diagram.x_of(1.5 * H), abs=0.1)
    assert bands["remediate"].x == pytest.approx(diagram.x_of(4 * H), abs=0.1)
    # The review starts once the task that gates it (root-cause, 49.5 h) is due.
    assert bands["review"].x == pytest.approx(diagram.x_of(49.5 * H), abs=0.1)
    # Names of narrow neighbouring bands go on different rows.
    assert bands["activate"].label_y != bands["assemble"].label_y


def test_ticks_run_from_detection_to_the_last_task():
    chart = diagram.build(SMALL_PLAN)
    labels = [tick.label for tick in chart.ticks]
    assert labels[:4] == ["0", "30 min", "1 h", "2 h"]
    assert labels[-1] == "2 d"  # the last task is due at 61.5 h
    assert chart.end_seconds == 61.5 * H


def test_every_built_in_playbook_lays_out_without_overlaps():
    definitions, errors = check_files(default_paths())
    assert not errors and len(definitions) >= 12
    for path, definition in definitions.items():
        for language in ("en", "zh-hans"):
            with translation.override(language):
                chart = diagram.build(definition)
            check_layout(chart, definition)
            assert chart.width < 1100, path  # fits a desktop page beside the lane names
