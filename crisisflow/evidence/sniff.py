"""What a file is, decided from its bytes alone.

The name a file came with and the type the browser claimed are both chosen by whoever
sent it; neither is looked at. A file is one of the types below or it is refused.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from crisisflow.evidence.models import Attachment


@dataclass(frozen=True)
class FileType:
    content_type: str
    kind: str
    extension: str


PNG = FileType("image/png", Attachment.Kind.SCREENSHOT, ".png")
JPEG = FileType("image/jpeg", Attachment.Kind.SCREENSHOT, ".jpg")
GIF = FileType("image/gif", Attachment.Kind.SCREENSHOT, ".gif")
WEBP = FileType("image/webp", Attachment.Kind.SCREENSHOT, ".webp")
PDF = FileType("application/pdf", Attachment.Kind.DOCUMENT, ".pdf")
TEXT = FileType("text/plain; charset=utf-8", Attachment.Kind.DOCUMENT, ".txt")
ALL = (PNG, JPEG, GIF, WEBP, PDF, TEXT)
EXTENSIONS = {t.content_type: t.extension for t in ALL}

HEAD_BYTES = 512

# Text a browser would take for a web page or XML (SVG can carry scripts) if it ever
# sniffed it: markup at the start, after any byte-order mark and white space.
_MARKUP = re.compile(r"<[a-z!?/]", re.IGNORECASE)


def _magic(head: bytes) -> FileType | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return None


def looks_like_markup(head: bytes) -> bool:
    start = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n\f")
    return bool(_MARKUP.match(start))


@dataclass(frozen=True)
class Examined:
    """What was found: a type, or why there is none ("empty", "markup", "unknown")."""

    file_type: FileType | None
    problem: str
    size: int
    sha256: str


def examine(chunks: Iterable[bytes]) -> Examined:
    """Read the whole content once: its size, its SHA-256 and its type."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    decoder = codecs.getincrementaldecoder("utf-8")()
    is_text = True
    binary: FileType | None = None
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
            if binary is None and len(head) >= 12:
                binary = _magic(head)
        if is_text and binary is None:
            if b"\x00" in chunk:
                is_text = False
            else:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    is_text = False
    binary = binary or _magic(head)
    if is_text and binary is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:  # ends in the middle of a character
            is_text = False
    sha256 = digest.hexdigest()
    if binary is not None:
        return Examined(binary, "", size, sha256)
    if size == 0:
        return Examined(None, "empty", size, sha256)
    if is_text:
        if looks_like_markup(head):
            return Examined(None, "markup", size, sha256)
        return Examined(TEXT, "", size, sha256)
    return Examined(None, "unknown", size, sha256)
