"""The public API of subscriptions (no sign-in): subscribe, confirm (e-mail link token
or SMS code), unsubscribe. The same use cases as the web pages, the same rate limits;
refusals in the shape of crisisflow/api/errors.py."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from crisisflow.api.guards import parsed
from crisisflow.api.schema import Error
from crisisflow.api.serializers import Text
from crisisflow.api.throttles import client_address
from crisisflow.subscribers import subscriptions
from crisisflow.subscribers.models import Subscriber


class SubscribeInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Subscriber.Kind.values, help_text="email, webhook or sms")
    address = Text(help_text="The e-mail address, the webhook's https URL, or the mobile number.")
    incident = Text(
        required=False, allow_blank=True, default="", help_text="The notice's incident reference; empty: all notices."
    )
    language = serializers.ChoiceField(
        choices=["en", "zh-hans"], required=False, help_text="The language of the messages (default: the site's)."
    )
    consent = serializers.BooleanField(
        help_text="True: the subscriber agrees to the consent wording (GET /subscribe/ shows it)."
    )
    secret = Text(
        required=False, allow_blank=True, default="", help_text="Webhooks: the signing secret (at least 16 characters)."
    )


class SubscribeOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=["pending", "confirmed"],
        help_text="pending: a confirmation link (e-mail) or code (SMS) is on its way; "
        "confirmed: the webhook answered the challenge.",
    )
    code_token = serializers.CharField(help_text="SMS: pass it with the code to confirm-sms; otherwise empty.")


class TokenInput(serializers.Serializer):
    token = Text(help_text="The token from the link in the message.")


class CodeInput(TokenInput):
    code = Text(help_text="The code from the SMS.")


class StateOutput(serializers.Serializer):
    state = serializers.ChoiceField(choices=Subscriber.State.values)


TOO_MANY = OpenApiResponse(Error, description="Too many subscription requests from this address or for this target.")


def public(view):
    view = throttle_classes([])(view)  # limited per address and per target by the use case
    view = permission_classes([AllowAny])(view)
    return authentication_classes([])(view)


@extend_schema(
    tags=["subscribers"],
    summary="Subscribe to one public notice or all (double opt-in; webhooks are challenged at once)",
    request=SubscribeInput,
    responses={202: SubscribeOutput, 429: TOO_MANY},
    auth=[],
)
@api_view(["POST"])
@public
def subscribe(request: Request) -> Response:
    data = parsed(SubscribeInput, request.data)
    requested = subscriptions.subscribe(
        data["kind"],
        data["address"],
        incident=data["incident"] or None,
        language=data.get("language"),
        consent=data["consent"],
        network_address=client_address(request),
        secret=data["secret"],
    )
    # The same answer for an address already subscribed: nobody learns who follows what.
    state = "confirmed" if requested.confirmed else "pending"
    return Response({"state": state, "code_token": requested.code_token}, status=202)


@extend_schema(
    tags=["subscribers"], summary="Confirm an e-mail subscription", request=TokenInput, responses=StateOutput, auth=[]
)
@api_view(["POST"])
@public
def confirm(request: Request) -> Response:
    data = parsed(TokenInput, request.data)
    subscriber = subscriptions.confirm_email(data["token"], network_address=client_address(request))
    return Response({"state": subscriber.state})


@extend_schema(
    tags=["subscribers"],
    summary="Confirm an SMS subscription with the code sent",
    request=CodeInput,
    responses={200: StateOutput, 429: TOO_MANY},
    auth=[],
)
@api_view(["POST"])
@public
def confirm_sms(request: Request) -> Response:
    data = parsed(CodeInput, request.data)
    subscriber = subscriptions.confirm_sms(data["token"], data["code"], network_address=client_address(request))
    return Response({"state": subscriber.state})


@extend_schema(
    tags=["subscribers"],
    summary="Unsubscribe (the token of the unsubscribe link)",
    request=TokenInput,
    responses=StateOutput,
    auth=[],
)
@api_view(["POST"])
@public
def unsubscribe(request: Request) -> Response:
    data = parsed(TokenInput, request.data)
    subscriber = subscriptions.unsubscribe(data["token"], network_address=client_address(request))
    return Response({"state": subscriber.state if subscriber else Subscriber.State.UNSUBSCRIBED})


urlpatterns = [
    path("subscriptions/", subscribe, name="subscriptions"),
    path("subscriptions/confirm/", confirm, name="subscriptions-confirm"),
    path("subscriptions/confirm-sms/", confirm_sms, name="subscriptions-confirm-sms"),
    path("subscriptions/unsubscribe/", unsubscribe, name="subscriptions-unsubscribe"),
]
