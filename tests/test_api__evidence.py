"""Evidence over the API: the list of an incident's files, uploading one (multipart, the
same type sniffing and size limit as the page: crisisflow.evidence.actions.attach) and
downloading one through the same permission check and serving function as the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from crisisflow.evidence import actions as evidence
from crisisflow.evidence.models import Attachment
from crisisflow.incidents import actions
from crisisflow.incidents.models import Event
from crisisflow.vocab import State
from tests.flows import report, walk_to
from tests.test_evidence__sniff import HTML, PDF, png

pytestmark = pytest.mark.django_db

CSP = "sandbox; default-src 'none'"


@pytest.fixture
def incident(people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    return incident


def list_url(incident) -> str:
    return f"/api/incidents/{incident.reference}/evidence/"


def file_url(incident, attachment_id: int) -> str:
    return f"/api/incidents/{incident.reference}/evidence/{attachment_id}/"


def upload(client, incident, content: bytes, name: str, caption: str = "", **extra):
    # The browser's claimed type is a lie on purpose: only the bytes count.
    data = {"file": SimpleUploadedFile(name, content, content_type="image/png"), "caption": caption}
    return client.post(list_url(incident), data, format="multipart", **extra)


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_team_member_uploads_lists_and_downloads_a_screenshot(api, people, incident):
    image = png()
    pr = api(people.pr_lead)
    response = upload(pr, incident, image, "weibo post.png", "Trending post at 09:10")
    assert response.status_code == 201, response.data
    body = response.data
    assert body["original_name"] == "weibo post.png"
    assert body["content_type"] == "image/png" and body["kind"] == "screenshot"
    assert body["size"] == len(image) and len(body["sha256"]) == 64
    assert body["caption"] == "Trending post at 09:10"
    assert body["uploaded_by"] == {"id": people.pr_lead.pk, "name": "Prlead"}
    assert body["url"].endswith(file_url(incident, body["id"]))
    event = Event.objects.filter(incident=incident, kind=Event.Kind.EVIDENCE).get()
    assert event.data["sha256"] == body["sha256"]

    listed = api(people.cs).get(list_url(incident))
    assert listed.status_code == 200 and [a["id"] for a in listed.data] == [body["id"]]

    download = api(people.cs).get(file_url(incident, body["id"]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == image
    assert download["Content-Type"] == "image/png"


def test_the_download_has_the_same_safe_headers_as_the_page(api, people, incident, client):
    pdf = evidence.attach(people.commander, incident, SimpleUploadedFile("律师函.pdf", PDF), "")
    through_api = api(people.commander).get(file_url(incident, pdf.pk), HTTP_ACCEPT="application/pdf")
    client.force_login(people.commander)
    through_page = client.get(reverse("evidence-file", args=[incident.reference, pdf.pk]))
    assert through_api.status_code == through_page.status_code == 200
    for header in (
        "Content-Type",
        "Content-Disposition",
        "X-Content-Type-Options",
        "Content-Security-Policy",
        "Cross-Origin-Resource-Policy",
        "Cache-Control",
        "ETag",
    ):
        assert through_api[header] == through_page[header], header
    assert through_api["Content-Security-Policy"] == CSP
    assert through_api["X-Content-Type-Options"] == "nosniff"
    assert through_api["Content-Disposition"].startswith("attachment; ")
    again = api(people.commander).get(file_url(incident, pdf.pk), HTTP_IF_NONE_MATCH=through_api["ETag"])
    assert again.status_code == 304 and again["Content-Security-Policy"] == CSP


def test_a_file_is_judged_by_its_bytes_and_refusals_name_it(api, people, incident, media):
    response = upload(api(people.pr_lead), incident, HTML, "screenshot.png")
    assert response.status_code == 400
    assert response.data["field"] == "file"
    assert response.data["detail"].startswith("“screenshot.png” is a web page or XML file")
    nothing = api(people.pr_lead).post(list_url(incident), {"caption": "no file"}, format="multipart")
    assert nothing.status_code == 400
    assert nothing.data == {"detail": "Choose a file to attach.", "field": "file"}
    as_json = api(people.pr_lead).post(list_url(incident), {"caption": "x"}, format="json")
    assert as_json.status_code == 415
    assert not Attachment.objects.exists() and stored_files(media) == []


def test_a_file_over_the_limit_is_cut_short_and_refused(people, incident, settings, media, monkeypatch):
    """Through a signed-in session, whose CSRF check reads the body: the cap must already
    be in place then, or the whole 3 MB would be kept first."""
    settings.CRISISFLOW = {**settings.CRISISFLOW, "EVIDENCE_MAX_BYTES": 100_000}
    received = []
    real_attach = evidence.attach

    def spy(actor, incident, uploaded_file, caption=""):
        received.append(uploaded_file.size)
        return real_attach(actor, incident, uploaded_file, caption)

    monkeypatch.setattr(evidence, "attach", spy)
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(people.pr_lead)
    client.get(reverse("incident-detail", args=[incident.reference]))  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    big = SimpleUploadedFile("huge.png", png() + b"\x00" * 3_000_000, content_type="image/png")
    response = client.post(list_url(incident), {"file": big}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert 100_000 < received[0] <= 100_000 + 2 * 64 * 1024
    assert response.json() == {
        "detail": "“huge.png” is larger than the 97.7\xa0KB allowed for evidence.",
        "field": "file",
    }
    assert not Attachment.objects.exists() and stored_files(media) == []

    # Without the token nothing is read into storage at all.
    refused = client.post(list_url(incident), {"file": SimpleUploadedFile("p.png", png())})
    assert refused.status_code == 403 and not Attachment.objects.exists()


def test_observers_may_read_but_not_attach(api, people, incident):
    evidence.attach(people.commander, incident, SimpleUploadedFile("a.png", png()), "")
    observer = api(people.observer)
    assert len(observer.get(list_url(incident)).data) == 1
    response = upload(observer, incident, png(), "post.png")
    assert response.status_code == 403
    assert response.data["detail"] == "Only the commander and the team (not observers) can attach evidence."
    assert Attachment.objects.count() == 1


def test_a_restricted_incidents_evidence_does_not_exist_for_outsiders(api, people, plan, media):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    attachment = evidence.attach(people.commander, secret, SimpleUploadedFile("leak.png", png()), "")
    outsider = api(people.outsider)
    for response in (
        outsider.get(list_url(secret)),
        upload(outsider, secret, png(), "mine.png"),
        outsider.get(file_url(secret, attachment.pk)),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "No such incident.", "field": None}
    assert Attachment.objects.count() == 1
    assert api(people.commander).get(file_url(secret, attachment.pk)).status_code == 200


def test_a_file_is_only_found_through_its_own_incident(api, people, incident):
    other = actions.report_incident(people.commander, title="Another one")
    attachment = evidence.attach(people.commander, incident, SimpleUploadedFile("a.png", png()), "")
    response = api(people.commander).get(file_url(other, attachment.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": "No such evidence file.", "field": None}
    assert api(people.commander).get(file_url(incident, 999_999)).status_code == 404


def test_a_file_missing_from_storage_is_a_404_not_a_500(api, people, incident):
    attachment = evidence.attach(people.commander, incident, SimpleUploadedFile("a.png", png()), "")
    Path(attachment.file.path).unlink()
    response = api(people.commander).get(file_url(incident, attachment.pk))
    assert response.status_code == 404
    assert response.json() == {"detail": "No such evidence file.", "field": None}


def test_signed_out_callers_get_a_401(people, incident):
    attachment = evidence.attach(people.commander, incident, SimpleUploadedFile("a.png", png()), "")
    anonymous = APIClient()
    assert anonymous.get(file_url(incident, attachment.pk)).status_code == 401
    assert anonymous.get(list_url(incident)).status_code == 401
