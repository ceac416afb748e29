"""Two people edit the same early-warning setting at once: the later save is refused
(409) naming who saved in between and when, with what they typed kept on the form, and
nothing of the earlier save is lost. Brands and products, data sources (and their
secrets), series; and an incident's brand, in the room and through the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from crisisflow.incidents.models import Event
from crisisflow.people.models import User
from crisisflow.watch import configure, incident_brands
from crisisflow.watch.models import Source
from tests.conftest import T0, make_user
from tests.flows import report
from tests.watch_world import brand, series, signed

pytestmark = pytest.mark.django_db

FIRST_SAVE = T0 + timedelta(minutes=5)  # 17:05 in Shanghai, the people's time zone
SECOND_SAVE = T0 + timedelta(minutes=7)


@pytest.fixture
def lin(people):
    """A second duty commander, on duty with the first."""
    return make_user("lin", "commander")


def opened(user, path: str, form_id: str = "id_version", language: str = "en") -> tuple[Client, str]:
    """`user` opens a page in a browser of their own: the browser, and the version the
    page's form carries (its hidden input `form_id`)."""
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    page = client.get(path)
    assert page.status_code == 200
    found = re.search(rf'<input type="hidden" name="version" value="(\d+)" id="{form_id}">', page.content.decode())
    assert found, f"no version on the form of {path}"
    return client, found.group(1)


def refusal(response) -> str:
    return " ".join(response.context["form"].non_field_errors())


# --- brands and products ---------------------------------------------------------------------------


def test_two_commanders_edit_a_brand_at_once_and_the_later_save_is_refused(people, lin):
    acme = brand()
    page = f"/watch/setup/brands/{acme.pk}/"
    first, first_saw = opened(people.commander, page)
    second, second_saw = opened(lin, page)
    assert first_saw == second_saw == "1"

    with time_machine.travel(FIRST_SAVE, tick=False):
        saved = first.post("/watch/setup/brands/", {"brand": acme.pk, "version": first_saw, "name": "Acme Payments"})
        assert saved.status_code == 400  # the kind is required: nothing saved yet
        saved = first.post(
            "/watch/setup/brands/",
            {"brand": acme.pk, "version": first_saw, "name": "Acme Payments", "kind": "brand"},
        )
    assert saved.status_code == 302
    with time_machine.travel(SECOND_SAVE, tick=False):
        late = second.post(
            "/watch/setup/brands/", {"brand": acme.pk, "version": second_saw, "name": "Acme Pay", "kind": "product"}
        )

    assert late.status_code == 409
    assert refusal(late) == (
        "This brand or product was changed by Commander at 2026-03-02 17:05 Asia/Shanghai, "
        "after you opened it; reload the page and try again."
    )
    # What the second person typed is still on the form they see.
    assert late.context["form"]["kind"].value() == "product"
    acme.refresh_from_db()
    assert (acme.name, acme.kind, acme.version, acme.edited_by, acme.edited_at) == (
        "Acme Payments",
        "brand",
        2,
        people.commander,
        FIRST_SAVE,
    )

    # Reloaded, the page shows the first change; the second person's goes on top of it.
    again, now_saw = opened(lin, page)
    assert now_saw == "2" and 'value="Acme Payments"' in again.get(page).content.decode()
    kept = again.post(
        "/watch/setup/brands/", {"brand": acme.pk, "version": now_saw, "name": "Acme Payments", "kind": "product"}
    )
    assert kept.status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.kind, acme.version, acme.edited_by) == ("Acme Payments", "product", 3, lin)


# --- data sources ----------------------------------------------------------------------------------


def test_two_commanders_edit_a_source_at_once_and_the_later_save_is_refused(people, lin):
    radar, _secret = configure.create_source(people.commander, key="radar", name="Opinion radar")
    page = f"/watch/setup/sources/{radar.pk}/"
    first, first_saw = opened(people.commander, page)
    second, second_saw = opened(lin, page)

    with time_machine.travel(FIRST_SAVE, tick=False):
        renamed = first.post(
            "/watch/setup/sources/", {"source": radar.pk, "version": first_saw, "name": "Radar (Weibo)", "active": "on"}
        )
    assert renamed.status_code == 302
    switched_off = second.post(
        "/watch/setup/sources/", {"source": radar.pk, "version": second_saw, "name": "Opinion radar", "active": ""}
    )

    assert switched_off.status_code == 409
    assert refusal(switched_off).startswith("This data source was changed by Commander at 2026-03-02 17:05")
    assert switched_off.context["form"]["active"].value() is False
    radar.refresh_from_db()
    assert (radar.name, radar.active, radar.version) == ("Radar (Weibo)", True, 2)


