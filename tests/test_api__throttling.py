"""Rate limits of the API: failed authentications per address, and the expensive
endpoints per person and per address. Time is frozen; each test starts with an empty
cache (tests/conftest.py)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from crisisflow.api import tokens
from crisisflow.api.apps import check_rates
from crisisflow.envconf import env_rates, parse_rate
from tests.conftest import T0
from tests.flows import report

pytestmark = pytest.mark.django_db

LIST = "/api/incidents/"
HOME, ELSEWHERE = "10.0.0.1", "10.9.8.7"


@pytest.fixture
def rates(settings):
    """Set some rates for this test (the others keep their defaults)."""

    def set_rates(**given: str) -> None:
        settings.CRISISFLOW = {**settings.CRISISFLOW, "API_RATES": given}

    return set_rates


def as_user(user, ip: str = HOME) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ip)
    client.force_authenticate(user)
    return client


def with_header(value: str, ip: str = HOME) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


def basic(username: str, password: str, ip: str = HOME) -> APIClient:
    return with_header("Basic " + base64.b64encode(f"{username}:{password}".encode()).decode(), ip)


def assert_429(response, seconds: int, *words: str) -> None:
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(seconds)
    body = response.json()
    assert body["field"] is None
    for word in words:
        assert word in body["detail"], body["detail"]


def new_incident(client: APIClient):
    return client.post(LIST, {"title": "Outage"}, format="json")


# --- failed authentications per address ------------------------------------------------------------------


def test_bad_tokens_from_one_address_are_cut_off_then_let_back(people, rates):
    rates(auth_failures="3/10min")
    _row, good = tokens.create_token(people.commander, name="good", scope="read")
    with time_machine.travel(T0, tick=False) as traveller:
        for n in range(3):
            assert with_header(f"Bearer cf_guess{n:05d}_xxxx").get(LIST).status_code == 401
        traveller.shift(timedelta(minutes=1))
        assert_429(
            with_header("Bearer cf_guess99999_xxxx").get(LIST),
            9 * 60,
            "Too many failed authentications from your network address (10.0.0.1)",
        )
        # Even a good token waits: the address is cut off before any check.
        assert_429(with_header(f"Bearer {good}").get(LIST), 9 * 60)
        # Other addresses are not affected.
        assert with_header(f"Bearer {good}", ip=ELSEWHERE).get(LIST).status_code == 200
        traveller.shift(timedelta(minutes=9, seconds=1))
        assert with_header(f"Bearer {good}").get(LIST).status_code == 200


def test_wrong_passwords_count_per_address_across_user_names(people, rates):
    rates(auth_failures="4/hour")
    with time_machine.travel(T0, tick=False) as traveller:
        # Four names, one wrong password each: no name reaches the sign-in lockout.
        for name in ("commander", "prlead", "legal", "cs"):
            assert basic(name, "wrong").get(LIST).status_code == 401
        assert_429(basic("exec", "pw-exec").get(LIST), 3600, "try again in 3600 seconds")
        assert basic("exec", "pw-exec", ip=ELSEWHERE).get(LIST).status_code == 200
        traveller.shift(timedelta(hours=1, seconds=1))
        assert basic("exec", "pw-exec").get(LIST).status_code == 200


def test_successes_do_not_count(people, rates):
    rates(auth_failures="2/hour")
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            assert basic("commander", "pw-commander").get(LIST).status_code == 200


# --- expensive endpoints ------------------------------------------------------------------------------------


def test_reporting_is_limited_per_person_and_recovers_after_the_window(people, rates):
    rates(report="2/minute")
    with time_machine.travel(T0, tick=False) as traveller:
        cs = as_user(people.cs)
        assert new_incident(cs).status_code == 201
        traveller.shift(timedelta(seconds=20))
        assert new_incident(cs).status_code == 201
        assert_429(new_incident(cs), 40, "you may report incidents at most 2/minute", "Try again in 40 seconds")
        # Someone else at the same address still may; reading is another limit.
        assert new_incident(as_user(people.pr_lead)).status_code == 201
        assert cs.get(LIST).status_code == 200
        traveller.shift(timedelta(seconds=41))
        assert new_incident(cs).status_code == 201


def test_the_list_is_limited_per_address_across_people(people, rates):
    rates(list_address="3/hour")
    with time_machine.travel(T0, tick=False) as traveller:
        assert as_user(people.cs).get(LIST).status_code == 200
        assert as_user(people.cs).get(LIST).status_code == 200
        assert as_user(people.legal).get(LIST).status_code == 200
        assert_429(
            as_user(people.legal).get(LIST),
            3600,
            "Too many requests from your network address: it may list incidents at most 3/hour",
        )
        assert as_user(people.legal, ip=ELSEWHERE).get(LIST).status_code == 200
        traveller.shift(timedelta(hours=1, seconds=1))
        assert as_user(people.legal).get(LIST).status_code == 200


def test_steps_and_timeline_are_limited(people, plan, rates):
    rates(steps="1/minute", timeline="2/minute")
    with time_machine.travel(T0, tick=False) as traveller:
        incident = report(people)
        boss = as_user(people.commander)
        base = f"/api/incidents/{incident.reference}/"
        assert boss.post(base + "steps/confirm/", {}, format="json").status_code == 200
        assert_429(boss.post(base + "steps/activate/", {}, format="json"), 60, "move incidents through their steps")
        for _ in range(2):
            assert boss.get(base + "timeline/").status_code == 200
        assert_429(boss.get(base + "timeline/"), 60, "read timelines")
        assert boss.get(base).status_code == 200  # the detail page is not one of them
        traveller.shift(timedelta(minutes=1, seconds=1))
        assert boss.post(base + "steps/activate/", {}, format="json").status_code == 200


def test_the_defaults_are_generous(people):
    with time_machine.travel(T0, tick=False):
        client = as_user(people.cs)
        for _ in range(50):  # a script polling the list every few seconds for minutes
            assert client.get(LIST).status_code == 200
        for _ in range(20):
            assert new_incident(client).status_code == 201


def test_a_limit_message_is_in_the_readers_language(people, rates):
    rates(list="1/minute")
    with time_machine.travel(T0, tick=False):
        client = as_user(people.cs)
        client.get(LIST)
        answer = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert answer.status_code == 429
        assert "请求过多" in answer.json()["detail"]


# --- configuration --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("120/hour", (120, 3600)), ("20/10min", (20, 600)), ("5/s", (5, 1)), ("3 / 2 days", (3, 172800))],
)
def test_rates_read_like_drf_with_an_optional_multiple(text, parsed):
    assert parse_rate(text) == parsed


@pytest.mark.parametrize("text", ["120", "ten/hour", "5/fortnight", "5/0min", ""])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError, match="is not a rate|empty period"):
        parse_rate(text)


def test_rates_come_from_the_environment_and_fail_loudly(monkeypatch):
    monkeypatch.setenv("CRISISFLOW_API_RATES", "report=60/hour, list_address=9000/hour")
    assert env_rates("CRISISFLOW_API_RATES") == {"report": "60/hour", "list_address": "9000/hour"}
    monkeypatch.setenv("CRISISFLOW_API_RATES", "report=lots")
    with pytest.raises(ImproperlyConfigured, match="CRISISFLOW_API_RATES: report: 'lots' is not a rate"):
        env_rates("CRISISFLOW_API_RATES")
    monkeypatch.setenv("CRISISFLOW_API_RATES", "60/hour")
    with pytest.raises(ImproperlyConfigured, match="is not name=rate"):
        env_rates("CRISISFLOW_API_RATES")


def test_a_misspelt_rate_name_fails_the_system_check(rates):
    rates(reports="1/minute")
    errors = check_rates()
    assert [e.id for e in errors] == ["crisisflow.E001"]
    assert "'reports'" in errors[0].msg
