"""Loading playbooks: all or nothing, one immutable version per distinct file text."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crisisflow.playbooks.loader import Outcome, PlaybookCheckFailed, load_playbooks
from crisisflow.playbooks.models import ImmutableVersionError, Playbook, PlaybookVersion, current_versions
from crisisflow.playbooks.schema import check_text, conditions_hold
from tests.playbook_samples import VALID_PLAYBOOK, write_playbook

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2025, 3, 2, 9, 0, tzinfo=UTC)

# Same plan, a different text: the holding statement is due sooner.
EDITED_PLAYBOOK = VALID_PLAYBOOK.replace("offset: 2h30m", "offset: 2h")
OTHER_PLAYBOOK = VALID_PLAYBOOK.replace("key: sample-outage", "key: other-plan")
BROKEN_PLAYBOOK = VALID_PLAYBOOK.replace("key: sample-outage", "key: broken").replace("role: pr\n", "role: ceo\n", 1)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_playbook(tmp_path, "sample.yaml", VALID_PLAYBOOK)


@pytest.mark.django_db
class TestLoad:
    def test_first_load_creates_version_one(self, sample):
        report = load_playbooks([sample], at=T0)

        assert report.created == ["sample-outage"]
        assert report.updated == report.unchanged == []
        version = Playbook.objects.get(key="sample-outage").current_version
        assert version.number == 1
        assert version.content_hash == sha256(VALID_PLAYBOOK)
        assert version.source_text == VALID_PLAYBOOK
        assert version.source_path == str(sample.resolve())  # outside the project: absolute
        assert version.loaded_at == T0
        assert version.definition == check_text(VALID_PLAYBOOK, "x")[0]

    def test_loaded_at_is_now_by_default(self, sample):
        with time_machine.travel(T1, tick=False):
            load_playbooks([sample])
        assert PlaybookVersion.objects.get().loaded_at == T1

    def test_one_bad_file_loads_nothing(self, tmp_path, sample):
        other = write_playbook(tmp_path, "other.yaml", OTHER_PLAYBOOK)
        broken = write_playbook(tmp_path, "broken.yaml", BROKEN_PLAYBOOK)

        with pytest.raises(PlaybookCheckFailed) as failed:
            load_playbooks([sample, other, broken], at=T0)

        assert [str(e) for e in failed.value.errors] == [
            f"{broken}:22: tasks[1].role: unknown role 'ceo' (expected commander, pr, legal, customer_service, "
            "brand_marketing, analyst, tech_security, executive or observer)"
        ]
        assert Playbook.objects.count() == 0
        assert PlaybookVersion.objects.count() == 0

    def test_a_bad_file_leaves_loaded_playbooks_as_they_were(self, tmp_path, sample):
        load_playbooks([sample], at=T0)
        sample.write_text(EDITED_PLAYBOOK, encoding="utf-8")
        broken = write_playbook(tmp_path, "broken.yaml", BROKEN_PLAYBOOK)

        with pytest.raises(PlaybookCheckFailed):
            load_playbooks([sample, broken], at=T1)

        assert PlaybookVersion.objects.count() == 1
        assert Playbook.objects.get(key="sample-outage").current_version.number == 1

    def test_changed_file_becomes_version_two(self, sample):
        load_playbooks([sample], at=T0)
        v1 = PlaybookVersion.objects.get()
        sample.write_text(EDITED_PLAYBOOK, encoding="utf-8")

        report = load_playbooks([sample], at=T1)

        assert report.updated == ["sample-outage"]
        assert report.playbooks[0].outcome == Outcome.UPDATED
        playbook = Playbook.objects.get(key="sample-outage")
        v2 = playbook.current_version
        assert (v2.number, v2.content_hash, v2.loaded_at) == (2, sha256(EDITED_PLAYBOOK), T1)
        assert v2.tasks[1]["offset"] == 2 * 3600
        # The version incidents may have pinned is exactly as it was.
        v1_again = PlaybookVersion.objects.get(pk=v1.pk)
        assert (v1_again.number, v1_again.content_hash, v1_again.loaded_at) == (1, sha256(VALID_PLAYBOOK), T0)
        assert v1_again.source_text == VALID_PLAYBOOK
        assert v1_again.tasks[1]["offset"] == 2 * 3600 + 30 * 60

    def test_unchanged_file_is_a_no_op(self, sample):
        load_playbooks([sample], at=T0)

        with CaptureQueriesContext(connection) as queries:
            report = load_playbooks([sample], at=T1)

        writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
        assert writes == []

        assert report.unchanged == ["sample-outage"]
        assert report.created == report.updated == []
        version = PlaybookVersion.objects.get()
        assert (version.number, version.loaded_at) == (1, T0)

    def test_reverted_text_makes_the_old_version_current_again(self, sample):
        load_playbooks([sample], at=T0)
        sample.write_text(EDITED_PLAYBOOK, encoding="utf-8")
        load_playbooks([sample], at=T1)
        sample.write_text(VALID_PLAYBOOK, encoding="utf-8")

        report = load_playbooks([sample], at=T1)

        assert report.playbooks[0].outcome == Outcome.RESTORED
        assert report.updated == ["sample-outage"]
        assert PlaybookVersion.objects.count() == 2
        assert Playbook.objects.get(key="sample-outage").current_version.number == 1
        assert [v.number for v in current_versions()] == [1]

    def test_versions_are_immutable(self, sample):
        load_playbooks([sample], at=T0)
        version = PlaybookVersion.objects.get()

        version.source_text = "edited"
        with pytest.raises(ImmutableVersionError):
            version.save()
        with pytest.raises(ImmutableVersionError):
            version.delete()
        assert PlaybookVersion.objects.get().source_text == VALID_PLAYBOOK

    def test_builtin_playbooks_load_with_project_relative_paths(self):
        paths = sorted((Path(settings.BASE_DIR) / "playbooks").glob("*.yaml"))

        report = load_playbooks(paths, at=T0)

        assert len(report.created) == len(paths)
        assert sorted(v.source_path for v in current_versions()) == [f"playbooks/{p.name}" for p in paths]
        assert load_playbooks(paths, at=T1).unchanged == report.created


@pytest.mark.django_db
class TestCommand:
    def test_loads_and_reports_each_playbook(self, tmp_path, capsys):
        sample = write_playbook(tmp_path, "sample.yaml", VALID_PLAYBOOK)
        write_playbook(tmp_path, "other.yaml", OTHER_PLAYBOOK)

        call_command("load_playbooks", str(tmp_path))
        assert capsys.readouterr().out.splitlines() == [
            f"other-plan: created v1  [{tmp_path.resolve() / 'other.yaml'}]",
            f"sample-outage: created v1  [{tmp_path.resolve() / 'sample.yaml'}]",
            "2 playbooks: 2 created, 0 updated, 0 unchanged",
        ]

        sample.write_text(EDITED_PLAYBOOK, encoding="utf-8")
        call_command("load_playbooks", str(tmp_path))
        assert capsys.readouterr().out.splitlines() == [
            f"other-plan: unchanged (v1)  [{tmp_path.resolve() / 'other.yaml'}]",
            f"sample-outage: updated to v2  [{tmp_path.resolve() / 'sample.yaml'}]",
            "2 playbooks: 0 created, 1 updated, 1 unchanged",
        ]

    def test_errors_load_nothing_and_fail(self, tmp_path, capsys):
        write_playbook(tmp_path, "sample.yaml", VALID_PLAYBOOK)
        broken = write_playbook(tmp_path, "broken.yaml", BROKEN_PLAYBOOK)

        with pytest.raises(CommandError, match=r"^1 error in 1 file; nothing was loaded$"):
            call_command("load_playbooks", str(tmp_path))

        assert capsys.readouterr().out.splitlines() == [
            f"{broken}:22: tasks[1].role: unknown role 'ceo' (expected commander, pr, legal, customer_service, "
            "brand_marketing, analyst, tech_security, executive or observer)"
        ]
        assert Playbook.objects.count() == 0


# --- conditions_hold: pure Python, no database --------------------------------------------------


def task(**conditions) -> dict:
    return {"key": "t", "severity_at_least": None, "facts": {}, **conditions}


FACTS = {
    "affected_users": 50_000,
    "personal_data": True,
    "injuries": False,
    "financial_loss": False,
    "regulator_involved": False,
    "media_coverage": True,
}


@pytest.mark.parametrize(
    ("conditions", "severity", "facts", "expected"),
    [
        ({}, "low", FACTS, True),
        ({"severity_at_least": "high"}, "high", FACTS, True),
        ({"severity_at_least": "high"}, "critical", FACTS, True),
        ({"severity_at_least": "high"}, "medium", FACTS, False),
        ({"severity_at_least": "low"}, None, FACTS, False),
        ({"facts": {"personal_data": True}}, "low", FACTS, True),
        ({"facts": {"injuries": False}}, "low", FACTS, True),
        ({"facts": {"injuries": True}}, "low", FACTS, False),
        ({"facts": {"injuries": False}}, "low", {}, False),  # an unknown fact proves nothing
        ({"facts": {"affected_users": {"gt": 10_000}}}, "low", FACTS, True),
        ({"facts": {"affected_users": {"gt": 50_000}}}, "low", FACTS, False),
        ({"facts": {"affected_users": {"gte": 50_000, "lte": 50_000}}}, "low", FACTS, True),
        ({"facts": {"affected_users": {"eq": 50_000}}}, "low", FACTS, True),
        ({"facts": {"affected_users": {"gt": 10_000, "lt": 20_000}}}, "low", FACTS, False),
        ({"facts": {"affected_users": {"lt": 100}}}, "low", {**FACTS, "affected_users": None}, False),
        ({"facts": {"affected_users": {"gt": 0}}}, "low", {**FACTS, "affected_users": 0}, False),
        (
            {"severity_at_least": "medium", "facts": {"media_coverage": True, "affected_users": {"gt": 1}}},
            "high",
            FACTS,
            True,
        ),
        (
            {"severity_at_least": "medium", "facts": {"media_coverage": False, "affected_users": {"gt": 1}}},
            "high",
            FACTS,
            False,
        ),
    ],
)
def test_conditions_hold(conditions, severity, facts, expected):
    assert conditions_hold(task(**conditions), severity, facts) is expected


def test_conditions_of_a_checked_playbook():
    definition, _ = check_text(VALID_PLAYBOOK, "sample.yaml")
    follow_up = definition["tasks"][2]
    assert conditions_hold(follow_up, "high", FACTS)
    assert not conditions_hold(follow_up, "medium", FACTS)
    assert not conditions_hold(follow_up, "high", {**FACTS, "media_coverage": False})
    assert not conditions_hold(follow_up, "critical", {**FACTS, "affected_users": 6_000_000})


@pytest.mark.django_db
def test_admin_shows_versions_read_only(admin_client, sample):
    load_playbooks([sample], at=T0)
    version = PlaybookVersion.objects.get()

    page = admin_client.get(f"/admin/playbooks/playbookversion/{version.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert version.content_hash in html
    assert "key: sample-outage" in html  # the file text
    assert 'name="_save"' not in html
    assert admin_client.get("/admin/playbooks/playbookversion/add/").status_code == 403
    assert admin_client.post(f"/admin/playbooks/playbookversion/{version.pk}/delete/").status_code == 403
    assert admin_client.get("/admin/playbooks/playbook/").status_code == 200
