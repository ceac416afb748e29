"""Serving evidence files, to those who may see their incident and to nobody else.

There is no public URL for the files (nothing serves MEDIA_ROOT). Each request finds
the incident the person may see (404 otherwise, as for the incident page), then the
attachment on that incident, and answers with the type decided when the file was
received, never one guessed from its name or content.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from crisisflow.evidence.models import Attachment
from crisisflow.evidence.sniff import EXTENSIONS
from crisisflow.incidents import permissions

log = logging.getLogger(__name__)

# Whatever the file holds, the browser runs nothing from it and loads nothing for it.
CSP = "sandbox; default-src 'none'"


def download_name(attachment: Attachment) -> str:
    """The file's own name, with the extension of the type it is served as (a text file
    sent as "post.png" downloads as "post.png.txt", so nothing opens it as an image)."""
    name = attachment.original_name
    extension = EXTENSIONS.get(attachment.content_type, "")
    if extension and not name.lower().endswith(extension):
        if not (extension == ".jpg" and name.lower().endswith(".jpeg")):
            name += extension
    return name


def _ascii(text: str) -> str:
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"_+", "_", "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in flat))


def ascii_name(name: str, fallback: str) -> str:
    """A filename any browser and file system takes: ASCII letters, digits, . _ -."""
    stem, ext = os.path.splitext(name)
    stem = _ascii(stem).strip("._")[:120] or fallback
    return stem + _ascii(ext)[:16]


def content_disposition(attachment: Attachment) -> str:
    disposition = "inline" if attachment.is_image else "attachment"
    name = download_name(attachment)
    plain = ascii_name(name, f"evidence-{attachment.pk}")
    return f"{disposition}; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@require_safe
@login_required
def serve(request: HttpRequest, reference: str, attachment_id: int) -> HttpResponse:
    attachment = (
        Attachment.objects.select_related("incident").filter(pk=attachment_id, incident__reference=reference).first()
    )
    if attachment is None or not permissions.can_view(request.user, attachment.incident):
        raise Http404(_("No such evidence file."))
    return file_response(request, attachment)


def file_response(request: HttpRequest, attachment: Attachment) -> HttpResponse:
    """The file of an attachment the person may see (the caller checked), with the headers
    that keep a browser from running or sniffing it. The page and the API both serve
    evidence through here. A file missing from storage is a 404 (and logged)."""
    etag = f'"{attachment.sha256}"'  # the content never changes
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        try:
            handle = attachment.file.open("rb")
        except FileNotFoundError:
            log.error(
                "evidence file %s of %s is missing from storage", attachment.file.name, attachment.incident.reference
            )
            raise Http404(_("No such evidence file.")) from None
        response = FileResponse(handle, content_type=attachment.content_type)
        response["Content-Disposition"] = content_disposition(attachment)
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-cache"
    return response
