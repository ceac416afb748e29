"""One shape for every API error: {"detail": …, "field": … or null}, plus "blockers" when
a step is blocked, "task" when one task of a bulk change was refused, and "errors" (DRF's
per-field messages) when the input did not parse. crisisflow.api.schema describes it.

A use case's refusal (CrisisFlowError) keeps its own status and its message, already in
the reader's language; DRF's exceptions keep theirs (400 malformed JSON, 401 not signed
in, 403, 405, 415 not JSON, 429 too many requests with Retry-After …). A body over
Django's DATA_UPLOAD_MAX_MEMORY_SIZE is 413 here, not Django's HTML page. Anything else
is a real bug and stays a 500.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from crisisflow.incidents.errors import Blocked, CrisisFlowError


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


def too_large() -> BodyTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return BodyTooLarge(
        _("The request body is too large: the API reads at most %(size)s bytes.") % {"size": f"{limit:,}"}
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # Raised by request.body (DATA_UPLOAD_MAX_MEMORY_SIZE) while DRF reads the JSON.
        exc = too_large()
    if isinstance(exc, CrisisFlowError):
        # The use cases are atomic and have already rolled back; this covers
        # ATOMIC_REQUESTS should anyone switch it on.
        set_rollback()
        body: dict[str, Any] = {"detail": str(exc.message), "field": exc.field}
        if isinstance(exc, Blocked):
            body["blockers"] = exc.blockers
        task_id = getattr(exc, "task_id", None)
        if task_id is not None:
            body["task"] = task_id  # which task of a bulk change was refused
        return Response(_encodable(body), status=exc.status)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        response.data = {"detail": message, "field": field, "errors": response.data}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("field", None)
        locked_until = getattr(exc, "locked_until", None)  # crisisflow.api.auth.AccountLocked
        if locked_until is not None:
            response.data["locked_until"] = locked_until.isoformat().replace("+00:00", "Z")
    response.data = _encodable(response.data)
    return response


def _first_error(detail: Any, field: str | None = None) -> tuple[str | None, str]:
    """The top-level field and the first message of a (possibly nested) DRF error tree:
    {"regions": {0: ["Not a valid string."]}} names "regions"."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = None if key == "non_field_errors" else str(key)
            return _first_error(value, field if field is not None else name)
    if isinstance(detail, list):
        for value in detail:
            return _first_error(value, field)
    return field, str(detail)


def _encodable(data: Any) -> Any:
    """Messages echo what was sent ("“\\ud800” is not a valid boolean"); a lone surrogate,
    valid in JSON but not in UTF-8, would make the renderer fail with a 500."""
    if isinstance(data, str):
        return data.encode("utf-8", "backslashreplace").decode()
    if isinstance(data, dict):
        return {_encodable(k): _encodable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_encodable(v) for v in data]
    return data


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 404 for an address no route matches (settings.DEBUG off): under /api/ the
    API's own JSON shape, so a client never has to read an HTML page; elsewhere the site's
    404 page."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("No such address in the API."), "field": None}, status=404)
    return page_not_found(request, exception)
