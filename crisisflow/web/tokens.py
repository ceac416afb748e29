"""The API tokens section of /me/: a person makes and revokes their own tokens.

A new token is shown in the answer to the form that made it, and nowhere else: it is
not put in the session or a message (both are stored), and the page is not cached. The
next view of /me/ lists the token by its prefix only.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crisisflow import clock
from crisisflow.api import tokens
from crisisflow.incidents.errors import CrisisFlowError, NotFound
from crisisflow.web.forms import ApiTokenForm, PreferencesForm, show_error


def token_section(user, form: ApiTokenForm | None = None, new_token: str | None = None) -> dict:
    """What preferences.html needs for its API tokens section."""
    return {
        "token_form": form or ApiTokenForm(auto_id="token_%s"),
        "api_tokens": list(tokens.tokens_of(user)),
        "new_token": new_token,
        "now": clock.now(),
    }


@require_POST
@login_required
def create_api_token(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST, auto_id="token_%s")
    new_token = None
    if form.is_valid():
        try:
            _row, new_token = tokens.create_token(request.user, **form.cleaned_data)
        except CrisisFlowError as err:
            show_error(form, err)
        else:
            form = None
    context = {"form": PreferencesForm.for_user(request.user), **token_section(request.user, form, new_token)}
    response = render(request, "web/preferences.html", context, status=200 if new_token else 400)
    add_never_cache_headers(response)
    return response


@require_POST
@login_required
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = tokens.revoke_token(request.user, token_id)
    except NotFound as err:  # someone else's is not admitted to exist
        raise Http404(str(err.message)) from err
    messages.success(request, _("The API token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("preferences")
