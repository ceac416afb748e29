from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crisisflow.incidents.inputs import validate_one_line


class NoticeForm(forms.Form):
    title_zh = forms.CharField(
        label=_("Public title (Chinese)"), max_length=200, required=False, validators=[validate_one_line]
    )
    title_en = forms.CharField(
        label=_("Public title (English)"), max_length=200, required=False, validators=[validate_one_line]
    )
    summary_zh = forms.CharField(
        label=_("Share description (Chinese)"), max_length=300, required=False, validators=[validate_one_line]
    )
    summary_en = forms.CharField(
        label=_("Share description (English)"), max_length=300, required=False, validators=[validate_one_line]
    )
    image_url = forms.URLField(
        label=_("Share image (https address)"), max_length=500, required=False, assume_scheme="https"
    )
    slug = forms.CharField(
        label=_("Address (leave empty for an unguessable one)"),
        max_length=64,
        required=False,
        validators=[validate_one_line],
    )
    listed = forms.BooleanField(label=_("List it on the index of public notices"), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31 - 1)
