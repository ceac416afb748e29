"""Settings come from the environment, fail loudly when wrong, and pass Django's deploy check."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from crisisflow.envconf import database_from_url, env_bool, env_float, env_int, env_list, env_str

REPO = Path(__file__).resolve().parent.parent


# --- typed readers -------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "YES", " on "])
def test_env_bool_reads_yes(monkeypatch, raw):
    monkeypatch.setenv("CF_TEST_FLAG", raw)
    assert env_bool("CF_TEST_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_env_bool_reads_no(monkeypatch, raw):
    monkeypatch.setenv("CF_TEST_FLAG", raw)
    assert env_bool("CF_TEST_FLAG", True) is False


def test_env_bool_default_when_unset(monkeypatch):
    monkeypatch.delenv("CF_TEST_FLAG", raising=False)
    assert env_bool("CF_TEST_FLAG", True) is True


def test_env_bool_rejects_other_words_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CF_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"CF_TEST_FLAG='maybe'"):
        env_bool("CF_TEST_FLAG", False)


def test_env_int_reads_and_checks_minimum(monkeypatch):
    monkeypatch.setenv("CF_TEST_SECONDS", "42")
    assert env_int("CF_TEST_SECONDS", 0, minimum=0) == 42
    monkeypatch.setenv("CF_TEST_SECONDS", "-1")
    with pytest.raises(ImproperlyConfigured, match=r"CF_TEST_SECONDS=-1 must be at least 0"):
        env_int("CF_TEST_SECONDS", 0, minimum=0)


@pytest.mark.parametrize("raw", ["ten", "1.5", ""])
def test_env_int_rejects_non_whole_numbers_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("CF_TEST_SECONDS", raw)
    with pytest.raises(ImproperlyConfigured, match=r"CF_TEST_SECONDS=.* is not a whole number"):
        env_int("CF_TEST_SECONDS", 0)


def test_env_float_rejects_bad_values_naming_the_variable(monkeypatch):
    monkeypatch.setenv("CF_TEST_RATE", "fast")
    with pytest.raises(ImproperlyConfigured, match=r"CF_TEST_RATE='fast' is not a number"):
        env_float("CF_TEST_RATE", 1.0)
    monkeypatch.setenv("CF_TEST_RATE", "0.5")
    with pytest.raises(ImproperlyConfigured, match=r"CF_TEST_RATE=0.5 must be at least 1"):
        env_float("CF_TEST_RATE", 1.0, minimum=1.0)


def test_env_str_required_names_the_variable(monkeypatch):
    monkeypatch.delenv("CF_TEST_NAME", raising=False)
    with pytest.raises(ImproperlyConfigured, match="CF_TEST_NAME is required"):
        env_str("CF_TEST_NAME")
    assert env_str("CF_TEST_NAME", "fallback") == "fallback"


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("CF_TEST_HOSTS", " a.example.com, ,b.example.com ")
    assert env_list("CF_TEST_HOSTS", []) == ["a.example.com", "b.example.com"]


# --- DATABASE_URL ----------------------------------------------------------------------


def test_database_from_url_postgres():
    db = database_from_url("postgres://crisis:p%40ss@db.internal:5433/crisisflow?sslmode=require", base_dir="/srv")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("crisisflow", "crisis", "p@ss")
    assert (db["HOST"], db["PORT"]) == ("db.internal", "5433")
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_database_from_url_postgresql_scheme_without_port():
    db = database_from_url("postgresql://postgres@127.0.0.1/crisisflow", base_dir="/srv")
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["PORT"]) == ("crisisflow", "postgres", "", "")


def test_database_from_url_postgres_needs_a_database_name():
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        database_from_url("postgres://postgres@127.0.0.1:5432/", base_dir="/srv")


def test_database_from_url_sqlite_relative_is_under_base_dir():
    db = database_from_url("sqlite:///var/crisis.sqlite3", base_dir="/srv/app")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/srv/app/var/crisis.sqlite3"


def test_database_from_url_sqlite_absolute():
    db = database_from_url("sqlite:////data/crisis.sqlite3", base_dir="/srv/app")
    assert db["NAME"] == "/data/crisis.sqlite3"


def test_database_from_url_sqlite_test_database_is_a_file_beside_it():
    # A real worker started by a test must be able to open the test database.
    db = database_from_url("sqlite:////data/crisis.sqlite3", base_dir="/srv/app")
    assert db["TEST"]["NAME"].startswith("/data/test-crisis-")
    assert db["TEST"]["NAME"].endswith(".sqlite3")


def test_database_from_url_sqlite_needs_a_file():
    with pytest.raises(ImproperlyConfigured, match="names no file"):
        database_from_url("sqlite://", base_dir="/srv/app")


@pytest.mark.parametrize("url", ["mysql://root@localhost/crisis", "crisisflow.sqlite3"])
def test_database_from_url_rejects_other_schemes(url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL scheme .* is not supported"):
        database_from_url(url, base_dir="/srv/app")


# --- the settings module in a fresh process ------------------------------------------

# Variables a developer's shell or scripts/test may have set; the checks below start
# from none of them so they test the documented defaults.
_SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "BEHIND_TLS_PROXY",
    "CRISISFLOW_API_RATES",
)


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in _SETTINGS_VARIABLES}
    environ.update(
        DJANGO_SETTINGS_MODULE="crisisflow.settings",
        CRISISFLOW_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("redis", [{}, {"REDIS_URL": "redis://127.0.0.1:6379/0"}], ids=["files", "redis"])
def test_check_deploy_passes_without_warnings(tmp_path, redis):
    secret = secrets.token_urlsafe(60)[:60]
    result = _manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secret,
        ALLOWED_HOSTS="crisis.example.com",
        **redis,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output
    assert "WARNINGS" not in output


@pytest.mark.parametrize(
    ("env", "backend", "where"),
    [
        ({}, "django.core.cache.backends.filebased.FileBasedCache", "var/cache"),
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "django.core.cache.backends.redis.RedisCache", "6379/0"),
    ],
)
def test_the_cache_is_shared_between_processes(tmp_path, env, backend, where):
    # The API's rate limits are counted in it; a per-process memory cache would let
    # every web worker count on its own.
    result = _manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; c = settings.CACHES['default']; print(c['BACKEND'], c['LOCATION'])",
        **env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == backend
    assert result.stdout.split()[1].endswith(where)


def test_a_bad_api_rate_stops_start_up(tmp_path):
    result = _manage(tmp_path, "check", CRISISFLOW_API_RATES="report=often")
    assert result.returncode != 0
    assert "CRISISFLOW_API_RATES: report: 'often' is not a rate" in result.stderr


def test_debug_off_without_secret_key_fails_loudly(tmp_path):
    result = _manage(tmp_path, "check", DEBUG="0", ALLOWED_HOSTS="crisis.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_debug_off_refuses_the_development_secret_key(tmp_path):
    from crisisflow.settings import _DEV_SECRET

    # The development default is public (it is in the source), so it must never serve.
    result = _manage(tmp_path, "check", DEBUG="0", SECRET_KEY=_DEV_SECRET, ALLOWED_HOSTS="crisis.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_bad_boolean_in_the_environment_stops_start_up(tmp_path):
    result = _manage(tmp_path, "check", DEBUG="sometimes")
    assert result.returncode != 0
    assert "DEBUG='sometimes'" in result.stderr


def test_an_unknown_crisisflow_setting_is_refused_by_the_system_check(settings):
    from django.core import checks

    settings.CRISISFLOW = {**settings.CRISISFLOW, "SWEEP_SECONDZ": 1}
    errors = [e for e in checks.run_checks() if e.id == "crisisflow.E001"]
    assert [e.msg for e in errors] == ["settings.CRISISFLOW has an unknown key 'SWEEP_SECONDZ'"]
    settings.CRISISFLOW = {k: v for k, v in settings.CRISISFLOW.items() if k != "SWEEP_SECONDZ"}
    assert not [e for e in checks.run_checks() if e.id == "crisisflow.E001"]
