"""Reading request bodies: JSON objects only, never deeper than MAX_DEPTH.

Python's json module recurses once per level of nesting, so a body of a few thousand
"[" ends in RecursionError (a 500) instead of a refusal. The depth is measured before
parsing, on the bytes, at C speed: strings are cut out first (a "[" inside a string is
text), then the running count of the remaining brackets is taken.

Every refusal names the problem in the API's error shape: 400 for a body that is not
UTF-8, not JSON, too deep, empty, or not an object; 413 for one larger than Django's
DATA_UPLOAD_MAX_MEMORY_SIZE (see crisisflow.api.errors); 415 for another content type.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission

# Every API input is a flat object or holds short lists; 32 leaves room and stays far
# below Python's recursion limit (1000) in the parser, the serializers and the renderer.
MAX_DEPTH = 32

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _open in b"[{":
    _STEP[_open] = 1
for _close in b"]}":
    _STEP[_close] = -1


def nesting_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (0 for a scalar).

    Exact for valid JSON; for broken JSON it may count too many, never too few of the
    levels a parser would reach before failing, so the check stays safe.
    """
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _kind(value) -> str:
    if isinstance(value, list):
        return _("an array")
    if isinstance(value, str):
        return _("a string")
    if value is None:
        return _("null")
    if isinstance(value, bool):
        return _("true or false")
    return _("a number")


def _refuse_constant(name: str):
    raise ValueError(_("%(name)s is not a JSON number") % {"name": name})


class JSONObjectParser(JSONParser):
    """application/json bodies that hold one object, nested at most MAX_DEPTH levels.

    A subclass of DRF's JSONParser so DRF reads the body through request.body, which
    enforces DATA_UPLOAD_MAX_MEMORY_SIZE.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read()
        # JSON is UTF-8 (RFC 8259); a charset parameter saying otherwise is not honoured.
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ParseError(
                _("The request body is not valid UTF-8 (byte 0x%(byte)02x at position %(position)d).")
                % {"byte": body[err.start], "position": err.start}
            ) from None
        if not text.strip():
            raise ParseError(_("The request body is empty; send a JSON object, e.g. {}."))
        # Counting brackets is nearly free; only a body with more of them than the limit
        # allows needs its strings cut out and its depth measured.
        if body.count(b"[") + body.count(b"{") > MAX_DEPTH and nesting_depth(body) > MAX_DEPTH:
            raise ParseError(_("JSON nested too deeply (more than %(max)d levels).") % {"max": MAX_DEPTH})
        try:
            value = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as err:
            raise ParseError(
                _("The request body is not valid JSON: %(problem)s (line %(line)d, column %(column)d).")
                % {"problem": err.msg, "line": err.lineno, "column": err.colno}
            ) from None
        except (ValueError, RecursionError) as err:
            # A number too long to read, NaN or Infinity; RecursionError only if the
            # depth check above were ever wrong — still a refusal, never a 500.
            raise ParseError(_("The request body is not valid JSON: %(problem)s.") % {"problem": err}) from None
        if not isinstance(value, dict):
            raise ParseError(_("The request body must be a JSON object ({…}), not %(kind)s.") % {"kind": _kind(value)})
        return value


class NoEmptyJSONBody(BasePermission):
    """A request that says it sends JSON but sends nothing is refused (400).

    DRF never hands an empty body to a parser (it reads as {}), so the check sits with
    the permissions, the first hook after authentication that sees every request. A
    request without a body and without a content type (POST …/start/) is still fine.
    """

    def has_permission(self, request, view) -> bool:
        if request.method in ("POST", "PUT", "PATCH") and request.content_type:
            declared = request.content_type.split(";")[0].strip().lower()
            if declared == "application/json" and request.META.get("CONTENT_LENGTH") in (None, "", "0"):
                raise ParseError(_("The request body is empty; send a JSON object, e.g. {}."))
        return True
