"""The public pages: subscribe (to one notice or all), confirm, type in the SMS code,
unsubscribe. No sign-in; rate limits per network address and per target."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crisisflow.api.throttles import client_address
from crisisflow.incidents.errors import CrisisFlowError
from crisisflow.subscribers import sms, subscriptions, wording
from crisisflow.subscribers.models import Subscriber


def _kinds():
    kinds = list(Subscriber.Kind.choices)
    if not sms.available():
        kinds = [k for k in kinds if k[0] != Subscriber.Kind.SMS]
    return kinds


@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest, reference: str | None = None) -> HttpResponse:
    incident = None
    status = 200
    language = translation.get_language()
    form = {"kind": Subscriber.Kind.EMAIL, "address": "", "language": subscriptions.clean_language(language)}
    error = field = None
    try:
        _scope, incident = subscriptions.find_scope(reference)
    except CrisisFlowError as err:
        return _message(request, _("No such notice"), str(err.message), status=404)
    if request.method == "POST":
        form = {
            "kind": request.POST.get("kind", ""),
            "address": request.POST.get("address", ""),
            "language": request.POST.get("language") or form["language"],
        }
        try:
            requested = subscriptions.subscribe(
                form["kind"],
                form["address"],
                incident=reference,
                language=form["language"],
                consent=request.POST.get("consent") == "yes",
                network_address=client_address(request),
                secret=request.POST.get("secret", ""),
            )
        except CrisisFlowError as err:
            error, field, status = str(err.message), err.field, err.status
        else:
            if requested.code_token:
                return redirect("subscribe-code", requested.code_token)
            if requested.confirmed:
                return _message(
                    request, _("Subscribed"), _("The webhook answered the challenge: it gets every update from now on.")
                )
            return _message(
                request,
                _("Check your inbox"),
                _(
                    "If the address can take updates, a message with a confirmation link is on its way. "
                    "Nothing else is sent until you open it."
                ),
            )
    context = {
        "incident": incident,
        "kinds": _kinds(),
        "language_choices": settings.LANGUAGES,
        "form": form,
        "error": error,
        "field": field,
        # What was refused, said on top of the form (the field is marked in it).
        "refusal": error,
        "consent_text": wording.consent_text(language),
    }
    return render(request, "subscribers/subscribe.html", context, status=status)


def _message(request, heading, text, *, status=200, **extra) -> HttpResponse:
    context = {"heading": heading, "text": text, **extra}
    if status >= 400:
        context["refusal"] = extra.get("error") or text
    return render(request, "subscribers/message.html", context, status=status)


@require_http_methods(["GET"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriptions.confirm_email(token, network_address=client_address(request))
    except CrisisFlowError as err:
        return _message(request, _("Not confirmed"), str(err.message), status=err.status)
    return _message(request, _("Subscribed"), _("Thank you: you will get every new public statement on this notice."))


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        try:
            subscriptions.confirm_sms(token, request.POST.get("code", ""), network_address=client_address(request))
        except CrisisFlowError as err:
            return _message(request, _("Confirm by SMS"), "", error=str(err.message), code_form=True, status=err.status)
        return _message(
            request, _("Subscribed"), _("Thank you: you will get every new public statement on this notice.")
        )
    return _message(request, _("Confirm by SMS"), _("Type in the code we sent to your phone."), code_form=True)


# A mail provider's one-click unsubscribe (RFC 8058) POSTs without a CSRF token; the
# signed token in the address is what authorises it.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "GET":
        # A GET never unsubscribes: mail scanners open links.
        try:
            subscriptions.tokens.read_unsubscribe(token)
        except CrisisFlowError as err:
            return _message(request, _("Unsubscribe"), str(err.message), status=err.status)
        return _message(request, _("Unsubscribe"), _("Stop all updates to this subscription?"), unsubscribe_form=True)
    try:
        subscriptions.unsubscribe(token, network_address=client_address(request))
    except CrisisFlowError as err:
        return _message(request, _("Unsubscribe"), str(err.message), status=err.status)
    return _message(request, _("Unsubscribed"), _("You will get no more updates from this subscription."))
