"""Django settings for CrisisFlow.

Everything comes from the environment through the typed readers in envconf; the
defaults run on a laptop with nothing installed (SQLite, and a SQLite-file Celery broker).
See README.md, "Configuration", for every variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from crisisflow.broker import url_for_file
from crisisflow.envconf import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_rates,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CRISISFLOW_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)

_DEV_SECRET = "dev-only-not-secret-crisisflow-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else None)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set to a private value when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # login rate limiting (see Security below)
    "rest_framework",
    "drf_spectacular",  # the API's OpenAPI schema (/api/schema/)
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: no CDN
    "django_fsm",
    "django_htmx",
    "crisisflow.people",
    "crisisflow.playbooks",
    "crisisflow.incidents",
    "crisisflow.alerts",
    "crisisflow.evidence",
    "crisisflow.reviews",
    "crisisflow.watch",
    "crisisflow.statements",
    "crisisflow.subscribers",
    "crisisflow.commitments",
    "crisisflow.notices",
    "crisisflow.web",
    "crisisflow.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crisisflow.people.middleware.UserLanguageAndTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Public notices are answered before sessions, users and CSRF (they need none of them).
MIDDLEWARE.insert(1, "crisisflow.notices.middleware.PublicNoticeMiddleware")

if not DEBUG:
    # Static files from the app server itself in production (after collectstatic);
    # in development runserver serves them.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "crisisflow.urls"
WSGI_APPLICATION = "crisisflow.wsgi.application"
AUTH_USER_MODEL = "people.User"
# Axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crisisflow.web.context_processors.unread_notifications",
                "crisisflow.web.context_processors.worker_down",
                "crisisflow.reviews.context_processors.analytics_link",
            ],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'crisisflow.sqlite3'}"),
        base_dir=str(BASE_DIR),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The seeds' users are Chinese brands: Simplified Chinese first, English beside it.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "crisisflow" / "locale"]
# Stored in UTC; shown in each user's own zone (people.User.time_zone), this by default.
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "crisisflow" / "static"]
# Evidence files (crisisflow.evidence). Deliberately no MEDIA_URL route: they are served
# only by the view that checks who may see the incident.
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (Django's deployment checklist; all on when DEBUG is off) ---------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Behind the proxy every request comes from its address; the lockout below needs
    # the client's (the last X-Forwarded-For entry, the one the proxy itself added).
    AXES_CLIENT_IP_CALLABLE = "crisisflow.web.security.client_ip_behind_proxy"

# Sessions: a sign-in lasts one crisis shift (12 h by default), counted from the sign-in,
# then the person signs in again. Not ended when the browser closes: responders work
# from phones, whose browsers drop and restore tabs all the time, and a sign-out in the
# middle of a crisis costs more than the 12 h bound saves.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Left readable by scripts on purpose: Django's docs note that an HttpOnly CSRF cookie
# adds no protection, and HTMX requests may need to send the token from it.
CSRF_COOKIE_HTTPONLY = False

# Login rate limiting (django-axes): five wrong passwords for one user name from one
# address lock that pair out for 15 minutes, even with the right password; a successful
# sign-in clears the count. Locking the pair rather than the user name alone means
# nobody can lock the commander out in the middle of a crisis by guessing from
# elsewhere, and one shared office address does not lock out a whole team.
# `manage.py axes_reset_username <name>` (or the admin) lifts a lockout early.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Retrying while locked out does not restart the 15 minutes the page promised.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The sign-in page itself, with the lockout message, under 429 Too Many Requests.
AXES_LOCKOUT_CALLABLE = "crisisflow.web.security.lockout_response"
# No start-up banner on every manage.py command; failures and lockouts are still logged.
AXES_VERBOSE = False

# --- Celery ---------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    # A broker that needs no server: a queue in a SQLite file of its own under var/
    # (crisisflow/broker.py says why this one). Real worker and beat processes use it;
    # nothing runs eagerly. CRISISFLOW_BROKER_DIR lets a test give its worker its own.
    BROKER_DIR = Path(env_str("CRISISFLOW_BROKER_DIR", str(VAR_DIR / "broker")))
    CELERY_BROKER_URL = url_for_file(BROKER_DIR / "queue.sqlite3")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # How long a worker with nothing to do waits before it looks again (kombu's
        # default, 1 s, also delays each next message when all its slots were busy).
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
HEARTBEAT_SECONDS = env_float("CRISISFLOW_HEARTBEAT_SECONDS", 10.0, minimum=1.0)
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "crisisflow.incidents.tasks.heartbeat",
        "schedule": HEARTBEAT_SECONDS,
        # While the worker is down they pile up; a worker coming back need not run
        # an hour of them (one is enough to say it is back).
        "options": {"expires": 60},
    },
    # Deadlines are database columns; this sweep finds the due ones and claims each.
    "sweep-deadlines": {
        "task": "crisisflow.alerts.tasks.sweep",
        "schedule": env_float("CRISISFLOW_SWEEP_SECONDS", 5.0, minimum=0.5),
        "options": {"expires": 60},
    },
    # Early warning: rules whose series or posts changed are evaluated (watch/rules.py).
    "evaluate-early-warning-rules": {
        "task": "crisisflow.watch.tasks.evaluate_rules",
        "schedule": env_float("CRISISFLOW_WATCH_SECONDS", 30.0, minimum=1.0),
        "options": {"expires": 60},
    },
    # Files of evidence uploads whose transaction was rolled back (see evidence/cleanup.py).
    "remove-orphan-evidence": {
        "task": "crisisflow.evidence.tasks.remove_orphans",
        "schedule": 3600.0,
        "options": {"expires": 600},
    },
}

# --- Cache: the API's rate limits, shared by every web process -----------------------
# Redis when there is one (the broker's database, under a prefix of its own), else
# files under var/cache, which separate processes on one machine share as well.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crisisflow-cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Basic first, so a request without credentials gets 401 with WWW-Authenticate.
        # Both password and token checks answer a lockout or too many failures with 429.
        "crisisflow.api.auth.PasswordAuthentication",
        "crisisflow.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "crisisflow.api.auth.TokenScope",
        "crisisflow.api.parsers.NoEmptyJSONBody",
    ],
    # JSON objects only, with a nesting limit; anything else is 415.
    "DEFAULT_PARSER_CLASSES": ["crisisflow.api.parsers.JSONObjectParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "crisisflow.api.throttles.PerPerson",
        "crisisflow.api.throttles.PerAddress",
    ],
    "EXCEPTION_HANDLER": "crisisflow.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "crisisflow.api.schema.AutoSchema",
}

# The OpenAPI description of the API (drf-spectacular), at /api/schema/ with its docs
# page at /api/docs/. Swagger UI comes from the sidecar package, so the page works on a
# machine with no way out to the internet.
SPECTACULAR_SETTINGS = {
    # Two fields named "state" (an incident's, the golden clock's): each enum its own name.
    "ENUM_NAME_OVERRIDES": {
        "GoldenClockStateEnum": "crisisflow.api.serializers.CLOCK_STATES",
        "IncidentStateEnum": "crisisflow.vocab.State",
        "StatementLanguageEnum": "crisisflow.statements.kinds.LANGUAGES",
        "PostLanguageEnum": ["zh", "en"],
        "ActionItemKindEnum": "crisisflow.reviews.models.ActionItemKind",
        "SigningRoleEnum": "crisisflow.reviews.models.SIGNING_ROLES",
        "RoleEnum": "crisisflow.vocab.Role",
    },
    "TITLE": "CrisisFlow API",
    "DESCRIPTION": (
        "The same use cases as the pages, for programs. Errors are JSON objects "
        '`{"detail": …, "field": …}`: 400 bad input (with DRF\'s per-field `errors` when the '
        "input did not parse), 401 not signed in, 403 not allowed, 404 no such thing — or a "
        "restricted incident the reader may not see — and 409 a stale `expected_version` or a "
        'blocked step (with `"blockers": […]`).'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- CrisisFlow's own settings, one namespaced dict (defaults in crisisflow/conf.py) ---
CRISISFLOW = {
    "REFERENCE_PREFIX": env_str("CRISISFLOW_REFERENCE_PREFIX", "CF"),
    "HEARTBEAT_SECONDS": HEARTBEAT_SECONDS,
    "PLAYBOOK_DIR": env_str("CRISISFLOW_PLAYBOOK_DIR", str(BASE_DIR / "playbooks")),
    "PLAYBOOK_MAX_BYTES": env_int("CRISISFLOW_PLAYBOOK_MAX_BYTES", 256 * 1024, minimum=1),
    "SWEEP_SECONDS": env_float("CRISISFLOW_SWEEP_SECONDS", 5.0, minimum=0.5),
    "SWEEP_BATCH": env_int("CRISISFLOW_SWEEP_BATCH", 2000, minimum=1),
    "TRIAGE_SECONDS": 60 * env_int("CRISISFLOW_TRIAGE_MINUTES", 30, minimum=1),
    "DELIVERY_LEASE_SECONDS": env_float("CRISISFLOW_DELIVERY_LEASE_SECONDS", 60.0, minimum=1.0),
    "DELIVERY_REDRIVE_AFTER_SECONDS": env_float("CRISISFLOW_DELIVERY_REDRIVE_AFTER_SECONDS", 30.0, minimum=1.0),
    "DELIVERY_RETRY_SECONDS": [
        int(x) for x in env_list("CRISISFLOW_DELIVERY_RETRY_SECONDS", ["10", "30", "120", "600"])
    ],
    "WEBHOOK_TIMEOUT_SECONDS": env_float("CRISISFLOW_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.1),
    "WEBHOOK_ALLOW_PRIVATE": env_bool("CRISISFLOW_WEBHOOK_ALLOW_PRIVATE", False),
    "NOTICE_DIR": env_str("CRISISFLOW_NOTICE_DIR", str(VAR_DIR / "notices")),
    "DIGESTS": env_bool("CRISISFLOW_DIGESTS", True),
    "EVIDENCE_MAX_BYTES": env_int("CRISISFLOW_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, minimum=1),
    "LINT_EXTRA_DIRS": env_list("CRISISFLOW_LINT_EXTRA_DIRS", []),
    # Only the rates given here; the rest keep their defaults (crisisflow/conf.py).
    "API_RATES": env_rates("CRISISFLOW_API_RATES"),
    "SUBSCRIBER_FANOUT_CHUNK": env_int("CRISISFLOW_SUBSCRIBER_FANOUT_CHUNK", 5000, minimum=1),
    "SUBSCRIBER_FANOUT_LEASE_SECONDS": env_float("CRISISFLOW_SUBSCRIBER_FANOUT_LEASE_SECONDS", 60.0, minimum=1.0),
    "SUBSCRIBER_PAIRING_SECONDS": env_float("CRISISFLOW_SUBSCRIBER_PAIRING_SECONDS", 300.0, minimum=0.0),
}

# --- E-mail (notifications in each recipient's language) ------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if env_str("EMAIL_HOST", "")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CrisisFlow <crisisflow@localhost>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
