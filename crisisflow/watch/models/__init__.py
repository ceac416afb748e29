"""Early warning: what is watched (brands and products, sources), the series and posts
that come in, and the rules that turn them into incidents."""

from crisisflow.watch.models.incident_brand import IncidentBrand
from crisisflow.watch.models.posts import Post, Sentiment
from crisisflow.watch.models.rules import Firing, Rule
from crisisflow.watch.models.scope import Brand, Source
from crisisflow.watch.models.series import Baseline, Point, Series

__all__ = ["Baseline", "Brand", "Firing", "IncidentBrand", "Point", "Post", "Rule", "Sentiment", "Series", "Source"]
