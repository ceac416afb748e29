"""Security of the web app: sign-in lockout, CSRF, restricted incidents, escaped user text.

The route walks below read the URL configuration itself, so a page or fragment added
later is covered without touching this file.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from rest_framework.test import APIClient

from crisisflow.incidents import actions
from crisisflow.incidents.models import Incident
from crisisflow.vocab import State
from crisisflow.web.security import client_ip_behind_proxy
from tests.conftest import SMALL_PLAN, T0, install_plan
from tests.flows import walk_to

pytestmark = pytest.mark.django_db

LOGIN = "/login/"
SOMEONE_ELSE = "10.9.8.7"


def sign_in(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(client: Client, times: int, username: str = "commander", ip: str = "10.0.0.1"):
    response = None
    for _ in range(times):
        response = sign_in(client, username, "wrong-password", ip)
    return response


@pytest.fixture
def english(client):
    client.cookies["django_language"] = "en"
    return client


# --- sign-in lockout -------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_user_out_even_with_the_right_one(english, people):
    client = english
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            assert sign_in(client, "commander", "wrong-password").status_code == 200
        fifth = sign_in(client, "commander", "wrong-password")
        assert fifth.status_code == 429

        sixth = sign_in(client, "commander", "pw-commander")
        assert sixth.status_code == 429
        assert not signed_in(client)
        html = sixth.content.decode()
        assert "Too many failed sign-in attempts." in html
        assert "paused for 15 minutes" in html
        assert 'value="commander"' in html  # which name is locked; never the password
        assert "pw-commander" not in html


def test_the_lockout_lifts_after_fifteen_minutes(english, people):
    client = english
    with time_machine.travel(T0, tick=False) as traveller:
        fail(client, 5)
        traveller.shift(timedelta(minutes=14))
        assert sign_in(client, "commander", "pw-commander").status_code == 429
        # Trying while locked out does not restart the quarter of an hour.
        traveller.shift(timedelta(minutes=1, seconds=1))
        response = sign_in(client, "commander", "pw-commander")
        assert response.status_code == 302
        assert signed_in(client)


def test_the_lockout_holds_one_user_name_from_one_address(people):
    locked, elsewhere, colleague = Client(), Client(), Client()
    with time_machine.travel(T0, tick=False):
        fail(locked, 5, "commander")
        assert sign_in(locked, "commander", "pw-commander").status_code == 429
        # Nobody can lock the commander out from somewhere else...
        assert sign_in(elsewhere, "commander", "pw-commander", ip=SOMEONE_ELSE).status_code == 302
        # ...and a colleague behind the same address still gets in.
        assert sign_in(colleague, "prlead", "pw-prlead").status_code == 302


def test_a_successful_sign_in_clears_the_count(people):
    client = Client()
    with time_machine.travel(T0, tick=False):
        fail(client, 4)
        assert sign_in(client, "commander", "pw-commander").status_code == 302
        client.post(reverse("logout"))
        assert fail(client, 4).status_code == 200  # four more: still not locked
        assert sign_in(client, "commander", "pw-commander").status_code == 302


def test_a_lockout_does_not_stop_sessions_made_without_a_password(client, people):
    # force_login (what the page tests use) goes around authentication and its lockout.
    with time_machine.travel(T0, tick=False):
        fail(client, 5)
        client.force_login(people.commander)
        assert client.get(reverse("incident-list")).status_code == 200


def test_behind_a_proxy_the_client_address_is_the_one_the_proxy_added():
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.2")
    assert client_ip_behind_proxy(request) == "203.0.113.9"
    assert client_ip_behind_proxy(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def test_sessions_last_one_shift_and_cookies_are_same_site(settings):
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


# --- walking the URL configuration --------------------------------------------------------------------

PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# URL parameters naming something that belongs to an incident, and where to find one.
OWNED = {"task_id": "tasks", "member_id": "team", "attachment_id": "attachments"}
NOWHERE = 999_999


def routes(patterns, prefix: str = ""):
    """(route, name) for every URL pattern, includes expanded."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


def web_routes():
    from crisisflow.web import urls

    return list(routes(urls.urlpatterns))


def api_routes():
    from crisisflow.api import urls

    return list(routes(urls.urlpatterns, "api/"))


