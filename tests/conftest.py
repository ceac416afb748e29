"""Shared fixtures: the personas of a crisis team and a small, fixed playbook."""

from __future__ import annotations

import copy
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from django.utils import translation

from crisisflow.people.models import RosterEntry, User
from crisisflow.playbooks.models import Playbook, PlaybookVersion
from tests.workers import Processes

# Frozen "now" for tests that control time: 2026-03-02 09:00 UTC.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# --- Parallel runs (pytest-xdist) ---------------------------------------------------------

# Tests that start real processes (Celery workers, beat, the supervisor, brokers) or drive
# Chromium wait for them against deadlines, and some kill them on purpose. In a parallel
# run they form one group (`--dist loadgroup`): one worker runs them one after another,
# from the start of the run, so that they never share the cores with each other, only
# with one worker's ordinary tests.
REAL_PROCESSES = "real-processes"


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and os.environ.get("CRISISFLOW_TEST_WORKER") != worker:
        raise pytest.UsageError(
            "parallel test workers need tests.settings (their own Redis database and var/ folder), "
            f"not DJANGO_SETTINGS_MODULE={os.environ.get('DJANGO_SETTINGS_MODULE')}: run bash scripts/test, "
            "or pytest --ds=tests.settings"
        )


def starts_real_processes(item) -> bool:
    module = getattr(item, "module", None)
    return bool(
        item.get_closest_marker("worker")
        or item.get_closest_marker("browser")
        or (module is not None and any(value is Processes for value in vars(module).values()))
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """After pytest-django has put the tests in its order (its hook comes first)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    seen: set[str] = set()
    for item in items:
        # pytest-xdist tells a test's group, and which test a worker is to run, by its id;
        # since pytest 9 an id is no longer something xdist can append the group to, and
        # Schemathesis gives every operation's test the same id (only one of them would run).
        nodeid = item.nodeid
        if "[" in item.name and "[" not in nodeid:
            nodeid += item.name[item.name.index("[") :]
        if config.getvalue("loadgroup"):
            group = item.get_closest_marker("xdist_group")
            if group or starts_real_processes(item):
                nodeid += "@" + (group.args[0] if group and group.args else REAL_PROCESSES)
        if nodeid != item.nodeid:
            item._id = type(item._id).parse(nodeid)
        if nodeid in seen:
            raise pytest.UsageError(f"two tests with the id {nodeid}: a parallel run would run only one of them")
        seen.add(nodeid)


@pytest.fixture(autouse=True, scope="session")
def _fast_passwords():
    # The real hasher costs a third of a second per persona; tests make many.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_append_only_triggers():
    """After each transactional test Django empties every table (TRUNCATE on PostgreSQL,
    DELETE on SQLite), which the timeline's triggers refuse - as they must everywhere
    else. The suite lifts them for that flush only and puts them back at once."""
    from django.db import connection
    from django.test import TransactionTestCase

    from crisisflow.incidents import append_only

    flush = TransactionTestCase._fixture_teardown

    def flush_without_triggers(self):
        append_only.uninstall(connection)
        try:
            flush(self)
        finally:
            append_only.install(connection)

    TransactionTestCase._fixture_teardown = flush_without_triggers
    yield
    TransactionTestCase._fixture_teardown = flush


@pytest.fixture(autouse=True)
def _fresh_cache(settings, tmp_path):
    """Each test starts with an empty cache (the API's rate-limit counts live there).

    A key prefix of its own rather than cache.clear(): with Redis the cache shares the
    broker's database, and clearing it would flush the task queue too. The file cache
    goes to the test's own folder."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    if caches["default"]["BACKEND"].endswith("FileBasedCache"):
        caches["default"]["LOCATION"] = str(tmp_path / "cache")
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def _english(settings):
    # Assertions read messages in English; the zh-Hans side is tested on its own.
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Evidence files of each test in a folder of its own, never in var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def browse(client):
    """A test client signed in as someone, reading the pages in a language (English)."""

    def as_user(user, language="en"):
        client.force_login(user)
        client.cookies["django_language"] = language
        return client

    return as_user


@pytest.fixture
def api():
    """An API client acting as `user` (anonymous without one), reading answers in English."""
    from rest_framework.test import APIClient

    def as_user(user=None) -> APIClient:
        client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
        if user is not None:
            client.force_authenticate(user)
        return client

    return as_user


@dataclass
class Personas:
    commander: User  # on the commander roster: takes command when confirming
    pr_lead: User
    pr_member: User
    legal: User
    cs: User
    executive: User
    observer: User
    outsider: User  # signed in, on no roster and no team


def make_user(username: str, *roles: str, rank: str = "primary") -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, display_name=username.title())
    for position, role in enumerate(roles):
        RosterEntry.objects.create(role=role, user=user, rank=rank, position=position)
    return user


@pytest.fixture
def people(db) -> Personas:
    return Personas(
        commander=make_user("commander", "commander"),
        pr_lead=make_user("prlead", "pr"),
        pr_member=make_user("prmember", "pr", rank="backup"),
        legal=make_user("legal", "legal"),
        cs=make_user("cs", "customer_service"),
        executive=make_user("exec", "executive"),
        observer=make_user("observer", "observer"),
        outsider=make_user("outsider"),
    )


def text(en: str, zh: str | None = None) -> dict[str, str]:
    return {"en": en, "zh": zh or "【" + en + "】"}


def task_def(key: str, role: str, stage: str, anchor: str, offset: int, **extra) -> dict:
    return {
        "key": key,
        "title": text(key.replace("-", " ").capitalize()),
        "instructions": text("Do " + key),
        "role": role,
        "stage": stage,
        "anchor": anchor,
        "offset": offset,
        "depends_on": extra.pop("depends_on", []),
        "checklist": extra.pop("checklist", []),
        "severity_at_least": extra.pop("severity_at_least", None),
        "facts": extra.pop("facts", {}),
        "gates": extra.pop("gates", None),
        "deliverable": extra.pop("deliverable", "none"),
    }


H = 3600

SMALL_PLAN = {
    "key": "small-outage",
    "name": text("Small outage plan", "小型故障预案"),
    "description": text("For tests", "测试用"),
    "crisis_types": ["service_outage"],
    "severities": ["low", "medium", "high", "critical"],
    "defines_crisis_types": [],
    "first_statement_within": 4 * H,
    "first_statement_within_critical": 2 * H,
    "roles": {"commander": 1, "pr": 1, "legal": 1},
    "tasks": [
        task_def("legal-review", "legal", "publish", "detected", 3 * H),
        task_def(
            "holding-statement",
            "pr",
            "publish",
            "detected",
            4 * H,
            depends_on=["legal-review"],
            gates="info_published",
            deliverable="holding_statement",
            checklist=[text("Apologise"), text("State the facts"), text("Announce actions")],
        ),
        task_def("progress-update", "pr", "remediate", "first_statement", 24 * H),
        task_def("root-cause", "legal", "remediate", "team_assembled", 48 * H, gates="in_review"),
        task_def("regulator-notice", "legal", "publish", "confirmed", 2 * H, facts={"regulator_involved": True}),
        task_def("exec-letter", "pr", "publish", "plan_activated", 6 * H, severity_at_least="high"),
        task_def("follow-up", "pr", "review", "task:root-cause", 12 * H, depends_on=["root-cause"], gates="closed"),
    ],
}


def install_plan(definition: dict = SMALL_PLAN, at: datetime = T0) -> PlaybookVersion:
    playbook, _ = Playbook.objects.get_or_create(key=definition["key"])
    number = playbook.versions.count() + 1
    version = PlaybookVersion.objects.create(
        playbook=playbook,
        number=number,
        content_hash=f"{number:064d}",
        source_path=f"tests/{definition['key']}.yaml",
        source_text="(built in tests)",
        definition=definition,
        loaded_at=at,
    )
    playbook.current_version = version
    playbook.save(update_fields=["current_version"])
    return version


@pytest.fixture
def plan(db) -> PlaybookVersion:
    return install_plan()


@pytest.fixture(autouse=True)
def fresh_shared_renders():
    """Live regions' shared renders are kept per process; each test starts without any
    (ids come back after a rolled-back test, and a stamp alone would match)."""
    from crisisflow.web import live

    live.shared.clear()
    yield


@pytest.fixture(autouse=True)
def notice_files(settings, tmp_path):
    """Public notice files of each test in a folder of its own, never in var/notices;
    every request reads the notice afresh, and no render is kept from another test."""
    from crisisflow.notices import views

    settings.CRISISFLOW = {
        **settings.CRISISFLOW,
        "NOTICE_DIR": str(tmp_path / "notices"),
        "NOTICE_STAMP_SECONDS": 0,
    }
    views.forget_renders()
    return tmp_path / "notices"
