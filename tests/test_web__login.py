"""Signing in and out of the web app."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_sign_in_leads_to_the_dashboard(client, people):
    client.cookies["django_language"] = "en"
    page = client.get(reverse("login"))
    assert page.status_code == 200 and 'name="password"' in page.content.decode()

    credentials = {"username": "commander", "password": "pw-commander"}
    response = client.post(reverse("login"), credentials, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("dashboard")
    assert "Signed in as Commander" in html


def test_a_wrong_password_is_refused(client, people):
    client.cookies["django_language"] = "en"
    response = client.post(reverse("login"), {"username": "commander", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_log_out_is_a_post(client, people):
    client.force_login(people.commander)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("incident-list")).status_code == 302