def params(route: str) -> list[str]:
    return [m["name"] for m in PARAM.finditer(route)]


def incident_scoped(route: str) -> bool:
    return bool({"reference", *OWNED} & set(params(route)))


def sample_values(name: str) -> list[str]:
    """Values to try for a parameter that is neither the incident nor one of its things."""
    if name == "region":
        try:
            from crisisflow.web import live

            return list(live.INCIDENT_REGIONS) or ["x"]
        except (ImportError, AttributeError):
            return ["x"]
    if name == "step":
        return ["confirm", "activate", "publish"]
    return ["1"]


def fill(route: str, incident: Incident | None, reference: str | None = None) -> list[str]:
    """Every URL for `route` about `incident` (None: things that do not exist)."""
    urls = ["/" + route]
    for name in params(route):
        if name == "reference":
            values = [reference or (incident.reference if incident else "CF-NOPE-0000")]
        elif name in OWNED:
            related = getattr(incident, OWNED[name], None) if incident else None
            first = related.order_by("pk").first() if related is not None else None
            values = [str(first.pk if first else NOWHERE)]
        else:
            values = sample_values(name)
        urls = [re.sub(r"<(?:\w+:)?" + name + ">", value, url, count=1) for url in urls for value in values]
    return urls


# --- restricted incidents are not there for outsiders ------------------------------------------------------


@pytest.fixture
def secret(people, plan, settings, tmp_path) -> Incident:
    """A restricted incident with a team, tasks, a note and (when evidence exists) a file."""
    settings.MEDIA_ROOT = tmp_path / "media"
    incident = actions.report_incident(
        people.commander, title="Quiet data leak", crisis_type="service_outage", severity="high", restricted=True
    )
    incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
    actions.add_note(people.commander, incident, "Keep this quiet")
    try:
        from crisisflow.evidence import actions as evidence

        evidence.attach(people.commander, incident, SimpleUploadedFile("log.txt", b"leak log\n"), "log")
    except ImportError:  # evidence not installed: its routes are tried with an id that does not exist
        pass
    return Incident.objects.get(pk=incident.pk)


def test_restricted_incidents_are_not_found_by_outsiders_on_any_incident_url(client, people, secret):
    outsider = client
    outsider.force_login(people.outsider)
    checked = 0
    for route, name in web_routes():
        if not incident_scoped(route):
            continue
        for there, missing in zip(fill(route, secret), fill(route, None), strict=True):
            for method in ("get", "post"):
                response = getattr(outsider, method)(there)
                # Exactly what a reference that does not exist gets: nothing to learn.
                baseline = getattr(outsider, method)(missing)
                assert response.status_code in (404, 405), (method, there, name, response.status_code)
                assert response.status_code == baseline.status_code, (method, there, name)
                assert b"Quiet data leak" not in response.content, (method, there)
                checked += 1
    assert checked >= 40  # the walk found the incident page, its actions and its tasks


def test_the_team_still_sees_the_restricted_incident(client, people, secret):
    client.force_login(people.commander)
    response = client.get(reverse("incident-detail", args=[secret.reference]))
    assert response.status_code == 200 and b"Quiet data leak" in response.content


def test_restricted_incidents_are_not_found_by_outsiders_in_the_api(people, secret):
    api = APIClient()
    api.force_authenticate(people.outsider)
    checked = 0
    walked = set()
    for route, name in api_routes():
        if not incident_scoped(route):
            continue
        walked.add(name)
        for there, missing in zip(fill(route, secret), fill(route, None), strict=True):
            for method in ("get", "post", "patch", "delete"):
                response = getattr(api, method)(there, {}, format="json")
                baseline = getattr(api, method)(missing, {}, format="json")
                assert response.status_code in (404, 405), (method, there, name, response.status_code)
                assert response.status_code == baseline.status_code, (method, there, name)
                assert b"Quiet data leak" not in response.content
                checked += 1
    assert checked >= 40
    # The incident's evidence, comments and command are among what was walked.
    assert {"incident-command", "incident-evidence", "evidence-file", "task-comments"} <= walked


# --- CSRF -------------------------------------------------------------------------------------------------------------


