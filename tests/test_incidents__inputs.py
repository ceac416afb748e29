"""What people type is checked once, in crisisflow.incidents.inputs, for every way in:
moments inside sane bounds, one-line text without line breaks or control characters,
multi-line text without control characters, and a database that refuses what slipped by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from crisisflow.incidents import actions
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import check_moment, clean_line, clean_text
from crisisflow.incidents.models import Incident
from crisisflow.people import prefs
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

LIST_PAGES = ["/", "/incidents/", "/my/tasks/", "/board/", "/notifications/", "/rosters/", "/playbooks/"]
API_LIST = "/api/incidents/"
GOOD_REPORT = {"title": "Checkout failing", "crisis_type": "service_outage", "severity": "high"}


@pytest.fixture
def api():
    def as_user(user, language="en") -> APIClient:
        client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
        client.force_authenticate(user)
        return client

    return as_user


def assert_lists_render(client, api_client) -> None:
    for page in LIST_PAGES:
        assert client.get(page).status_code == 200, page
    assert api_client.get(API_LIST).status_code == 200


# --- 1. moments ---------------------------------------------------------------------------------


@time_machine.travel(T0, tick=False)
def test_year_one_outbreak_from_the_report_form_is_refused_and_lists_still_render(browse, api, people, plan):
    # Asia/Shanghai is the default zone: 0001-01-01 00:00 there is a date BC in UTC, which
    # the database driver could not read back, and every list page failed.
    client = browse(people.cs)
    answer = client.post(reverse("incident-report"), {"title": "Outage", "detected_at": "0001-01-01T00:00"})
    assert answer.status_code == 400
    assert answer.context["form"].errors["detected_at"] == ["Outbreak time: give a date and time after 1 January 2000."]
    html = answer.content.decode()
    field = html[html.index('for="id_detected_at"') :]
    assert field.index("after 1 January 2000") < field.index("</div>")
    assert not Incident.objects.exists()
    assert_lists_render(client, api(people.cs))


@time_machine.travel(T0, tick=False)
@pytest.mark.parametrize(
    ("zone", "typed"),
    [
        ("Pacific/Kiritimati", "9999-12-31T23:59"),  # UTC+14
        ("Etc/GMT+12", "0001-01-01T00:00"),  # UTC−12
        ("Asia/Shanghai", "1999-12-31T23:59"),
        ("UTC", "2099-12-31T23:59"),
    ],
)
def test_outbreak_times_at_the_edges_are_refused_beside_the_field_in_any_zone(browse, people, plan, zone, typed):
    people.cs.time_zone = zone
    people.cs.save(update_fields=["time_zone"])
    answer = browse(people.cs).post(reverse("incident-report"), {"title": "Outage", "detected_at": typed})
    assert answer.status_code == 400
    assert "detected_at" in answer.context["form"].errors
    assert not Incident.objects.exists()


@time_machine.travel(T0, tick=False)
@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+08:00",
        "0001-01-02T00:00:00Z",  # a valid year-1 date: stored before, now refused
        "1999-12-31T23:59:59Z",
        "9999-12-31T23:59:00-12:00",
        "2150-01-01T00:00:00Z",
    ],
)
def test_api_refuses_outbreak_times_out_of_bounds_naming_the_field(api, people, plan, value):
    client = api(people.cs)
    answer = client.post(API_LIST, {**GOOD_REPORT, "detected_at": value}, format="json")
    assert answer.status_code == 400
    assert answer.data["field"] == "detected_at"
    assert not Incident.objects.exists()
    assert client.get(API_LIST).status_code == 200


@time_machine.travel(T0, tick=False)
def test_the_use_case_refuses_every_moment_out_of_bounds(people, plan):
    shanghai = ZoneInfo("Asia/Shanghai")
    for bad in (
        datetime(1, 1, 1, tzinfo=shanghai),  # overflows on the way to UTC
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
        T0 + timedelta(minutes=6),
        datetime(2026, 3, 2, 8, 0),  # naive
        "2026-03-02T08:00:00Z",  # not a datetime at all
    ):
        with pytest.raises(Invalid) as err:
            report(people, detected_at=bad)
        assert err.value.field == "detected_at", bad
    # The edges that are allowed: the first moment of 2000, and a phone five minutes fast.
    assert report(people, detected_at=datetime(2000, 1, 1, tzinfo=UTC)).detected_at.year == 2000
    assert report(people, detected_at=T0 + timedelta(minutes=5)).detected_at == T0 + timedelta(minutes=5)
    assert check_moment(datetime(2099, 12, 31, 23, 59, tzinfo=UTC), "due_at") == datetime(
        2099, 12, 31, 23, 59, tzinfo=UTC
    )
    with pytest.raises(Invalid):
        check_moment(datetime(2100, 1, 1, tzinfo=UTC), "due_at")


def test_the_database_refuses_an_outbreak_time_before_2000(people, plan):
    incident = report(people)
    for bad in (
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Incident.objects.filter(pk=incident.pk).update(detected_at=bad)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Incident._meta.db_table} SET detected_at = %s WHERE id = %s",  # noqa: S608
            [datetime(1, 1, 1, tzinfo=UTC), incident.pk],
        )


@pytest.mark.django_db(transaction=True)
def test_the_migration_repairs_stored_outbreak_times_before_adding_the_constraint(people):
    executor = MigrationExecutor(connection)
    before = [("incidents", "0006_timeline_head_and_append_only_triggers")]
    executor.migrate(before)
    OldIncident = executor.loader.project_state(before).apps.get_model("incidents", "Incident")
    broken = OldIncident.objects.create(
        reference="CF-0001-0001",
        title="Typed year one",
        detected_at=datetime(1, 1, 2, tzinfo=UTC),
        reported_at=T0,
        reporter_id=people.cs.pk,
    )
    fine = OldIncident.objects.create(
        reference="CF-2026-0001",
        title="Fine",
        detected_at=T0 - timedelta(hours=1),
        reported_at=T0,
        reporter_id=people.cs.pk,
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Incident.objects.get(pk=broken.pk).detected_at == T0
    assert Incident.objects.get(pk=fine.pk).detected_at == T0 - timedelta(hours=1)


# --- time zones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "localtime", "Factory", "../../etc/passwd", "UTC\x00", "Asia/\u202eShanghai"]
)
def test_an_unknown_time_zone_is_refused_and_never_stored(people, zone):
    with pytest.raises(Invalid) as err:
        prefs.update_preferences(people.cs, time_zone=zone)
    assert err.value.field == "time_zone"
    people.cs.refresh_from_db()
    assert people.cs.time_zone == "Asia/Shanghai"


def test_the_preferences_page_refuses_an_unknown_zone_beside_the_field(browse, people):
    answer = browse(people.cs).post(
        reverse("preferences"), {"language": "en", "time_zone": "Nowhere/Special", "alert_in_app": "on"}
    )
    assert answer.status_code == 400
    assert "is not a known time zone" in answer.content.decode()
    people.cs.refresh_from_db()
    assert people.cs.time_zone == "Asia/Shanghai"


# --- 2. one-line and multi-line text -------------------------------------------------------------


def test_one_line_text_turns_line_breaks_and_tabs_into_spaces():
    assert clean_line(" Payments\r\ndown\tin\nEast China\u2028now ", "title") == "Payments down in East China now"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("Pay\x00ments", "NUL character"),
        ("Pay\x07ments", "control characters"),
        ("Pay\x1bments", "control characters"),
        ("Pay\x85ments", "Payments"),  # NEL is a line break: becomes a space (checked below)
        ("Pay\x9bments", "control characters"),
        ("Pay\x7fments", "control characters"),
        ("Pay\u202ements", "right-to-left override"),
        ("Pay\u2066ments", "right-to-left override"),
        ("Pay\ud800ments", "not valid Unicode"),
    ],
)
def test_one_line_text_refuses_control_characters_naming_the_field(value, words):
    if words == "Payments":
        assert clean_line(value, "title") == "Pay ments"
        return
    with pytest.raises(Invalid) as err:
        clean_line(value, "title")
    assert err.value.field == "title"
    assert words in str(err.value.message)


def test_multi_line_text_keeps_line_breaks_and_refuses_other_controls():
    assert clean_text("First line\r\nsecond\rthird\n\tindented\n", "text") == "First line\nsecond\nthird\n\tindented"
    for bad in ("a\x00b", "a\x1bb", "a\u202eb", "a\ud800b", "a\x0bb"):
        with pytest.raises(Invalid) as err:
            clean_text(bad, "text")
        assert err.value.field == "text"


@time_machine.travel(T0, tick=False)
def test_a_line_break_in_a_title_becomes_a_space_on_every_path(browse, api, people, plan):
    page = browse(people.cs).post(
        reverse("incident-report"), {"title": "Payments\r\ndown", "detected_at": "2026-03-02T16:30"}
    )
    assert page.status_code == 302
    posted = api(people.cs).post(
        API_LIST, {**GOOD_REPORT, "title": "Checkout\nfailing", "regions": ["East\nChina"]}, format="json"
    )
    assert posted.status_code == 201
    assert sorted(Incident.objects.values_list("title", flat=True)) == ["Checkout failing", "Payments down"]
    assert Incident.objects.get(title="Checkout failing").regions == ["East China"]
    incident = Incident.objects.get(title="Checkout failing")
    actions.confirm_incident(people.commander, incident)
    with pytest.raises(Invalid) as err:
        actions.update_scope(people.commander, incident, title="Fine\u202eenif")
    assert err.value.field == "title"


@time_machine.travel(T0, tick=False)
def test_bidi_overrides_and_controls_are_refused_beside_the_field(browse, api, people, plan):
    page = browse(people.cs).post(
        reverse("incident-report"), {"title": "Refund\u202e gpj.exe", "detected_at": "2026-03-02T16:30"}
    )
    assert page.status_code == 400
    assert page.context["form"].errors["title"] == [
        "The text contains invisible right-to-left override characters; remove them."
    ]
    answer = api(people.cs).post(API_LIST, {**GOOD_REPORT, "summary": "ok\x1b[31m red"}, format="json")
    assert (answer.status_code, answer.data["field"]) == (400, "summary")
    assert not Incident.objects.exists()


@time_machine.travel(T0, tick=False)
def test_a_nul_byte_is_named_as_such_in_both_languages(browse, api, people, plan):
    for language, words in (("en", "The text contains a NUL character."), ("zh-hans", "文本中含有 NUL（空）字符。")):
        answer = api(people.cs, language).post(API_LIST, {**GOOD_REPORT, "title": "Pay\x00ments"}, format="json")
        assert (answer.status_code, answer.data["field"], answer.data["detail"]) == (400, "title", words)
        page = browse(people.cs, language).post(
            reverse("incident-report"), {"title": "Pay\x00ments", "detected_at": "2026-03-02T16:30"}
        )
        assert page.status_code == 400
        assert page.context["form"].errors["title"] == [words]
    # Django's own fields (the sign-in form, the admin) say it too, not "empty string".
    with translation.override("zh-hans"):
        from django.core.validators import ProhibitNullCharactersValidator

        message = str(ProhibitNullCharactersValidator().message)
    assert "NUL" in message and "空字符串" not in message
    assert not Incident.objects.exists()


# --- found by the property test (tests/test_inputs__every_route.py) ------------------------------


def test_a_very_long_user_name_at_sign_in_is_refused_not_a_500(client, people):
    # Django only sets the name's length as an HTML attribute; the lockout then stored
    # the name tried in a 255-character column and the sign-in answered 500.
    answer = client.post(reverse("login"), {"username": "x" * 300, "password": "whatever"})
    assert answer.status_code == 200  # the sign-in page again, with the message
    assert answer.context["form"].errors["username"]
    assert "_auth_user_id" not in client.session


@time_machine.travel(T0, tick=False)
def test_a_checklist_item_that_does_not_exist_names_the_index(people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    task = incident.tasks.get(key="holding-statement")
    with pytest.raises(Invalid) as err:
        actions.tick_checklist(people.commander, task, 7, True)
    assert err.value.field == "index"


@pytest.mark.parametrize("name", ["Li\nLei", "Li\u202eLei", "Li\x00Lei", "Li\x1bLei"])
def test_a_display_name_stays_on_one_line_in_the_admin(admin_client, people, name):
    answer = admin_client.post(
        reverse("admin:people_user_change", args=[people.cs.pk]),
        {
            "username": "cs",
            "display_name": name,
            "language": "en",
            "time_zone": "Asia/Shanghai",
            "date_joined_0": "2026-03-02",
            "date_joined_1": "09:00:00",
            "alert_in_app": "on",
        },
    )
    assert answer.status_code == 200  # the form again, with the error
    assert answer.context["adminform"].form.errors["display_name"]
    people.cs.refresh_from_db()
    assert people.cs.display_name == "Cs"
