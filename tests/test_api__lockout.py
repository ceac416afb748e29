"""The sign-in lockout (django-axes) seen from the API: a locked-out user name gets 429
saying it is locked for that address and until when — not "wrong password"."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from tests.conftest import T0

pytestmark = pytest.mark.django_db

LIST = "/api/incidents/"
HOME = "10.0.0.1"


def basic(username: str, password: str, ip: str = HOME, language: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language, REMOTE_ADDR=ip)
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{username}:{password}".encode()).decode())
    return client


def test_the_fifth_wrong_password_locks_and_the_api_says_so(people):
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            wrong = basic("commander", "wrong").get(LIST)
            assert wrong.status_code == 401
            assert wrong.json() == {"detail": "Invalid username/password.", "field": None}
        fifth = basic("commander", "wrong").get(LIST)
        assert fifth.status_code == 429

        right = basic("commander", "pw-commander").get(LIST)
        assert right.status_code == 429
        assert right["Content-Type"] == "application/json"
        assert right["Retry-After"] == str(15 * 60)
        body = right.json()
        assert body["field"] is None
        assert body["locked_until"] == "2026-03-02T09:15:00Z"
        assert "“commander” is locked for your network address (10.0.0.1)" in body["detail"]
        assert "until 09:15 UTC (in 15 minutes)" in body["detail"]
        assert "Invalid username/password" not in body["detail"]


def test_retrying_while_locked_counts_down_and_lifts_on_time(people):
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(5):
            basic("commander", "wrong").get(LIST)
        traveller.shift(timedelta(minutes=10))
        later = basic("commander", "pw-commander").get(LIST)
        assert later.status_code == 429
        assert later["Retry-After"] == str(5 * 60)
        assert later.json()["locked_until"] == "2026-03-02T09:15:00Z"
        traveller.shift(timedelta(minutes=5, seconds=1))
        assert basic("commander", "pw-commander").get(LIST).status_code == 200


def test_the_lockout_holds_that_name_from_that_address_only(people):
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            basic("commander", "wrong").get(LIST)
        assert basic("commander", "pw-commander").get(LIST).status_code == 429
        assert basic("commander", "pw-commander", ip="10.9.8.7").get(LIST).status_code == 200
        assert basic("prlead", "pw-prlead").get(LIST).status_code == 200


def test_a_lockout_from_the_sign_in_page_holds_in_the_api_too(client, people):
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            client.post("/login/", {"username": "commander", "password": "wrong"}, REMOTE_ADDR=HOME)
        assert basic("commander", "pw-commander").get(LIST).status_code == 429


def test_the_lockout_message_is_in_the_readers_language(people):
    with time_machine.travel(T0, tick=False):
        for _ in range(5):
            basic("commander", "wrong").get(LIST)
        answer = basic("commander", "pw-commander", language="zh-hans").get(LIST)
        assert answer.status_code == 429
        assert "“commander” 已被锁定" in answer.json()["detail"]
        assert "UTC 09:15" in answer.json()["detail"]