def test_two_commanders_replace_a_secret_at_once_and_the_first_secret_stays_good(people, lin):
    series()
    radar, _secret = configure.create_source(people.commander, key="radar", name="Opinion radar")
    page = f"/watch/setup/sources/{radar.pk}/"
    first, first_saw = opened(people.commander, page, form_id="rotate_version")
    second, second_saw = opened(lin, page, form_id="rotate_version")

    replaced = first.post("/watch/setup/sources/rotate/", {"source": radar.pk, "version": first_saw})
    assert replaced.status_code == 200
    secret = re.search(r'<code class="token-secret">([^<]+)</code>', replaced.content.decode()).group(1)
    again = second.post("/watch/setup/sources/rotate/", {"source": radar.pk, "version": second_saw})

    # Otherwise the first would have handed the provider a secret already dead.
    assert again.status_code == 409
    assert "This data source was changed by Commander" in again.content.decode()
    assert "token-secret" not in again.content.decode()
    assert Source.objects.get(pk=radar.pk).secret == secret
    batch = {"points": [{"series": "acme-complaints", "at": "2026-03-02T09:00:00Z", "value": 1}]}
    assert signed(APIClient(), batch, secret=secret).status_code == 200


# --- series ------------------------------------------------------------------------------------------


def test_two_commanders_edit_a_series_at_once_and_the_later_save_is_refused(people, lin):
    one = series(name="Complaints")
    page = f"/watch/setup/series/{one.pk}/"
    first, first_saw = opened(people.commander, page)
    second, second_saw = opened(lin, page, language="zh-hans")
    fields = {"series": one.pk, "kind": "complaints_per_hour", "scope": "brand", "brand": "acme"}

    with time_machine.travel(FIRST_SAVE, tick=False):
        renamed = first.post("/watch/setup/series/", {**fields, "version": first_saw, "name": "Complaints per hour"})
    assert renamed.status_code == 302
    moved = second.post(
        "/watch/setup/series/", {**fields, "version": second_saw, "name": "Complaints", "platform": "weibo"}
    )

    assert moved.status_code == 409
    assert (
        refusal(moved) == "在你打开之后，Commander 于 2026-03-02 17:05 Asia/Shanghai 修改了这个序列；请刷新页面后重试。"
    )
    assert moved.context["form"]["platform"].value() == "weibo"
    one.refresh_from_db()
    assert (one.name, one.platform, one.version, one.edited_by) == ("Complaints per hour", "", 2, people.commander)


def test_an_edit_without_the_version_it_was_opened_at_is_refused(people, browse):
    acme = brand()
    one = series(name="Complaints")
    client = browse(people.commander)
    no_version = client.post("/watch/setup/brands/", {"brand": acme.pk, "name": "Acme Payments", "kind": "brand"})
    assert no_version.status_code == 400
    assert "reload the page" in refusal(no_version)
    made_up = client.post(
        "/watch/setup/series/",
        {"series": one.pk, "version": "7", "kind": "sales", "scope": "organisation", "name": "Sales"},
    )
    # Never saved here since: nobody to name.
    assert made_up.status_code == 409
    assert refusal(made_up) == "Someone else changed this series; reload the page and try again."
    acme.refresh_from_db()
    one.refresh_from_db()
    assert (acme.name, acme.version, one.kind, one.version) == ("Acme Pay", 1, "complaints_per_hour", 1)


# --- an incident's brand -------------------------------------------------------------------------


def test_two_commanders_set_an_incidents_brand_at_once_and_the_later_one_is_refused(people, plan, lin):
    brand(), brand("beta", "Beta Shop")
    incident = report(people)
    assert incident.commander_id is None  # any duty commander commands it until one takes it
    room = f"/incidents/{incident.reference}/"
    first, first_saw = opened(people.commander, room, form_id="brand_version")
    second, second_saw = opened(lin, room, form_id="brand_version")
    assert first_saw == second_saw == "0"

    assert first.post(room + "brand/", {"version": first_saw, "brand": "acme"}).status_code == 302
    late = second.post(room + "brand/", {"version": second_saw, "brand": "beta"})
    assert late.status_code == 409
    assert "The brand of this incident was changed by Commander" in late.content.decode()
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(lin)
    url = f"/api/incidents/{incident.reference}/brand/"
    assert api.post(url, {"brand": "beta", "expected_version": 0}, format="json").status_code == 409

    link = incident_brands.brand_of(incident)
    assert (link.brand.key, link.set_by, link.version) == ("acme", people.commander, 1)
    assert Event.objects.filter(incident=incident, kind=incident_brands.BRAND_SET).count() == 1
    # Having read the page again, the second commander's choice follows the first.
    answer = api.post(url, {"brand": "beta", "expected_version": api.get(url).json()["version"]}, format="json")
    assert answer.status_code == 200 and answer.json()["brand"]["key"] == "beta"


def test_a_change_in_the_admin_moves_the_version_on_too(people, lin):
    acme = brand()
    page = f"/watch/setup/brands/{acme.pk}/"
    commander, saw = opened(people.commander, page)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="pw-root", display_name="Root"))
    with time_machine.travel(FIRST_SAVE, tick=False):
        changed = admin.post(
            f"/admin/watch/brand/{acme.pk}/change/",
            {
                "key": "acme",
                "name": "Acme Pay (admin)",
                "kind": "brand",
                "posts_changed_at_0": "",
                "posts_changed_at_1": "",
            },
        )
    assert changed.status_code == 302
    late = commander.post("/watch/setup/brands/", {"brand": acme.pk, "version": saw, "name": "Acme", "kind": "brand"})
    assert late.status_code == 409 and "changed by Root at 2026-03-02 17:05" in refusal(late)
    acme.refresh_from_db()
    assert (acme.name, acme.version) == ("Acme Pay (admin)", 2)
