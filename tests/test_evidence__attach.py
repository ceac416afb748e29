"""Attaching evidence: who may, which files, and what the timeline keeps of it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crisisflow.evidence import actions as evidence
from crisisflow.evidence.models import Attachment, EvidenceIsImmutable
from crisisflow.incidents import actions, timeline
from crisisflow.incidents.errors import Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Event
from crisisflow.vocab import State
from tests.flows import report, walk_to
from tests.test_evidence__sniff import GIF, HTML, JPEG, PDF, TEXT, WEBP, png

pytestmark = pytest.mark.django_db

ALLOWED = "Allowed: PNG, JPEG, GIF or WebP images, PDF documents, and plain text (UTF-8)."


@pytest.fixture
def incident(people, plan):
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)  # reported by cs; PR and legal on the team
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    return incident


def upload(content: bytes, name: str = "weibo-post.png", claimed: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=claimed)


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_a_screenshot_is_kept_with_its_hash_under_a_random_name(people, incident, media):
    image = png()
    attachment = evidence.attach(people.pr_lead, incident, upload(image, "微博 post.png"), "Top post on Weibo, 09:12")

    attachment.refresh_from_db()
    assert attachment.content_type == "image/png"
    assert attachment.kind == Attachment.Kind.SCREENSHOT
    assert attachment.size == len(image)
    assert attachment.sha256 == hashlib.sha256(image).hexdigest()
    assert attachment.original_name == "微博 post.png"
    assert (attachment.uploaded_by, attachment.caption) == (people.pr_lead, "Top post on Weibo, 09:12")
    # Stored under MEDIA_ROOT with a random name that owes nothing to the person's.
    (path,) = stored_files(media)
    assert path.read_bytes() == image
    assert "post" not in path.name and "微博" not in path.name
    assert len(path.stem) == 32

    event = incident.events.order_by("-seq").first()
    assert event.kind == Event.Kind.EVIDENCE
    assert event.data["name"] == "微博 post.png"
    assert event.data["size"] == len(image)
    assert event.data["sha256"] == attachment.sha256
    assert event.data["attachment"] == attachment.pk
    assert timeline.describe(event) == (
        f"Evidence attached: “微博 post.png” ({len(image)}\xa0bytes, SHA-256 {attachment.sha256}) — Top post on Weibo, 09:12"
    )
    assert timeline.verify(incident) is None


@pytest.mark.parametrize(
    ("content", "content_type", "kind"),
    [
        (JPEG, "image/jpeg", "screenshot"),
        (GIF, "image/gif", "screenshot"),
        (WEBP, "image/webp", "screenshot"),
        (PDF, "application/pdf", "document"),
        (TEXT, "text/plain; charset=utf-8", "document"),
    ],
)
def test_the_type_comes_from_the_content_not_the_name_or_the_browser(people, incident, content, content_type, kind):
    attachment = evidence.attach(people.commander, incident, upload(content, "file.bin", "application/x-whatever"))
    assert (attachment.content_type, attachment.kind) == (content_type, kind)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            HTML,
            "screenshot.png",
            f"“screenshot.png” is a web page or XML file (HTML, SVG…), which cannot be attached. {ALLOWED}",
        ),
        (
            b"<svg onload='alert(1)'/>",
            "logo.svg",
            f"“logo.svg” is a web page or XML file (HTML, SVG…), which cannot be attached. {ALLOWED}",
        ),
        (b"MZ\x90\x00" + b"\x00" * 100, "report.pdf", f"“report.pdf” is not a file type evidence can hold. {ALLOWED}"),
        (
            b"PK\x03\x04" + b"\x00" * 100,
            "statement.docx",
            f"“statement.docx” is not a file type evidence can hold. {ALLOWED}",
        ),
        (b"", "empty.txt", f"“empty.txt” is empty. {ALLOWED}"),
    ],
)
def test_other_files_are_refused_naming_the_file_and_what_is_allowed(people, incident, media, content, name, message):
    with pytest.raises(Invalid) as refused:
        evidence.attach(people.commander, incident, upload(content, name, "image/png"))
    assert str(refused.value) == message
    assert refused.value.field == "file"
    assert not Attachment.objects.exists()
    assert stored_files(media) == []
    assert not incident.events.filter(kind=Event.Kind.EVIDENCE).exists()


def test_a_file_over_the_limit_is_refused(people, incident, settings, media):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "EVIDENCE_MAX_BYTES": 1000}
    with pytest.raises(Invalid) as refused:
        evidence.attach(people.commander, incident, upload(png() + b"\x00" * 1000, "huge.png"))
    assert str(refused.value) == "“huge.png” is larger than the 1000\xa0bytes allowed for evidence."
    assert stored_files(media) == []
    # At the limit is fine.
    evidence.attach(people.commander, incident, upload(b"x" * 1000, "exactly.txt"))


def test_the_limit_is_10_mb_by_default_and_set_by_the_environment():
    code = "import django; django.setup(); from crisisflow.evidence.actions import max_bytes; print(max_bytes())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crisisflow.settings"}
    env.pop("CRISISFLOW_EVIDENCE_MAX_BYTES", None)
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert default.stdout.strip() == str(10 * 1024 * 1024)
    env["CRISISFLOW_EVIDENCE_MAX_BYTES"] = "2048"
    custom = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert custom.stdout.strip() == "2048"


def test_the_team_but_observers_and_the_commander_may_attach(people, incident):
    for person in (people.commander, people.pr_lead, people.legal):
        evidence.attach(person, incident, upload(png()))
    with pytest.raises(Forbidden, match="Only the commander and the team"):
        evidence.attach(people.observer, incident, upload(png()))
    with pytest.raises(Forbidden):
        evidence.attach(people.outsider, incident, upload(png()))  # may see it (not restricted), not act
    assert Attachment.objects.count() == 3


def test_outsiders_of_a_restricted_incident_are_told_it_does_not_exist(people, plan):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    with pytest.raises(NotFound):
        evidence.attach(people.outsider, secret, upload(png()))


def test_caption_and_name_are_cleaned(people, incident):
    attachment = evidence.attach(
        people.commander, incident, upload(b"notes", "C:\\Users\\me\\notes\x07.txt"), "  seen at 9:00  "
    )
    assert (attachment.original_name, attachment.caption) == ("notes.txt", "seen at 9:00")
    with pytest.raises(Invalid, match="Keep the caption under 500 characters") as refused:
        evidence.attach(people.commander, incident, upload(b"notes", "n.txt"), "x" * 501)
    assert refused.value.field == "caption"
    with pytest.raises(Invalid, match="Choose a file to attach"):
        evidence.attach(people.commander, incident, None)


def test_evidence_cannot_be_changed_or_deleted(people, incident):
    attachment = evidence.attach(people.commander, incident, upload(png()))
    with pytest.raises(EvidenceIsImmutable):
        attachment.delete()
    with pytest.raises(EvidenceIsImmutable):
        Attachment.objects.filter(pk=attachment.pk).delete()
    with pytest.raises(EvidenceIsImmutable):
        Attachment.objects.filter(pk=attachment.pk).update(caption="edited")
    attachment.caption = "edited"
    with pytest.raises(EvidenceIsImmutable):
        attachment.save()
    assert Attachment.objects.get(pk=attachment.pk).caption == ""
