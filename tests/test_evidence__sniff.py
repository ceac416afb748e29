"""What a file is, decided from its bytes: never from its name or the browser's claim."""

from __future__ import annotations

import struct
import zlib

import pytest

from crisisflow.evidence import sniff


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30), rows=None) -> bytes:
    """A real PNG image (no imaging library needed). `rows` may give each row's pixels."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    if rows is None:
        rows = [[rgb] * width for _ in range(height)]
    raw = b"".join(b"\x00" + b"".join(bytes(p) for p in row) for row in rows)
    header = struct.pack(">IIBBBBB", len(rows[0]), len(rows), 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = "微博热搜截图的文字记录：用户称支付失败。\nUser says payment failed.\n".encode()
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.parametrize(
    ("content", "content_type", "kind"),
    [
        (png(), "image/png", "screenshot"),
        (JPEG, "image/jpeg", "screenshot"),
        (GIF, "image/gif", "screenshot"),
        (WEBP, "image/webp", "screenshot"),
        (PDF, "application/pdf", "document"),
        (TEXT, "text/plain; charset=utf-8", "document"),
        ("\ufeffwith a byte-order mark".encode(), "text/plain; charset=utf-8", "document"),
        (b"<3 this brand, said nobody", "text/plain; charset=utf-8", "document"),
    ],
)
def test_the_allowed_types_are_known_by_their_bytes(content, content_type, kind):
    found = sniff.examine([content])
    assert (found.file_type.content_type, found.file_type.kind) == (content_type, kind)
    assert found.size == len(content)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (HTML, "markup"),
        (b"  \n<html><body>hi</body></html>", "markup"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "markup"),
        (b'<?xml version="1.0"?><x/>', "markup"),
        (b"\xef\xbb\xbf<!-- a comment -->", "markup"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60, "unknown"),  # a Windows program
        (b"PK\x03\x04" + b"\x00" * 30, "unknown"),  # a zip (or .docx)
        ("UTF-16 text".encode("utf-16"), "unknown"),
        (b"caf\xe9 latin-1", "unknown"),
        (b"text with a NUL\x00 in it", "unknown"),
        ("cut in the middle 中".encode()[:-1], "unknown"),
    ],
)
def test_everything_else_is_refused_with_a_reason(content, problem):
    found = sniff.examine([content])
    assert found.file_type is None
    assert found.problem == problem


def test_the_hash_and_size_cover_the_whole_content():
    import hashlib

    content = png() * 1000
    found = sniff.examine([content[i : i + 4096] for i in range(0, len(content), 4096)])
    assert found.sha256 == hashlib.sha256(content).hexdigest()
    assert found.size == len(content)


def test_chunk_boundaries_do_not_matter():
    text = "中文内容".encode()
    assert sniff.examine([text[:2], text[2:5], text[5:]]).file_type == sniff.TEXT
    image = png()
    assert sniff.examine([image[:3], image[3:7], image[7:]]).file_type == sniff.PNG
