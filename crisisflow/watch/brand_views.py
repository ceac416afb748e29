"""The incident room's brand form: the commander says which brand or product the
incident is about (crisisflow.watch.incident_brands.set_incident_brand)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from crisisflow.incidents.errors import CrisisFlowError
from crisisflow.watch import incident_brands
from crisisflow.web import guards
from crisisflow.web import incident_page as page
from crisisflow.web.forms import VersionedForm


class IncidentBrandForm(VersionedForm):
    brand = forms.ChoiceField(label=_("Brand or product"), required=False)

    def __init__(self, *args, brands=None, **kwargs):
        kwargs.setdefault("auto_id", "brand_%s")
        super().__init__(*args, **kwargs)
        found = incident_brands.brands() if brands is None else brands
        self.fields["brand"].choices = [("", _("none")), *((b.key, b.name) for b in found)]


@require_POST
@login_required
def set_brand(request: HttpRequest, reference: str) -> HttpResponse:
    incident = guards.incident_for(request, reference)
    form = IncidentBrandForm(request.POST)
    if not form.is_valid():
        return page.form_errors(request, reference, form, "brand")
    try:
        incident_brands.set_incident_brand(
            request.user, incident, form.cleaned_data["brand"] or None, expected_version=form.cleaned_data["version"]
        )
    except CrisisFlowError as err:
        return page.refused(request, reference, err, form_key="brand", form=form)
    return guards.back(incident, "brand")
