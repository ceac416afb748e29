"""What reviewers write: the effect evaluation, the narrative, the five whys.

The four dimensions are the seeds' (summarise and evaluate): response speed, team
performance, media and social sentiment, impact on brand image and sales."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crisisflow.incidents.errors import Invalid
from crisisflow.incidents.inputs import MAX_TEXT, clean_text

DIMENSIONS = {
    "speed": gettext_lazy("Response speed"),
    "team": gettext_lazy("Team performance (collaboration, decision efficiency)"),
    "sentiment": gettext_lazy("Media and social sentiment"),
    "brand": gettext_lazy("Impact on brand image and sales"),
}
NARRATIVE = {
    "went_well": gettext_lazy("What went well"),
    "went_badly": gettext_lazy("What went badly"),
    "lucky": gettext_lazy("Where we were lucky"),
    "root_cause": gettext_lazy("Root cause"),
}
ORIGINS = {"internal": gettext_lazy("Internal"), "external": gettext_lazy("External")}
RATINGS = {
    1: gettext_lazy("1 — poor"),
    2: gettext_lazy("2 — weak"),
    3: gettext_lazy("3 — adequate"),
    4: gettext_lazy("4 — good"),
    5: gettext_lazy("5 — excellent"),
}
WHYS = 5


def empty() -> dict:
    return {
        "ratings": {key: {"rating": None, "evidence": "", "comment": ""} for key in DIMENSIONS},
        **{key: "" for key in NARRATIVE},
        "root_cause_origin": "",
        "five_whys": [""] * WHYS,
    }


def _text(value, field: str) -> str:
    text = clean_text(value, field)
    if len(text) > MAX_TEXT:
        raise Invalid(_("Keep this under %(n)d characters.") % {"n": MAX_TEXT}, field=field)
    return text


def clean(raw: dict) -> dict:
    """The content in its one stored shape, or Invalid naming the field (as the form
    names it: `speed_rating`, `went_well`, `why_3`…)."""
    if not isinstance(raw, dict):
        raise Invalid(_("Give the review as an object."), field="content")
    content = empty()
    ratings = raw.get("ratings") or {}
    if not isinstance(ratings, dict):
        raise Invalid(_("Give the ratings as an object."), field="ratings")
    for key in DIMENSIONS:
        given = ratings.get(key) or {}
        if not isinstance(given, dict):
            raise Invalid(_("Give this rating as an object."), field=f"{key}_rating")
        rating = given.get("rating")
        if rating in ("", None):
            rating = None
        else:
            try:
                rating = int(rating)
            except (TypeError, ValueError):
                rating = 0
            if isinstance(given.get("rating"), bool) or rating not in RATINGS:
                raise Invalid(_("Rate from 1 to 5."), field=f"{key}_rating")
        content["ratings"][key] = {
            "rating": rating,
            "evidence": _text(given.get("evidence"), f"{key}_evidence"),
            "comment": _text(given.get("comment"), f"{key}_comment"),
        }
    for key in NARRATIVE:
        content[key] = _text(raw.get(key), key)
    origin = raw.get("root_cause_origin") or ""
    if origin not in ("", *ORIGINS):
        raise Invalid(_("Choose internal or external."), field="root_cause_origin")
    content["root_cause_origin"] = origin
    whys = raw.get("five_whys") or []
    if not isinstance(whys, list) or len(whys) > WHYS:
        raise Invalid(_("Give at most five answers."), field="five_whys")
    for i, why in enumerate(whys):
        content["five_whys"][i] = _text(why, f"why_{i + 1}")
    return content


def texts(content: dict) -> list[tuple[str, str]]:
    """(field, text) for every piece of prose, for the blameless hints."""
    out = [(key, content.get(key) or "") for key in NARRATIVE]
    for key in DIMENSIONS:
        rating = (content.get("ratings") or {}).get(key) or {}
        out.append((f"{key}_evidence", rating.get("evidence") or ""))
        out.append((f"{key}_comment", rating.get("comment") or ""))
    out += [(f"why_{i + 1}", why) for i, why in enumerate(content.get("five_whys") or [])]
    return [(f, t) for f, t in out if t]
