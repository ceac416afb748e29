"""The signed batch API: how a monitoring or public-opinion provider pushes points and
posts in.

    POST /api/watch/batches/
    X-CrisisFlow-Source: <source key>
    X-CrisisFlow-Timestamp: <Unix seconds>
    X-CrisisFlow-Signature: sha256=<hex HMAC-SHA256(source secret, "<timestamp>." + body)>
    {"points": [{"series": "acme-complaints", "at": "2026-03-02T09:00:00+08:00", "value": 42}],
     "posts": [{"url": "https://weibo.com/…", "brand": "acme", "platform": "weibo", "author": "…",
                "reach": 120000, "flag": "kol", "text": "…", "at": "…"}]}

The timestamp must be within REPLAY_WINDOW of the server's clock, and a signature is
accepted once: a captured request replayed later is refused. Each source may send
API_RATES["watch_batches"] batches (default 120 a minute); past it the answer is 429
with Retry-After. A batch is idempotent
anyway (per series and moment, per post URL), so a provider may safely retry one that
timed out — with a fresh timestamp and signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow import clock
from crisisflow.api.schema import Error, InvalidInput
from crisisflow.api.throttles import PerSource
from crisisflow.incidents.errors import Invalid
from crisisflow.watch import ingest
from crisisflow.watch.kinds import PLATFORMS
from crisisflow.watch.models import Post, Source

REPLAY_WINDOW = timedelta(minutes=5)
SOURCE_HEADER = "X-CrisisFlow-Source"
TIMESTAMP_HEADER = "X-CrisisFlow-Timestamp"
SIGNATURE_HEADER = "X-CrisisFlow-Signature"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a source puts in X-CrisisFlow-Signature."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


class Unsigned(exceptions.AuthenticationFailed):
    pass


class SignedBatch(BaseAuthentication):
    """The request is signed by an active source with its own secret, recently, once."""

    def authenticate_header(self, request) -> str:
        return "CrisisFlow-HMAC-SHA256"

    def authenticate(self, request):
        key = request.headers.get(SOURCE_HEADER, "")
        stamp = request.headers.get(TIMESTAMP_HEADER, "")
        signed = request.headers.get(SIGNATURE_HEADER, "")
        if not key or not stamp or not signed:
            raise Unsigned(_("Sign the batch: %(headers)s.") % {"headers": ", ".join(HEADERS)})
        source = Source.objects.filter(key=key[:60], active=True).first()
        if source is None:
            raise Unsigned(_("Unknown or inactive source."))
        try:
            sent_at = int(stamp)
            age = abs(clock.now().timestamp() - sent_at)
        except (ValueError, OverflowError):
            raise Unsigned(_("The timestamp must be Unix seconds.")) from None
        if age > REPLAY_WINDOW.total_seconds():
            raise Unsigned(_("The timestamp is more than 5 minutes away from the server's clock."))
        expected = signature(source.secret, stamp, request.body)
        if not hmac.compare_digest(expected.encode(), signed.encode("utf-8", "replace")):
            raise Unsigned(_("The signature does not match the body."))
        # Once only: the same signed request again within the window is a replay.
        if not cache.add(f"watch-signature:{source.pk}:{signed}", 1, timeout=int(REPLAY_WINDOW.total_seconds()) * 2):
            raise Unsigned(_("This signed request was already received (a replay)."))
        return AnonymousUser(), source


class FromSource(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, Source)


class SignedBatchScheme(OpenApiAuthenticationExtension):
    target_class = "crisisflow.watch.api.SignedBatch"
    name = "signedBatch"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": (
                f"`sha256=` + hex HMAC-SHA256 of `<{TIMESTAMP_HEADER}>.` + the raw body, keyed with the "
                f"source's secret; with `{SOURCE_HEADER}` (the source's key) and `{TIMESTAMP_HEADER}` "
                "(Unix seconds, within 5 minutes). Each signed request is accepted once."
            ),
        }


HEADERS = (SOURCE_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)


# --- what the schema says ---------------------------------------------------------------------


class PointIn(serializers.Serializer):
    series = serializers.CharField(help_text="The series' key.")
    at = serializers.DateTimeField(help_text="The moment, with its time zone.")
    value = serializers.FloatField()


class PostIn(serializers.Serializer):
    url = serializers.URLField(max_length=500, help_text="Unique: a post sent again replaces the earlier copy.")
    brand = serializers.CharField(required=False, help_text="The key of the brand or product it is about.")
    platform = serializers.ChoiceField(choices=list(PLATFORMS))
    author = serializers.CharField(required=False, max_length=120)
    reach = serializers.IntegerField(required=False, min_value=0, help_text="The author's followers.")
    flag = serializers.ChoiceField(choices=[v for v in Post.Flag.values if v], required=False)
    text = serializers.CharField(required=False)
    at = serializers.DateTimeField(help_text="When it was posted, with its time zone.")
    language = serializers.ChoiceField(choices=["zh", "en"], required=False)


class BatchIn(serializers.Serializer):
    points = PointIn(many=True, required=False)
    posts = PostIn(many=True, required=False)


class Counts(serializers.Serializer):
    received = serializers.IntegerField()
    new = serializers.IntegerField()


class BatchOut(serializers.Serializer):
    points = Counts()
    posts = Counts()


class BatchProblem(serializers.Serializer):
    index = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class BatchRefused(InvalidInput):
    problems = BatchProblem(many=True, required=False, help_text="Every bad item, not only the first.")


@extend_schema(
    operation_id="watch_batch_create",
    summary="Push a signed batch of points and posts",
    request=BatchIn,
    parameters=[
        OpenApiParameter(SOURCE_HEADER, str, OpenApiParameter.HEADER, required=True),
        OpenApiParameter(TIMESTAMP_HEADER, int, OpenApiParameter.HEADER, required=True),
    ],
    responses={
        200: OpenApiResponse(BatchOut, description="Stored (what was new, what was already there)."),
        400: OpenApiResponse(BatchRefused, description="Bad items; nothing of the batch was stored."),
        401: OpenApiResponse(Error, description="Unsigned, wrongly signed, too old, or a replay."),
        403: OpenApiResponse(Error, description="Not a signed source."),
        409: OpenApiResponse(Error, description="Not used: batches never conflict (listed for completeness)."),
        429: OpenApiResponse(
            Error, description="Too many batches from this source; `Retry-After` says when to send it again."
        ),
    },
)
@api_view(["POST"])
@authentication_classes([SignedBatch])
@permission_classes([FromSource])
@throttle_classes([PerSource])
def batches(request: Request) -> Response:
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(_("The body must be JSON."), field=None) from None
    if not isinstance(data, dict):
        raise Invalid(_("The body must be a JSON object."), field=None)
    unknown = set(data) - {"points", "posts"}
    if unknown:
        name = sorted(unknown)[0][:40]
        raise Invalid(_("Unknown field “%(name)s”.") % {"name": name}, field=name)
    items = {}
    for name in ("points", "posts"):
        value = data.get(name, [])
        if not isinstance(value, list):
            raise Invalid(_("Give a list."), field=name)
        items[name] = value
    try:
        points = ingest.check_points(items["points"])
        posts = ingest.check_posts(items["posts"])
    except ingest.BatchInvalid as refusal:
        return Response(
            {
                "detail": str(refusal.message),
                "field": refusal.field,
                "problems": [
                    {"index": p.index, "field": p.field, "message": p.message} for p in refusal.problems[:1000]
                ],
            },
            status=400,
        )
    result = ingest.receive(points=points, posts=posts)
    Source.objects.filter(pk=request.auth.pk).update(last_batch_at=clock.now())
    return Response(
        {
            "points": {"received": len(points), "new": result.new_points},
            "posts": {"received": result.posts, "new": result.new_posts},
        }
    )
