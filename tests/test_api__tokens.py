"""API tokens: made by a person for themselves (/me/, manage.py create_api_token),
stored as a digest only, shown once, scoped, revocable (/me/, admin), used with
`Authorization: Bearer cf_…`."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from crisisflow.api import tokens
from crisisflow.api.models import ApiToken
from crisisflow.incidents.errors import Invalid, NotFound
from crisisflow.incidents.models import Incident
from crisisflow.people.models import User
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report

pytestmark = pytest.mark.django_db

LIST = "/api/incidents/"


def bearer(token: str, keyword: str = "Bearer") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token}")
    return client


def confirm(client: APIClient, incident: Incident):
    return client.post(f"/api/incidents/{incident.reference}/steps/confirm/", {}, format="json")


def assert_401(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": "Unknown, revoked or expired API token.", "field": None}


# --- using a token -----------------------------------------------------------------------------------


def test_a_write_token_works_like_its_owner_without_csrf(people):
    incident = report(people)
    _row, token = tokens.create_token(people.commander, name="war room bot", scope="write")
    assert token.startswith("cf_")
    assert bearer(token).get(LIST).status_code == 200
    confirmed = confirm(bearer(token, "Token"), incident)
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["commander"]["id"] == people.commander.pk  # acted as its owner
    assert Incident.objects.get(pk=incident.pk).state == State.CONFIRMED


def test_a_read_token_reads_but_may_not_change_anything(people):
    incident = report(people)
    _row, token = tokens.create_token(people.commander, name="status page", scope="read")
    client = bearer(token)
    assert client.get(LIST).status_code == 200
    assert client.get(f"/api/incidents/{incident.reference}/timeline/").status_code == 200
    refused = confirm(client, incident)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "This API token may only read (scope “read”); create a token with scope “write” to make changes.",
        "field": None,
    }
    assert client.patch(f"/api/incidents/{incident.reference}/", {"title": "X"}, format="json").status_code == 403
    assert Incident.objects.get(pk=incident.pk).state == State.REPORTED


def test_a_revoked_token_is_401_at_once(people):
    row, token = tokens.create_token(people.commander, name="old script", scope="write")
    assert bearer(token).get(LIST).status_code == 200
    tokens.revoke_token(people.commander, row.pk)
    assert_401(bearer(token).get(LIST))


@pytest.mark.parametrize(
    "shown",
    ["cf_nothere12_" + "x" * 43, "cf_short", "not-a-token", "cf_", "ä"],
)
def test_an_unknown_or_malformed_token_is_401(people, shown):
    tokens.create_token(people.commander, name="real", scope="write")
    response = bearer(shown).get(LIST)
    assert response.status_code == 401
    assert response.json()["field"] is None and "token" in response.json()["detail"]


def test_a_token_with_the_right_prefix_and_a_wrong_secret_is_401(people):
    row, token = tokens.create_token(people.commander, name="real", scope="write")
    forged = token[: len("cf_") + len(row.prefix) + 1] + "A" * 43
    assert_401(bearer(forged).get(LIST))


def test_an_expired_token_is_401(people):
    with time_machine.travel(T0, tick=False) as traveller:
        _row, token = tokens.create_token(people.commander, name="month", scope="read", expires_in_days=30)
        traveller.shift(timedelta(days=29, hours=23))
        assert bearer(token).get(LIST).status_code == 200
        traveller.shift(timedelta(hours=1))
        assert_401(bearer(token).get(LIST))


def test_the_token_of_a_switched_off_account_is_401(people):
    _row, token = tokens.create_token(people.pr_lead, name="x", scope="read")
    User.objects.filter(pk=people.pr_lead.pk).update(is_active=False)
    assert_401(bearer(token).get(LIST))


def test_basic_and_session_authentication_still_work(people):
    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION="Basic Y29tbWFuZGVyOnB3LWNvbW1hbmRlcg==")  # commander:pw-commander
    assert basic.get(LIST).status_code == 200
    session = APIClient()
    session.force_login(people.commander)
    assert session.get(LIST).status_code == 200


def test_last_use_is_written_at_most_once_a_minute(people, django_assert_num_queries):
    with time_machine.travel(T0, tick=False) as traveller:
        row, token = tokens.create_token(people.commander, name="poller", scope="read")
        assert tokens.find_token(token).last_used_at == T0
        traveller.shift(timedelta(seconds=59))
        with django_assert_num_queries(1):  # the lookup; no write
            assert tokens.find_token(token) is not None
        row.refresh_from_db()
        assert row.last_used_at == T0
        traveller.shift(timedelta(seconds=1))
        tokens.find_token(token)
        row.refresh_from_db()
        assert row.last_used_at == T0 + timedelta(minutes=1)


# --- stored as a digest, shown once ------------------------------------------------------------------------


def test_the_token_is_never_stored_in_plain_text(people):
    row, token = tokens.create_token(people.commander, name="n", scope="write")
    secret = token.split("_", 2)[2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken WHERE id = %s", [row.pk])
        stored = " ".join(str(value) for value in cursor.fetchone())
    assert token not in stored and secret not in stored
    assert row.digest == tokens.digest(token) and len(row.digest) == 64
    assert token.startswith(f"cf_{row.prefix}_")


def test_me_shows_a_new_token_once(browse, people):
    client = browse(people.legal)
    made = client.post(reverse("api-token-create"), {"name": "Legal tracker", "scope": "read", "expires_in_days": "90"})
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    row = ApiToken.objects.get(user=people.legal)
    html = made.content.decode()
    start = html.index('class="token-secret">') + len('class="token-secret">')
    token = html[start : html.index("<", start)]
    assert token.startswith(f"cf_{row.prefix}_") and row.digest == tokens.digest(token)
    assert "it will not be shown again" in html
    assert row.name == "Legal tracker" and row.scope == "read"
    assert row.expires_at - row.created_at == timedelta(days=90)

    again = client.get(reverse("preferences")).content.decode()
    assert token not in again and token.split("_", 2)[2] not in again
    assert f"cf_{row.prefix}_…" in again and "Legal tracker" in again
    assert bearer(token).get(LIST).status_code == 200


def test_me_refuses_a_token_without_a_name(browse, people):
    response = browse(people.legal).post(reverse("api-token-create"), {"name": " ", "scope": "write"})
    assert response.status_code == 400
    assert "Give the token a name" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_the_use_case_checks_its_input(people):
    with pytest.raises(Invalid) as bad_scope:
        tokens.create_token(people.legal, name="x", scope="admin")
    assert bad_scope.value.field == "scope"
    with pytest.raises(Invalid) as bad_expiry:
        tokens.create_token(people.legal, name="x", scope="read", expires_in_days=0)
    assert bad_expiry.value.field == "expires_in_days"
    assert not ApiToken.objects.exists()


# --- revoking ---------------------------------------------------------------------------------------------


def test_me_revokes_my_own_token(browse, people):
    row, token = tokens.create_token(people.legal, name="mine", scope="read")
    client = browse(people.legal)
    response = client.post(reverse("api-token-revoke", args=[row.pk]), follow=True)
    assert "The API token “mine” is revoked." in response.content.decode()
    row.refresh_from_db()
    assert row.revoked_at is not None and row.revoked_by == people.legal
    assert_401(bearer(token).get(LIST))


def test_nobody_revokes_someone_elses_token(browse, people):
    row, token = tokens.create_token(people.commander, name="commander's", scope="write")
    assert browse(people.legal).post(reverse("api-token-revoke", args=[row.pk])).status_code == 404
    with pytest.raises(NotFound):
        tokens.revoke_token(people.legal, row.pk)
    row.refresh_from_db()
    assert row.revoked_at is None
    assert bearer(token).get(LIST).status_code == 200
    # ...and someone else's tokens are not listed either.
    assert "commander&#x27;s" not in browse(people.legal).get(reverse("preferences")).content.decode()


def test_an_administrator_revokes_from_the_admin(client, people):
    admin = User.objects.create_superuser("root", "root@example.com", "pw-root", language="en")
    row, token = tokens.create_token(people.commander, name="leaked", scope="write")
    client.force_login(admin)
    changelist = reverse("admin:api_apitoken_changelist")
    assert token not in client.get(changelist).content.decode()
    page = client.get(reverse("admin:api_apitoken_change", args=[row.pk])).content.decode()
    assert row.prefix in page and row.digest not in page
    response = client.post(changelist, {"action": "revoke", "_selected_action": [row.pk]}, follow=True)
    assert "1 token revoked." in response.content.decode()
    row.refresh_from_db()
    assert row.revoked_by == admin
    assert_401(bearer(token).get(LIST))


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_prints_a_token_once(people):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "commander", "--scope", "read", "--name", "status page", stdout=out, stderr=err)
    token = out.getvalue().strip()
    row = ApiToken.objects.get(user=people.commander)
    assert row.scope == "read" and row.name == "status page" and row.expires_at is None
    assert row.digest == tokens.digest(token)
    assert "shown only now" in err.getvalue()
    assert bearer(token).get(LIST).status_code == 200


def test_the_command_refuses_unknown_people_and_bad_input(people):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("create_api_token", "nobody", "--scope", "read", "--name", "x")
    with pytest.raises(CommandError, match="expires_in_days"):
        call_command("create_api_token", "commander", "--scope", "read", "--name", "x", "--expires-days", "0")
    assert not ApiToken.objects.exists()
