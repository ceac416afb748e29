"""What the API does with bodies it cannot use: always a 4xx in its own JSON shape,
naming the problem — never a 500, never Django's HTML page."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crisisflow.api import parsers
from crisisflow.api.parsers import MAX_DEPTH, nesting_depth
from crisisflow.incidents.models import Incident
from crisisflow.vocab import State
from tests.flows import report

pytestmark = pytest.mark.django_db

LIST = "/api/incidents/"
JSON = "application/json"


@pytest.fixture
def boss(people) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(people.commander)
    return client


@pytest.fixture
def incident(people) -> Incident:
    return report(people)


def writes(incident: Incident) -> list[tuple[str, str]]:
    """The endpoints that read a body: report, a step, a note, PATCH the scope, a task."""
    ref = f"/api/incidents/{incident.reference}/"
    return [
        ("post", LIST),
        ("post", ref + "steps/confirm/"),
        ("post", ref + "notes/"),
        ("post", ref + "severity/"),
        ("patch", ref),
    ]


def send(client: APIClient, method: str, path: str, body, content_type: str = JSON):
    return getattr(client, method)(path, body, content_type=content_type)


def assert_refused(response, status: int, *words: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) >= {"detail", "field"}, body
    for word in words:
        assert word in body["detail"], body


def assert_unchanged(incident: Incident) -> None:
    fresh = Incident.objects.get(pk=incident.pk)
    assert fresh.state == State.REPORTED and fresh.version == incident.version
    assert Incident.objects.count() == 1
    assert fresh.events.count() == 1  # the report only


# --- nesting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 1000 + "]" * 1000,  # what used to end in RecursionError: about 950 levels and up
        '{"title": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"a":' * 3000 + "1" + "}" * 3000,
        "[" * 200_000,  # unfinished, and deep
    ],
    ids=["array", "in-a-field", "objects", "unterminated"],
)
def test_deeply_nested_json_is_400_naming_the_limit(boss, incident, body):
    for method, path in writes(incident):
        response = send(boss, method, path, body)
        assert_refused(response, 400, f"JSON nested too deeply (more than {MAX_DEPTH} levels)")
    assert_unchanged(incident)


def test_nesting_up_to_the_limit_reaches_the_fields(boss, incident):
    inner = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    response = send(boss, "post", LIST, '{"title": "T", "regions": ' + inner + "}")
    # Parsed; the field itself then says what is wrong with it.
    assert_refused(response, 400)
    assert response.json()["field"] == "regions"
    assert "nested" not in response.json()["detail"]


def test_brackets_inside_strings_do_not_count(boss):
    summary = "[{" * 2000 + '\\"]' * 10
    response = send(boss, "post", LIST, '{"title": "[[[T]]]", "summary": "' + summary + '"}')
    assert response.status_code == 201, response.content[:300]
    assert response.json()["summary"].startswith("[{[{")


def test_recursion_error_never_escapes_even_without_the_depth_check(boss, incident, monkeypatch):
    # Were the pre-check ever wrong, the parser's own RecursionError is still a 400.
    monkeypatch.setattr(parsers, "MAX_DEPTH", 10**9)
    response = send(boss, "post", LIST, "[" * 100_000 + "]" * 100_000)
    assert_refused(response, 400, "not valid JSON")


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[", "b": "\\"[[["}', 1),
        (b'["\\\\", [[]]]', 3),
        ('["中文[[[", [[]]]'.encode(), 3),
    ],
)
def test_nesting_depth_counts_levels_outside_strings(text, depth):
    assert nesting_depth(text) == depth


# --- size -----------------------------------------------------------------------------------------


def test_a_20_mb_body_is_413_in_the_api_shape(boss, incident, settings):
    body = '{"title": "' + "x" * (20 * 1024 * 1024) + '"}'
    for method, path in writes(incident):
        response = send(boss, method, path, body)
        assert_refused(response, 413, "too large", f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}")
    assert_unchanged(incident)


# --- encoding, content type, empty bodies, non-objects ---------------------------------------------------


def test_invalid_utf8_is_400_saying_so(boss, incident):
    for method, path in writes(incident):
        response = send(boss, method, path, b'{"title": "caf\xe9"}')
        assert_refused(response, 400, "not valid UTF-8", "0xe9", "position 14")
    assert_unchanged(incident)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"title": "T"}'),
        ("application/xml", "<incident/>"),
        ("application/x-www-form-urlencoded", "title=T"),
        (
            "multipart/form-data; boundary=xyz",
            '--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nT\r\n--xyz--',
        ),
    ],
)
def test_another_content_type_is_415_in_the_api_shape(boss, incident, content_type, body):
    for method, path in writes(incident):
        response = send(boss, method, path, body, content_type=content_type)
        assert_refused(response, 415, content_type.split(";")[0])
    assert_unchanged(incident)


@pytest.mark.parametrize("body", ["", "   \n"])
def test_an_empty_json_body_is_400_saying_so(boss, incident, body):
    for method, path in writes(incident):
        response = send(boss, method, path, body)
        assert_refused(response, 400, "The request body is empty")
    assert_unchanged(incident)


def test_a_body_may_be_left_out_entirely_where_nothing_is_needed(boss, incident):
    # No content type and no body: "confirm" needs no input at all.
    response = boss.post(f"/api/incidents/{incident.reference}/steps/confirm/")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["state"] == State.CONFIRMED


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ("[1, 2]", "an array"),
        ('"just a string"', "a string"),
        ("null", "null"),
        ("42", "a number"),
        ("true", "true or false"),
    ],
)
def test_anything_but_an_object_is_400_naming_what_came(boss, incident, body, kind):
    for method, path in writes(incident):
        response = send(boss, method, path, body)
        assert_refused(response, 400, f"must be a JSON object ({{…}}), not {kind}")
    assert_unchanged(incident)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('{"title": }', ("not valid JSON", "line 1, column 11")),
        ('{"title": NaN}', ("not valid JSON", "NaN")),
        ('{"affected_users": ' + "9" * 5000 + "}", ("not valid JSON",)),
    ],
)
def test_broken_json_is_400_saying_where(boss, incident, body, words):
    for method, path in writes(incident):
        assert_refused(send(boss, method, path, body), 400, *words)
    assert_unchanged(incident)


def test_parse_errors_come_in_the_readers_language(people, incident):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_authenticate(people.commander)
    response = send(client, "post", LIST, "[" * 1000)
    assert response.status_code == 400
    assert "JSON 嵌套过深" in response.json()["detail"]