SIGNED_NOT_SESSION = {"watch-batches"}
PUBLIC_NOT_SESSION = {
    "subscriptions",
    "subscriptions-confirm",
    "subscriptions-confirm-sms",
    "subscriptions-unsubscribe",
}


def test_every_post_without_a_csrf_token_is_refused(people, secret):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people.commander)
    events = secret.events.count()
    checked = 0
    for route, name in web_routes() + api_routes():
        for url in fill(route, secret):
            response = strict.post(url, {"version": secret.version, "text": "forged"})
            # Batches from a monitoring provider carry no cookies: they are signed with
            # the source's secret, and a post without that signature is not signed in.
            if name in PUBLIC_NOT_SESSION:
                # Anyone may call these without signing in (following a public notice);
                # they read JSON only, so a forged form post is refused as such.
                assert response.status_code == 415, (url, name, response.status_code)
            else:
                refusal = 401 if name in SIGNED_NOT_SESSION else 403
                assert response.status_code == refusal, (url, name, response.status_code)
            checked += 1
    assert checked >= 40
    assert secret.events.count() == events  # nothing got through


def test_the_sign_in_form_needs_its_token_too(people):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(LOGIN, {"username": "commander", "password": "pw-commander"}).status_code == 403


def test_a_post_with_the_token_goes_through(people, secret):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people.commander)
    page = reverse("incident-detail", args=[secret.reference])
    strict.get(page)  # sets the CSRF cookie
    token = strict.cookies["csrftoken"].value
    response = strict.post(
        reverse("incident-note", args=[secret.reference]), {"text": "With a token", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


# --- user text is escaped everywhere -------------------------------------------------------------------------------------

XSS = '<script>alert("cf-xss")</script><img src=x onerror=alert(1)>'
RAW = ("<script>alert(", "<img src=x onerror")


def assert_escaped(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"unescaped user text on {where}"


def test_user_text_is_escaped_on_every_page_that_shows_it(client, people, plan):
    incident = actions.report_incident(
        people.commander, title="Title " + XSS, summary="Summary " + XSS, crisis_type="service_outage", severity="high"
    )
    incident = walk_to(people, incident, State.TEAM_ASSEMBLED)
    actions.add_note(people.commander, incident, "Note " + XSS)
    client.force_login(people.commander)
    client.cookies["django_language"] = "en"

    pages = [reverse("incident-list"), reverse("incident-detail", args=[incident.reference])]
    names = {name for _, name in web_routes()}
    pages += [reverse(name) for name in ("dashboard", "my-tasks", "board", "notifications") if name in names]
    # Every fragment of the incident page that a GET can fetch.
    for route, _name in web_routes():
        if incident_scoped(route) and "reference" in params(route):
            pages += fill(route, incident)
    shown = 0
    for url in pages:
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        assert_escaped(html, url)
        shown += html.count("&lt;script&gt;alert(")
    # The title, the summary and the note each reached a page, escaped.
    detail = client.get(reverse("incident-detail", args=[incident.reference])).content.decode()
    for text in ("Title &lt;script&gt;", "Summary &lt;script&gt;", "Note &lt;script&gt;"):
        assert text in detail
    assert shown >= 4


def test_playbook_text_is_escaped_on_the_playbook_pages(client, people):
    definition = copy.deepcopy(SMALL_PLAN)
    definition["name"] = {"en": "Plan " + XSS, "zh": "预案 " + XSS}
    definition["description"] = {"en": "About " + XSS, "zh": "说明 " + XSS}
    definition["tasks"][1]["title"] = {"en": "Statement " + XSS, "zh": "声明 " + XSS}
    definition["tasks"][1]["instructions"] = {"en": "Do " + XSS, "zh": "做 " + XSS}
    definition["tasks"][1]["checklist"] = [{"en": "Item " + XSS, "zh": "项 " + XSS}]
    install_plan(definition)
    client.force_login(people.outsider)
    for language in ("en", "zh-hans"):
        client.cookies["django_language"] = language
        for url in (reverse("playbooks"), reverse("playbook-detail", args=[definition["key"]])):
            html = client.get(url).content.decode()
            assert_escaped(html, url)
            assert "&lt;script&gt;alert(" in html
