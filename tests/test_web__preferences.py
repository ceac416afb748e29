"""A person's own preferences at /me/: language, time zone, contact details, alert channels."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crisisflow.incidents.errors import Invalid
from crisisflow.people.models import User
from crisisflow.people.prefs import update_preferences

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    return response.content.decode()


def form_data(**changes) -> dict:
    data = {
        "language": "en",
        "time_zone": "Asia/Shanghai",
        "email": "legal@example.com",
        "phone": "+86 138 0013 8000",
        "alert_in_app": "on",
        "alert_email": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def field_block(html: str, name: str) -> str:
    """The markup of one field: from its label to the end of its <div class="field">."""
    start = html.index(f'for="me_{name}"')
    return html[start : html.index("</div>", start)]


def test_the_page_shows_the_current_preferences_and_the_promise(browse, people):
    people.legal.phone = "021 5555 0101"
    people.legal.save()
    html = text_of(browse(people.legal).get(reverse("preferences")))
    assert 'value="021 5555 0101"' in html
    assert 'value="Asia/Shanghai"' in html
    # Common zones are offered, the team's own first; any other may be typed.
    assert html.split('<datalist id="time-zones">')[1].startswith('<option value="Asia/Shanghai">')
    assert "a deadline that has passed" in html and "always reaches you in the app" in html
    # The header links here.
    assert f'href="{reverse("preferences")}"' in html


def test_saving_updates_the_person(browse, people):
    client = browse(people.legal)
    response = client.post(
        reverse("preferences"),
        form_data(time_zone=" Europe/London ", phone="+44 20 7946 0000", alert_in_app=None),
    )
    assert response.status_code == 302 and response["Location"] == reverse("preferences")
    legal = User.objects.get(pk=people.legal.pk)
    assert (legal.time_zone, legal.email, legal.phone) == ("Europe/London", "legal@example.com", "+44 20 7946 0000")
    assert (legal.alert_in_app, legal.alert_email) == (False, True)
    html = text_of(client.get(reverse("preferences")))
    assert "Your preferences are saved." in html
    assert "Times are shown in Europe/London." in html  # the new zone applies at once


def test_a_bad_time_zone_is_refused_next_to_its_field(browse, people):
    response = browse(people.legal).post(reverse("preferences"), form_data(time_zone="Mars/Olympus_Mons"))
    assert response.status_code == 400
    html = text_of(response)
    assert "“Mars/Olympus_Mons” is not a known time zone" in field_block(html, "time_zone")
    assert 'value="Mars/Olympus_Mons"' in html  # what was typed is kept
    assert User.objects.get(pk=people.legal.pk).time_zone == "Asia/Shanghai"


def test_a_bad_email_is_refused_next_to_its_field(browse, people):
    response = browse(people.legal).post(reverse("preferences"), form_data(email="legal@", language="zh-hans"))
    assert response.status_code == 400
    assert "“legal@” is not a valid e-mail address." in field_block(text_of(response), "email")
    legal = User.objects.get(pk=people.legal.pk)
    assert (legal.email, legal.language) == ("", "zh-hans")  # nothing saved (zh-hans is the default)
    assert "django_language" not in response.cookies


def test_email_alerts_need_an_address(browse, people):
    response = browse(people.legal).post(reverse("preferences"), form_data(email=""))
    assert response.status_code == 400
    assert "Enter an e-mail address to get alerts by e-mail" in field_block(text_of(response), "email")
    ok = browse(people.legal).post(reverse("preferences"), form_data(email="", alert_email=None))
    assert ok.status_code == 302


def test_a_bad_phone_is_refused_next_to_its_field(browse, people):
    response = browse(people.legal).post(reverse("preferences"), form_data(phone="call me maybe"))
    assert response.status_code == 400
    assert "Enter the phone number with digits only" in field_block(text_of(response), "phone")


def test_saving_switches_the_language_at_once(browse, people):
    client = browse(people.legal, language="en")
    response = client.post(reverse("preferences"), form_data(language="zh-hans"))
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    assert User.objects.get(pk=people.legal.pk).language == "zh-hans"
    html = text_of(client.get(reverse("preferences")))
    assert '<html lang="zh-hans">' in html
    assert "你的偏好设置已保存。" in html  # "Your preferences are saved.", in the new language

    client.post(reverse("preferences"), form_data(language="en"))
    html = text_of(client.get(reverse("preferences")))
    assert '<html lang="en">' in html and "Your preferences" in html


def test_the_page_needs_sign_in(client):
    response = client.get(reverse("preferences"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- the use case on its own -----------------------------------------------------------------------


def test_update_preferences_changes_only_what_it_is_given(people):
    update_preferences(people.cs, language="en", alert_email=False)
    cs = User.objects.get(pk=people.cs.pk)
    assert (cs.language, cs.alert_email, cs.time_zone, cs.alert_in_app) == ("en", False, "Asia/Shanghai", True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"time_zone": ""}, "time_zone"),
        ({"time_zone": "Shanghai"}, "time_zone"),
        ({"email": "not an address"}, "email"),
        ({"phone": "12"}, "phone"),
    ],
)
def test_update_preferences_names_the_bad_field(people, fields, field):
    with pytest.raises(Invalid) as refused:
        update_preferences(people.cs, **fields)
    assert refused.value.field == field


def test_a_language_change_is_not_refused_for_a_missing_email(people):
    # alert_email is on and there is no address, but that is not what is being changed.
    assert people.cs.alert_email and not people.cs.email
    update_preferences(people.cs, language="en")
    assert User.objects.get(pk=people.cs.pk).language == "en"
