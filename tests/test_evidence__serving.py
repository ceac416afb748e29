"""Evidence files over HTTP: uploaded through the incident page, served only to those who
may see the incident, with headers that keep a hostile file inert."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from crisisflow.evidence import actions as evidence
from crisisflow.evidence.models import Attachment
from crisisflow.incidents import actions
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


def file_url(attachment: Attachment) -> str:
    return reverse("evidence-file", args=[attachment.incident.reference, attachment.pk])


def page(incident) -> str:
    return reverse("incident-detail", args=[incident.reference])


def attach(people, incident, content: bytes, name: str, caption: str = "") -> Attachment:
    return evidence.attach(people.commander, incident, SimpleUploadedFile(name, content), caption)


# --- serving ------------------------------------------------------------------------------------------


def test_an_image_is_served_inline_with_its_own_type_and_a_sandbox(browse, people, incident):
    image = png()
    attachment = attach(people, incident, image, "post.png")
    response = browse(people.pr_lead).get(file_url(attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == image
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == CSP
    assert response["Content-Disposition"] == "inline; filename=\"post.png\"; filename*=UTF-8''post.png"
    assert response["Content-Length"] == str(len(image))


def test_documents_are_downloads_with_a_safe_ascii_name_and_the_real_one(browse, people, incident):
    pdf = attach(people, incident, PDF, "律师函 (final) v2.pdf")
    response = browse(people.commander).get(file_url(pdf))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Security-Policy"] == CSP
    assert response["Content-Disposition"] == (
        "attachment; filename=\"final_v2.pdf\"; filename*=UTF-8''%E5%BE%8B%E5%B8%88%E5%87%BD%20%28final%29%20v2.pdf"
    )
    chinese = attach(people, incident, "全是中文".encode(), "声明.txt")
    response = browse(people.commander).get(file_url(chinese))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"evidence-{chinese.pk}.txt\"; filename*=UTF-8''%E5%A3%B0%E6%98%8E.txt"
    )


def test_a_text_file_with_an_image_name_downloads_as_text(browse, people, incident):
    attachment = attach(people, incident, b"just words", "looks-like.png")
    response = browse(people.commander).get(file_url(attachment))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="looks-like.png.txt";')


def test_quotes_and_header_tricks_in_a_name_stay_inside_it(browse, people, incident):
    attachment = attach(people, incident, png(), 'a";\r\nSet-Cookie: x=1;.png')
    response = browse(people.commander).get(file_url(attachment))
    disposition = response["Content-Disposition"]
    assert disposition.startswith('inline; filename="a_Set-Cookie_x_1.png"; filename*=UTF-8')
    assert "\r" not in disposition and "\n" not in disposition and disposition.count('"') == 2
    assert "Set-Cookie" not in response.headers


def test_outsiders_of_a_restricted_incident_get_404(browse, people, plan):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    attachment = attach(people, secret, png(), "leak.png")
    assert browse(people.outsider).get(file_url(attachment)).status_code == 404
    assert browse(people.commander).get(file_url(attachment)).status_code == 200


def test_a_file_is_only_found_through_its_own_incident(browse, people, incident, plan):
    other = actions.report_incident(people.commander, title="Another one")
    attachment = attach(people, incident, png(), "post.png")
    wrong = reverse("evidence-file", args=[other.reference, attachment.pk])
    assert browse(people.commander).get(wrong).status_code == 404


def test_signed_out_people_are_sent_to_sign_in(client, people, incident):
    attachment = attach(people, incident, png(), "post.png")
    response = client.get(file_url(attachment))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_there_is_no_public_url_for_the_stored_files(browse, people, incident):
    attachment = attach(people, incident, png(), "post.png")
    client = browse(people.commander)
    for url in (f"/media/{attachment.file.name}", f"/{attachment.file.name}", f"/static/{attachment.file.name}"):
        assert client.get(url).status_code == 404, url


def test_an_unchanged_file_is_not_sent_again(browse, people, incident):
    attachment = attach(people, incident, png(), "post.png")
    client = browse(people.commander)
    etag = client.get(file_url(attachment))["ETag"]
    again = client.get(file_url(attachment), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again["Content-Security-Policy"] == CSP


# --- uploading through the incident page --------------------------------------------------------------


def post_file(client, incident, content: bytes, name: str, caption: str = ""):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    return client.post(reverse("evidence-attach", args=[incident.reference]), {"file": upload, "caption": caption})


def test_a_team_member_uploads_a_screenshot_and_sees_its_thumbnail(browse, people, incident):
    client = browse(people.pr_lead)
    response = post_file(client, incident, png(), "hot-search.png", "Trending #3 at 09:40")
    assert response.status_code == 302
    assert response["Location"].endswith("#evidence")
    attachment = Attachment.objects.get()
    html = client.get(page(incident)).content.decode()
    assert f'<img src="{file_url(attachment)}" alt="Trending #3 at 09:40"' in html
    assert "hot-search.png" in html
    assert attachment.sha256 in html
    assert "Evidence attached: “hot-search.png”" in html


def test_a_refused_file_is_explained_next_to_the_field(browse, people, incident, media):
    client = browse(people.pr_lead)
    response = post_file(client, incident, HTML, "cat.png", "keep me")
    assert response.status_code == 400
    html = response.content.decode()
    message = "“cat.png” is a web page or XML file (HTML, SVG…), which cannot be attached."
    form = html[html.index('id="evidence"') :]
    assert message in form[: form.index("</form>")]
    assert 'value="keep me"' in form  # the caption typed is kept
    assert not Attachment.objects.exists()
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_file_over_the_limit_is_cut_short_and_refused(browse, people, incident, settings, media, monkeypatch):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "EVIDENCE_MAX_BYTES": 100_000}
    received = []
    real_attach = evidence.attach

    def spy(actor, incident, uploaded_file, caption=""):
        received.append(uploaded_file.size)
        return real_attach(actor, incident, uploaded_file, caption)

    monkeypatch.setattr(evidence, "attach", spy)
    response = post_file(browse(people.pr_lead), incident, png() + b"\x00" * 3_000_000, "huge.png")
    assert response.status_code == 400
    # Only a little more than the limit was kept of the 3 MB sent.
    assert 100_000 < received[0] <= 100_000 + 2 * 64 * 1024
    assert "“huge.png” is larger than the 97.7\xa0KB allowed for evidence." in response.content.decode()
    assert not Attachment.objects.exists()


def test_observers_may_not_upload_and_see_no_form(browse, people, incident):
    client = browse(people.observer)
    assert 'enctype="multipart/form-data"' not in client.get(page(incident)).content.decode()
    assert post_file(client, incident, png(), "post.png").status_code == 403
    assert not Attachment.objects.exists()


def test_outsiders_of_a_restricted_incident_cannot_upload(browse, people, plan):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    assert post_file(browse(people.outsider), secret, png(), "post.png").status_code == 404


def test_an_upload_needs_the_csrf_token(people, incident):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.commander)
    assert post_file(client, incident, png(), "post.png").status_code == 403
    assert not Attachment.objects.exists()


def test_the_admin_shows_evidence_read_only_with_the_protected_link(client, people, incident):
    from crisisflow.people.models import User

    attachment = attach(people, incident, png(), "post.png", "Top post")
    admin = User.objects.create_superuser("root", "root@example.com", "pw-root")
    client.force_login(admin)
    listing = client.get(reverse("admin:evidence_attachment_changelist")).content.decode()
    assert "post.png" in listing
    detail = client.get(reverse("admin:evidence_attachment_change", args=[attachment.pk])).content.decode()
    assert f'href="{file_url(attachment)}"' in detail
    assert attachment.sha256 in detail
    assert 'name="caption"' not in detail  # nothing to edit
    assert client.get(reverse("admin:evidence_attachment_delete", args=[attachment.pk])).status_code == 403
    assert client.get(reverse("admin:evidence_attachment_add")).status_code == 403
