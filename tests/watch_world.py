"""A small early-warning world for the watch tests: a brand, its series, a source."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime, timedelta

from crisisflow.watch import ingest
from crisisflow.watch.api import signature
from crisisflow.watch.models import Brand, Rule, Series, Source

SECRET = "s3cret-of-the-opinion-provider"
# Each request of a test gets a timestamp of its own (a retry is signed afresh).
_ages = itertools.count()


def brand(key: str = "acme", name: str = "Acme Pay") -> Brand:
    return Brand.objects.get_or_create(key=key, defaults={"name": name})[0]


def series(key: str = "acme-complaints", kind: str = "complaints_per_hour", **extra) -> Series:
    extra.setdefault("brand", brand())
    extra.setdefault("scope", "brand" if extra["brand"] else "organisation")
    return Series.objects.create(key=key, kind=kind, name=extra.pop("name", key), **extra)


def source(key: str = "radar", secret: str = SECRET) -> Source:
    return Source.objects.get_or_create(key=key, defaults={"name": "Opinion radar", "secret": secret})[0]


def rule(kind: str, params: dict, *, on: Series | None = None, **extra) -> Rule:
    fields = dict(
        name=extra.pop("name", f"{kind} rule"),
        brand=extra.pop("brand", None) or brand(),
        kind=kind,
        series=on,
        params=params,
        severity=extra.pop("severity", "high"),
        crisis_type=extra.pop("crisis_type", "service_quality"),
    )
    fields.update(extra)
    return Rule.objects.create(**fields)


def hourly(one: Series, start: datetime, values: list[float]) -> ingest.Received:
    return ingest.receive(points=[(one.pk, start + timedelta(hours=i), v) for i, v in enumerate(values)])


def signed(client, body: dict | bytes, *, key: str = "radar", secret: str = SECRET, stamp: int | None = None):
    """POST a batch the way a provider signs it."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time()) - 7 * next(_ages) % 280 if stamp is None else stamp)
    return client.post(
        "/api/watch/batches/",
        raw,
        content_type="application/json",
        HTTP_X_CRISISFLOW_SOURCE=key,
        HTTP_X_CRISISFLOW_TIMESTAMP=stamp,
        HTTP_X_CRISISFLOW_SIGNATURE=signature(secret, stamp, raw),
    )
