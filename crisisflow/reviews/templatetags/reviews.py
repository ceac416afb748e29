from django import template

from crisisflow.reviews.metrics import duration_text

register = template.Library()


@register.filter
def duration(value) -> str:
    return duration_text(value)


@register.filter
def get(mapping, key):
    if not mapping:
        return ""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
