"""The API's description of itself (OpenAPI 3, drf-spectacular), served at /api/schema/.

Each view states what it reads and answers with `extend_schema`; this module adds what
is the same everywhere, so no operation can forget it: the error answers that
crisisflow.api.errors writes, as components, attached by status to every operation that
can give them, and the bounds of the ids in paths.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from crisisflow.api.serializers import MAX_BIGINT

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


# --- the error bodies -------------------------------------------------------------------------------


class Error(serializers.Serializer):
    """Every refusal: the message in the reader's language and the input field it is about."""

    detail = serializers.CharField(help_text="What is wrong, in the reader's language.")
    field = serializers.CharField(allow_null=True, help_text="The input field refused, or null.")


class InvalidInput(Error):
    errors = serializers.JSONField(
        required=False, help_text="When the input did not parse: DRF's messages per field (as sent)."
    )


class Conflict(Error):
    blockers = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="When a step is blocked: what still stands in its way, in words.",
    )


class TaskRefusal(Error):
    """A bulk change refused because of one of its tasks."""

    task = serializers.IntegerField(required=False, help_text="The id of the task that was refused.")


class TaskInvalid(InvalidInput, TaskRefusal):
    pass


class TaskConflict(Conflict, TaskRefusal):
    pass


def error_responses(
    method: str, *, has_body: bool, has_path_parameters: bool, has_query_parameters: bool, throttled: bool = False
) -> dict:
    """The errors an operation can answer with, by status: every call may meet 401/403;
    whatever reads input may refuse it (400); whatever names an object in its path may
    not find it (404); a change based on a version or a step may conflict (409)."""
    responses = {
        "401": OpenApiResponse(Error, description="Not signed in (no or wrong credentials)."),
        "403": OpenApiResponse(Error, description="Signed in, but not allowed to do this (or no CSRF token)."),
    }
    if has_body or has_query_parameters:
        responses["400"] = OpenApiResponse(
            InvalidInput, description="Bad input; `field` names the field, `errors` has DRF's messages."
        )
    if has_path_parameters:
        responses["404"] = OpenApiResponse(
            Error, description="No such thing, or it belongs to a restricted incident the reader may not see."
        )
    if throttled:
        responses["429"] = OpenApiResponse(Error, description="Too many requests; `Retry-After` says when to retry.")
    if method in UNSAFE and (has_body or method == "DELETE"):
        responses["409"] = OpenApiResponse(
            Conflict,
            description="Someone else changed it since `expected_version` (reload and retry), "
            "or the step is blocked (`blockers` says by what).",
        )
    return responses


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            if parameter.get("in") != "path":
                continue
            schema = parameter.get("schema", {})
            if schema.get("type") == "integer":
                # <int:…> matches digits only; ids are big integers.
                schema.setdefault("minimum", 0)
                schema.setdefault("maximum", MAX_BIGINT)
            elif parameter["name"] == "reference":
                schema.setdefault("pattern", "^[^/]+$")
                parameter.setdefault("description", "The incident's reference, e.g. CF-2026-0001.")
        responses = operation["responses"]
        errors = error_responses(
            self.method,
            has_body="requestBody" in operation,
            has_path_parameters=any(p.get("in") == "path" for p in parameters),
            has_query_parameters=any(p.get("in") == "query" for p in parameters),
            # Whatever throttling the view has (settings.REST_FRAMEWORK) can answer 429.
            throttled=bool(getattr(self.view, "throttle_classes", ())),
        )
        for status, response in errors.items():
            if status not in responses:
                responses[status] = self._get_response_for_code(response, status)
        operation["responses"] = dict(sorted(responses.items()))
        return operation


# --- how to authenticate, described (the classes are our own subclasses of DRF's) ---------


class PasswordAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "crisisflow.api.auth.PasswordAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "User name and password (about a second of hashing per request: prefer a token).",
        }


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crisisflow.api.auth.BearerTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from /me/ (`Authorization: Bearer cf_…`); read tokens may only GET.",
        }
