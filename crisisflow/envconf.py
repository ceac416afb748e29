"""Typed readers for settings that come from the environment.

Each reader fails loudly, naming the variable and what was wrong with it, so a bad
deployment stops at start-up instead of misbehaving during a crisis.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a yes/no value (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# "120/hour", "20/10min", "5/s": a number of requests per period (optionally several units).
RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$", re.IGNORECASE)
RATE_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def parse_rate(text: str) -> tuple[int, int]:
    """(requests, seconds) of a rate such as "120/hour" or "20/10min"; ValueError otherwise."""
    match = RATE.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a rate like 120/hour or 20/10min")
    count, units, unit = match.groups()
    seconds = int(units or 1) * RATE_UNITS[unit.lower()]
    if seconds == 0:
        raise ValueError(f"{text!r} has an empty period")
    return int(count), seconds


def env_rates(name: str) -> dict[str, str]:
    """name=rate pairs separated by commas ("report=60/hour,list=600/hour")."""
    raw = os.environ.get(name)
    if raw is None:
        return {}
    rates = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, rate = item.partition("=")
        if not sep or not key.strip():
            raise ImproperlyConfigured(f"{name}: {item.strip()!r} is not name=rate (e.g. report=60/hour)")
        try:
            parse_rate(rate)
        except ValueError as err:
            raise ImproperlyConfigured(f"{name}: {key.strip()}: {err}") from None
        rates[key.strip()] = rate.strip()
    return rates


def database_from_url(url: str, *, base_dir: str) -> dict:
    """Turn DATABASE_URL into a Django DATABASES entry.

    Accepts postgres://user:password@host:port/name (also postgresql://) and
    sqlite:///relative/path, sqlite:////absolute/path.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured(f"DATABASE_URL={url!r} names no database (…/DBNAME)")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    if scheme == "sqlite":
        path = url[len("sqlite://") :]
        if path.startswith("/") and not path.startswith("//"):
            path = path[1:]  # sqlite:///relative.db
        elif path.startswith("//"):
            path = path[1:]  # sqlite:////absolute.db
        if not path:
            raise ImproperlyConfigured(f"DATABASE_URL={url!r} names no file")
        if not os.path.isabs(path):
            path = os.path.join(base_dir, path)
        # Tests get a file beside the real one rather than Django's in-memory default, so
        # a real worker process started by a test can open the same database. The pid
        # keeps two test runs in one checkout from deleting each other's file.
        folder, filename = os.path.split(path)
        test_path = os.path.join(folder, f"test-{os.path.splitext(filename)[0]}-{os.getpid()}.sqlite3")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            # IMMEDIATE: a transaction takes the write lock when it starts, so two writers
            # queue on the timeout instead of one failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            "TEST": {"NAME": test_path},
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {scheme!r} is not supported (use postgres://… or sqlite:///…)")
