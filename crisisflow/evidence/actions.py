"""The evidence use case: attach a file to an incident.

Like every use case (see crisisflow.incidents.actions) it locks the incident, checks
the person may see it (404) and may do this (403), and writes exactly one timeline
event in the same transaction as the change.
"""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow import clock
from crisisflow.evidence import sniff
from crisisflow.evidence.models import Attachment
from crisisflow.incidents import permissions
from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import clean_line
from crisisflow.incidents.models import Event, Incident
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_incident, require_open

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_CAPTION = 500
MAX_NAME = 255
ALLOWED = gettext_lazy("PNG, JPEG, GIF or WebP images, PDF documents, and plain text (UTF-8)")


def max_bytes() -> int:
    """settings.CRISISFLOW["EVIDENCE_MAX_BYTES"] (env CRISISFLOW_EVIDENCE_MAX_BYTES)."""
    return int(getattr(settings, "CRISISFLOW", {}).get("EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def clean_name(name: str | None) -> str:
    """The name the file came with, for people to read: no folders, no control characters."""
    name = os.path.basename(str(name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        name = stem[: MAX_NAME - len(ext[:16])] + ext[:16]
    return name or _("unnamed file")


def _too_big(name: str, limit: int) -> Invalid:
    message = _("“%(name)s” is larger than the %(limit)s allowed for evidence.")
    return Invalid(message % {"name": name, "limit": filesizeformat(limit)}, field="file")


def _refusal(name: str, problem: str) -> Invalid:
    if problem == "empty":
        message = _("“%(name)s” is empty. Allowed: %(allowed)s.")
    elif problem == "markup":
        message = _(
            "“%(name)s” is a web page or XML file (HTML, SVG…), which cannot be attached. Allowed: %(allowed)s."
        )
    else:
        message = _("“%(name)s” is not a file type evidence can hold. Allowed: %(allowed)s.")
    return Invalid(message % {"name": name, "allowed": ALLOWED}, field="file")


@transaction.atomic
def attach(actor, incident: Incident | int, uploaded_file: UploadedFile | None, caption: str = "") -> Attachment:
    """Keep a file as evidence on the incident: checked by its content, stored under a
    random name, with its size and SHA-256 on the timeline."""
    incident = lock_incident(actor, incident)
    permissions.require(
        permissions.may_attach(actor, incident),
        _("Only the commander and the team (not observers) can attach evidence."),
    )
    require_open(incident)
    if uploaded_file is None:
        raise Invalid(_("Choose a file to attach."), field="file")
    name = clean_name(uploaded_file.name)
    caption = clean_line(caption, "caption", max_length=None)
    if len(caption) > MAX_CAPTION:
        raise Invalid(_("Keep the caption under %(n)d characters.") % {"n": MAX_CAPTION}, field="caption")
    limit = max_bytes()
    if uploaded_file.size is not None and uploaded_file.size > limit:
        raise _too_big(name, limit)  # known before reading a byte
    examined = sniff.examine(uploaded_file.chunks())
    if examined.size > limit:
        raise _too_big(name, limit)
    if examined.file_type is None:
        raise _refusal(name, examined.problem)

    now = clock.now()
    attachment = Attachment(
        incident=incident,
        uploaded_by=actor,
        uploaded_at=now,
        original_name=name,
        content_type=examined.file_type.content_type,
        size=examined.size,
        sha256=examined.sha256,
        caption=caption,
        kind=examined.file_type.kind,
    )
    attachment.file.save(secrets.token_hex(16) + examined.file_type.extension, uploaded_file, save=False)
    try:
        attachment.save(force_insert=True)
        record(
            incident,
            actor,
            Event.Kind.EVIDENCE,
            {
                "attachment": attachment.pk,
                "name": name,
                "size": examined.size,
                "sha256": examined.sha256,
                "content_type": attachment.content_type,
                "kind": attachment.kind,
                "caption": caption,
            },
            at=now,
        )
    except BaseException:
        # No row will point at the file: do not leave it behind.
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment
