"""Bad input at every form and every API endpoint, as every persona.

Hypothesis throws generated values at each field of each mutating route of the web app
and the API — wrong types, numbers out of range, control characters, lone surrogates,
NUL, a 1 MB string, right-to-left overrides, odd time zones, far-past and far-future
moments — mixed with plausible ones so the success paths run too. For every request:

- the answer is a success, or a 4xx; a 400 names the field it refuses; never a 5xx;
- after a refusal the database is exactly as before (incident, tasks, timeline length
  and last hash, team, rosters, preferences, notifications, evidence);
- after a success every list page still renders.

Each example runs in a savepoint that is rolled back, so every example starts from the
same incident. The routes come from the URL configurations: a mutating route with no line
in ROUTES fails `test_every_mutating_route_has_generators`. A new form or endpoint needs
one line there (its URL arguments and a strategy per field); a new page that only reads
and whose view does not declare its methods goes in READ_ONLY.
"""

from __future__ import annotations

import inspect
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.forms import BaseForm
from django.test import Client
from django.test.utils import ContextList
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crisisflow.alerts.models import Notification
from crisisflow.alerts.sweep import sweep
from crisisflow.api.tokens import create_token
from crisisflow.commitments import actions as commitments
from crisisflow.commitments.models import Commitment
from crisisflow.evidence.models import Attachment
from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident, Task, TeamMember
from crisisflow.notices.models import PublicNotice
from crisisflow.people.models import RosterEntry, User
from crisisflow.people.prefs import FIELDS as PREFERENCE_FIELDS
from crisisflow.reviews.models import ActionItem, Review, SignOff
from crisisflow.statements import approvals, versions
from crisisflow.statements.models import FactSheet, FactSheetVersion, Statement, StatementVersion
from crisisflow.vocab import Role, Severity, State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

WEB_URLS = "crisisflow.web.urls"
# The public subscription pages (crisisflow.subscribers), outside the signed-in web app.
PUBLIC_URLS = "crisisflow.subscribers.urls"
API_URLS = "crisisflow.api.urls"
MUTATING = {"post", "put", "patch", "delete"}
LIST_PAGES = [
    "/",
    "/incidents/",
    "/my/tasks/",
    "/board/",
    "/notifications/",
    "/rosters/",
    "/playbooks/",
    "/api/incidents/",
]
INCIDENT_LISTS = ["/", "/incidents/", "/api/incidents/"]
PERSONAS = ["commander", "pr_lead", "observer", "outsider"]  # commander, team member, observer, outsider
NOW = T0 + timedelta(hours=3, minutes=31)  # a reminder and an escalation have fired
EXAMPLES = 10

# --- values ------------------------------------------------------------------------------------------

MEGABYTE = "x" * 1_000_000
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "line\r\nbreak",
    "tab\there",
    "\x1b[31mred",
    "\x07\x08\x7f",
    "\x85\x9b",
    "\u202eevil.exe",
    "\u2066isolate\u2069",
    "\ud800",
    "lone \udfff surrogate",
    "\u2028\u2029",
    "\ufeff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s %(x)s {0}",
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "true",
    "null",
    "[]",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "Asia/Shanghai",
    "../../etc/passwd",
    MEGABYTE,
]
TEXT = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Lo", "Nd"]), max_size=8),
)
JSON_ANY = st.one_of(
    TEXT,
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(TEXT, max_size=3),
    st.dictionaries(st.text(max_size=3), TEXT, max_size=2),
)
FORM_ANY = st.one_of(TEXT, st.lists(TEXT, min_size=2, max_size=3))

ODD_ZONES = [
    st.just(UTC),
    st.just(timezone(timedelta(hours=14))),
    st.just(timezone(timedelta(hours=-12))),
    st.just(timezone(timedelta(hours=5, minutes=45))),
]
NAIVE_MOMENTS = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
LOCAL_KNOWN = ["0001-01-01T00:00", "0001-01-02T00:00", "9999-12-31T23:59", "1999-12-31T23:59", "2026-03-02T17:06"]
ISO_KNOWN = [
    "0001-01-01T00:00:00+08:00",
    "0001-01-02T00:00:00Z",
    "9999-12-31T23:59:00-12:00",
    "9999-12-31T23:59:00+14:00",
    "1999-12-31T23:59:59Z",
    "2026-03-02T08:00:00",
]
ZONE_KNOWN = ["Pacific/Kiritimati", "Etc/GMT+12", "localtime", "Factory", "Mars/Base", "", "UTC\x00", "../UTC"]


@dataclass
class Field:
    """A field's plausible values, and the edge values worth trying on it besides the
    generic bad ones (wrong types, control characters, huge strings). `known` edges are
    each tried once, as explicit examples, whatever Hypothesis draws."""

    plausible: st.SearchStrategy
    edges: st.SearchStrategy = TEXT
    known: list = field(default_factory=list)


LOCAL_MOMENT = Field(
    st.sampled_from(["2026-03-02T16:30", "2026-03-02T12:00"]),
    st.one_of(st.sampled_from(LOCAL_KNOWN), NAIVE_MOMENTS.map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))),
    LOCAL_KNOWN,
)
ISO_MOMENT = Field(
    st.sampled_from(["2026-03-02T08:00:00Z", "2026-03-02T16:00:00+08:00"]),
    st.builds(lambda d, z: d.replace(tzinfo=z).isoformat(), NAIVE_MOMENTS, st.one_of(*ODD_ZONES, st.none())),
    ISO_KNOWN,
)
ZONE = Field(
    st.sampled_from(["Asia/Shanghai", "Pacific/Kiritimati", "Etc/GMT+12", "UTC"]),
    st.sampled_from(ZONE_KNOWN),
    ZONE_KNOWN,
)


@dataclass(frozen=True)
class Ref:
    """Replaced when the request is sent: the current version of the incident or task,
    a persona's user id, a task as the board posts it ("id:version")."""

    what: str
    who: str = ""


VERSION = st.just(Ref("version"))
TASK_VERSION = st.just(Ref("task_version"))
PERSON = st.sampled_from(
    [Ref("user", who) for who in ("commander", "pr_lead", "pr_member", "legal", "observer", "outsider")]
)
LINE = st.sampled_from(["Payments down in East China", "Shanghai, Beijing", "Weibo"])
WORDS = st.sampled_from(["Supplier confirmed the fix.\nSecond paragraph.", "false alarm"])
SEVERITY = st.sampled_from(Severity.values)
CRISIS_TYPE = st.sampled_from(["service_outage", "data_breach"])
ROLE = st.sampled_from(Role.values)
STEP = st.sampled_from([*actions.STEPS, "nonsense"])
WEB_FLAG = st.sampled_from(["on", ""])
JSON_FLAG = st.booleans()
NUMBER = st.integers(min_value=-(2**70), max_value=2**70)
SMALL = st.integers(min_value=-2, max_value=5)
CSV_FILE = st.sampled_from(
    [
        ("points.csv", b"series,at,value\nacme-complaints,2026-03-02T08:00:00Z,5\n"),
        ("bad.csv", b"series,at,value\nnope,yesterday,many\n"),
        ("posts.csv", "url,platform,at,text\nhttps://weibo.com/1,weibo,2026-03-02T08:00:00Z,差评\n".encode()),
        ("empty.csv", b""),
        ("shot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
    ]
)
FILE = st.sampled_from(
    [
        ("shot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
        ("notes.txt", b"Statement draft\n"),
        ("page.html", b"<html><script>x</script></html>"),
        ("empty.txt", b""),
        ("\u202egnp.exe", b"MZ\x90\x00"),
    ]
)


@dataclass
class Route:
    method: str  # post, patch, delete
    api: bool = False
    fields: dict[str, Any] = field(default_factory=dict)  # name -> plausible values
    url: dict[str, Any] = field(default_factory=dict)  # URL kwarg -> a world attribute name or a strategy
    anonymous: bool = False
    multipart: bool = False
    typical: dict[str, Any] = field(default_factory=dict)  # the rest of an explicit example
    signed: bool = False  # sent as a data source signs a batch (crisisflow/watch), not as a person

    def known_examples(self) -> list[tuple]:
        """Each known edge value of each field, posted by the commander with `typical`."""
        return [
            ("commander", {}, {**self.typical, name: value}, name)
            for name, f in sorted(self.fields.items())
            if isinstance(f, Field)
            for value in f.known
        ]


def web(*, url=None, anonymous=False, multipart=False, typical=None, **fields) -> Route:
    return Route("post", False, fields, url or {}, anonymous, multipart, typical or {})


def api(method="post", *, url=None, typical=None, **fields) -> Route:
    return Route(method, True, fields, url or {}, typical=typical or {})


INCIDENT = {"reference": "reference"}
SUBSCRIBER_KIND = st.sampled_from(["email", "sms", "webhook", "pigeon"])
# Never a resolvable host name: no test reaches outside the machine (loopback is refused).
SUBSCRIBER_ADDRESS = st.sampled_from(["reader@example.com", "13800138000", "http://127.0.0.1:9/hook", "nobody"])
SUBSCRIBER_TOKEN = st.sampled_from(["eyJzIjoxfQ:1xXbk8:forged", "nonsense"])
STATEMENT = {"reference": "reference", "statement_id": "statement_id"}
IN_REVIEW = {"reference": "review_reference"}
API_STATEMENT = {"statement_id": "statement_id"}
STATEMENT_VERSION = st.just(Ref("statement_version"))
KIND = st.sampled_from(["holding_statement", "regulator_notice", "internal_notice", "tweet"])
LANGUAGE = st.sampled_from(["en", "zh-hans", "fr"])
COMMITMENT = {"commitment_id": "commitment_id"}
COMMITMENT_VERSION = st.just(Ref("commitment_version"))
NOTICE_VERSION = st.just(Ref("notice_version"))
BRAND_VERSION = st.just(Ref("brand_version"))
NOTICE_FIELDS = dict(
    title_zh=st.sampled_from(["支付故障公告", ""]),
    title_en=LINE,
    summary_zh=LINE,
    summary_en=LINE,
    image_url=st.sampled_from(["https://example.com/card.png", "http://example.com/a.png", ""]),
    slug=st.sampled_from(["payments-notice", "Bad Slug", "feed.atom", ""]),
)
COMMITMENT_TERMS = dict(scope=LINE, amount=LINE, coverage=LINE, period=LINE)
TASK = {"reference": "reference", "task_id": "task_id"}
API_TASK = {"task_id": "task_id"}
SCOPE = dict(
    title=LINE,
    summary=WORDS,
    affected_users=NUMBER,
    regions=LINE,
    platforms=LINE,
    personal_data=WEB_FLAG,
    injuries=WEB_FLAG,
    financial_loss=WEB_FLAG,
    regulator_involved=WEB_FLAG,
    media_coverage=WEB_FLAG,
)
API_SCOPE = dict(
    title=LINE,
    summary=WORDS,
    affected_users=NUMBER,
    regions=st.lists(LINE, max_size=2),
    platforms=st.lists(LINE, max_size=2),
    personal_data=JSON_FLAG,
    injuries=JSON_FLAG,
    media_coverage=JSON_FLAG,
)

# One line per mutating route: its URL arguments and, per field, plausible values (the
# harness mixes in the bad ones).
ROUTES: dict[str, Route] = {
    "login": web(anonymous=True, username=st.sampled_from(["commander", "nobody"]), password=st.just("pw-commander")),
    "logout": web(),
    "api-token-create": web(
        typical={"scope": "read"},
        name=LINE,
        scope=st.sampled_from(["read", "write", "admin"]),
        expires_in_days=st.sampled_from(["30", "365", "", "100000"]),
    ),
    "api-token-revoke": web(url={"token_id": "token_id"}),
    "notifications-read-all": web(),
    "notification-read": web(url={"notification_id": "notification_id"}),
    "preferences": web(
        typical={"language": "en", "alert_in_app": "on"},
        language=st.sampled_from(["en", "zh-hans", "fr"]),
        time_zone=ZONE,
        email=st.sampled_from(["cs@example.com", "not an address", ""]),
        phone=st.sampled_from(["+86 138 0013 8000", "call me"]),
        alert_in_app=WEB_FLAG,
        alert_email=WEB_FLAG,
    ),
    "board-assign": web(assignee=PERSON, task=st.just(Ref("board_task")), incident=st.just(Ref("reference"))),
    "board-team-accept": web(url=INCIDENT, version=VERSION),
    "board-team-replace": web(url=INCIDENT, version=VERSION, role=ROLE, users=PERSON, extra=PERSON),
    "roster-add": web(user=PERSON, role=ROLE, rank=st.sampled_from(["primary", "backup"]), place=SMALL),
    "roster-rank": web(url={"entry_id": "entry_id"}, rank=st.sampled_from(["primary", "backup"])),
    "roster-move": web(url={"entry_id": "entry_id"}, direction=st.sampled_from(["up", "down"])),
    "roster-remove": web(url={"entry_id": "entry_id"}),
    "incident-report": web(
        typical={"title": "Outage"},
        title=LINE,
        summary=WORDS,
        crisis_type=CRISIS_TYPE,
        severity=SEVERITY,
        detected_at=LOCAL_MOMENT,
        restricted=WEB_FLAG,
        **{k: v for k, v in SCOPE.items() if k not in ("title", "summary")},
    ),
    "incident-advance": web(
        url=INCIDENT, version=VERSION, step=STEP, reason=WORDS, crisis_type=CRISIS_TYPE, severity=SEVERITY
    ),
    "incident-severity": web(url=INCIDENT, version=VERSION, severity=SEVERITY, reason=WORDS),
    "incident-scope": web(url=INCIDENT, version=VERSION, **SCOPE),
    "incident-outbreak": web(url=INCIDENT, version=VERSION, detected_at=LOCAL_MOMENT, reason=WORDS),
    "incident-note": web(url=INCIDENT, text=WORDS),
    "evidence-attach": web(url=INCIDENT, multipart=True, file=FILE, caption=LINE),
    "team-accept": web(url=INCIDENT, version=VERSION),
    "team-add": web(url=INCIDENT, version=VERSION, user=PERSON, role=ROLE),
    "hand-over": web(url=INCIDENT, version=VERSION, commander=PERSON, reason=LINE),
    "team-remove": web(url={**INCIDENT, "member_id": "member_id"}, version=VERSION),
    "task-start": web(url=TASK, version=TASK_VERSION),
    "task-done": web(url=TASK, version=TASK_VERSION),
    "task-block": web(url=TASK, version=TASK_VERSION, reason=WORDS),
    "task-unblock": web(url=TASK, version=TASK_VERSION),
    "task-skip": web(url=TASK, version=TASK_VERSION, reason=WORDS),
    "task-assign": web(url=TASK, version=TASK_VERSION, assignee=PERSON),
    "task-tick": web(url=TASK, version=TASK_VERSION, index=SMALL, done=WEB_FLAG),
    "task-comment": web(url=TASK, text=WORDS),
    "statements:draft-set": web(url=INCIDENT, language=st.sampled_from(["", "en", "zh-hans", "fr"])),
    "statements:create": web(url=INCIDENT, kind=KIND, language=LANGUAGE),
    "statements:lint": web(url=INCIDENT, title=LINE, body=WORDS, kind=KIND, language=LANGUAGE),
    "statements:facts": web(
        url=INCIDENT,
        version=st.just(Ref("sheet_version")),
        what_text=WORDS,
        what_confirmed=WEB_FLAG,
        what_by=ROLE,
        outbreak_at=LOCAL_MOMENT,
        cause_status=st.sampled_from(["known", "under_investigation", "maybe"]),
        cause_text=WORDS,
        **{"next-0-text": LINE, "next-0-due": st.sampled_from(["2026-03-05", "2026-13-45", ""])},
        help_page=st.sampled_from(["https://example.com/help", "javascript:alert(1)"]),
        help_email=st.sampled_from(["help@example.com", "nobody"]),
        **{"qa-0-question": LINE, "qa-0-answer": WORDS},
    ),
    "statements:edit": web(
        url=STATEMENT,
        version=st.just(Ref("statement_version")),
        title=LINE,
        body=WORDS,
        correction_note=WORDS,
    ),
    "reviews:edit": web(
        url=IN_REVIEW,
        version=st.just(Ref("review_version")),
        speed_rating=st.sampled_from(["", "1", "5", "6"]),
        speed_evidence=WORDS,
        went_well=WORDS,
        root_cause=WORDS,
        root_cause_origin=st.sampled_from(["", "internal", "external", "aliens"]),
        why_1=LINE,
    ),
    "reviews:sign": web(url=IN_REVIEW, version=st.just(Ref("review_version")), role=ROLE),
    "reviews:add-item": web(
        url=IN_REVIEW,
        title=LINE,
        kind=st.sampled_from(["playbook", "training", "policy", "nonsense"]),
        owner=st.sampled_from(["prlead", "nobody", "1"]),
        due_at=LOCAL_MOMENT,
        playbook_key=st.sampled_from(["", "small-outage", "missing"]),
        task_key=st.sampled_from(["", "legal-review", "missing"]),
    ),
    "reviews:finish-item": web(
        url={**IN_REVIEW, "item_id": "item_id"}, version=SMALL, status=st.sampled_from(["done", "dropped", "maybe"])
    ),
    "reviews:share": web(url=IN_REVIEW, days=SMALL),
    "reviews:change-item": web(
        url={**IN_REVIEW, "item_id": "item_id"},
        version=SMALL,
        title=LINE,
        owner=st.sampled_from(["prlead", "nobody"]),
        due_at=LOCAL_MOMENT,
    ),
    "incident-brand": web(url=INCIDENT, version=BRAND_VERSION, brand=st.sampled_from(["", "acme", "nope"])),
    "api:incident-brand": api(
        url=INCIDENT, expected_version=BRAND_VERSION, brand=st.sampled_from([None, "acme", "nope"])
    ),
    "api:review-edit": api(
        url=IN_REVIEW,
        expected_version=st.just(Ref("review_version")),
        ratings=st.sampled_from([{"speed": {"rating": 4, "comment": "fast"}}, {"speed": {"rating": 9}}, {"x": {}}]),
        went_well=WORDS,
        root_cause_origin=st.sampled_from(["", "internal", "aliens"]),
        five_whys=st.lists(LINE, max_size=6),
    ),
    "api:review-sign": api(url=IN_REVIEW, expected_version=st.just(Ref("review_version")), role=ROLE),
    "api:review-items": api(
        url=IN_REVIEW,
        title=LINE,
        kind=st.sampled_from(["playbook", "training", "nonsense"]),
        owner=PERSON,
        due_at=ISO_MOMENT,
        playbook_key=st.sampled_from(["", "small-outage", "missing"]),
        task_key=st.sampled_from(["", "legal-review", "missing"]),
    ),
    "api:review-share": api(url=IN_REVIEW, days=SMALL),
    "api:review-item-change": api(
        url={"item_id": "item_id"}, expected_version=SMALL, title=LINE, owner=PERSON, due_at=ISO_MOMENT
    ),
    "api:review-item-finish": api(
        url={"item_id": "item_id"}, expected_version=SMALL, status=st.sampled_from(["done", "dropped", "maybe"])
    ),
    "statements:request": web(url=STATEMENT, version=st.just(Ref("statement_version"))),
    "statements:approve": web(
        url=STATEMENT,
        version=st.just(Ref("statement_version")),
        role=st.sampled_from(["legal", "pr", "commander", "observer", "nonsense"]),
        override_reason=WORDS,
    ),
    "statements:reject": web(
        url=STATEMENT,
        version=st.just(Ref("statement_version")),
        role=st.sampled_from(["legal", "pr", "executive"]),
        reason=WORDS,
    ),
    "statements:publish": web(
        url=STATEMENT,
        version=st.just(Ref("statement_version")),
        channel=st.sampled_from(["website", "weibo", "sms", "nowhere"]),
        location=st.sampled_from(["https://example.com/n/1", "weibo-4711", ""]),
    ),
    "api:statement-request": api(url=API_STATEMENT, expected_version=STATEMENT_VERSION),
    "api:statement-approve": api(
        url=API_STATEMENT,
        expected_version=STATEMENT_VERSION,
        role=st.sampled_from(["legal", "pr", "commander", "nonsense"]),
        override_reason=WORDS,
    ),
    "api:statement-reject": api(
        url=API_STATEMENT, expected_version=STATEMENT_VERSION, role=st.sampled_from(["legal", "pr"]), reason=WORDS
    ),
    "api:statement-publish": api(
        url=API_STATEMENT,
        expected_version=STATEMENT_VERSION,
        channel=st.sampled_from(["website", "weibo", "sms", "nowhere"]),
        location=st.sampled_from(["https://example.com/n/1", "weibo-4711", ""]),
    ),
    "api:incident-list": api(
        typical={"title": "Outage"},
        crisis_type=CRISIS_TYPE,
        severity=SEVERITY,
        detected_at=ISO_MOMENT,
        restricted=JSON_FLAG,
        commander=PERSON,
        **API_SCOPE,
    ),
    "api:incident-detail": api("patch", url=INCIDENT, expected_version=VERSION, **API_SCOPE),
    "api:incident-step": api(
        url={**INCIDENT, "step": STEP},
        expected_version=VERSION,
        reason=WORDS,
        crisis_type=CRISIS_TYPE,
        severity=SEVERITY,
        playbook=st.just("small-outage"),
    ),
    "api:incident-outbreak": api(url=INCIDENT, expected_version=VERSION, detected_at=ISO_MOMENT, reason=WORDS),
    "api:incident-severity": api(url=INCIDENT, expected_version=VERSION, severity=SEVERITY, reason=WORDS),
    "api:incident-notes": api(url=INCIDENT, text=WORDS),
    "api:incident-team": api(url=INCIDENT, expected_version=VERSION, user=PERSON, role=ROLE, lead=JSON_FLAG),
    "api:team-accept": api(url=INCIDENT, expected_version=VERSION),
    "api:team-member": api("delete", url={"member_id": "member_id"}, expected_version=VERSION),
    "api:task-start": api(url=API_TASK, expected_version=TASK_VERSION),
    "api:task-complete": api(url=API_TASK, expected_version=TASK_VERSION),
    "api:task-block": api(url=API_TASK, expected_version=TASK_VERSION, reason=WORDS),
    "api:task-unblock": api(url=API_TASK, expected_version=TASK_VERSION),
    "api:task-skip": api(url=API_TASK, expected_version=TASK_VERSION, reason=WORDS),
    "api:task-assign": api(url=API_TASK, expected_version=TASK_VERSION, assignee=PERSON),
    "api:task-checklist": api(url=API_TASK, expected_version=TASK_VERSION, index=SMALL, done=JSON_FLAG),
    "api:task-comments": api(url=API_TASK, text=WORDS),
    "api:tasks-assign": api(assignee=PERSON, tasks=st.just(Ref("bulk_tasks"))),
    "api:incident-command": api(url=INCIDENT, expected_version=VERSION, commander=PERSON),
    "api:incident-evidence": Route("post", True, {"file": FILE, "caption": LINE}, INCIDENT, multipart=True),
    "api:notification-read": api(url={"notification_id": "notification_id"}),
    "api:notifications-read-all": api(),
    # Public subscriptions to notices (no sign-in; rate-limited, so 429 is a refusal too).
    "subscribe": web(
        anonymous=True,
        typical={"kind": "email", "address": "reader@example.com", "consent": "yes"},
        kind=SUBSCRIBER_KIND,
        address=SUBSCRIBER_ADDRESS,
        language=LANGUAGE,
        consent=st.sampled_from(["yes", ""]),
        secret=st.sampled_from(["", "s" * 20]),
    ),
    "subscribe-notice": web(
        url=INCIDENT,
        anonymous=True,
        typical={"kind": "email", "address": "reader@example.com", "consent": "yes"},
        kind=SUBSCRIBER_KIND,
        address=SUBSCRIBER_ADDRESS,
        language=LANGUAGE,
        consent=st.sampled_from(["yes", ""]),
    ),
    "subscribe-code": web(url={"token": SUBSCRIBER_TOKEN}, anonymous=True, code=st.sampled_from(["123456", ""])),
    "unsubscribe": web(url={"token": SUBSCRIBER_TOKEN}, anonymous=True),
    "api:subscriptions": api(
        typical={"kind": "email", "address": "reader@example.com", "consent": True},
        kind=SUBSCRIBER_KIND,
        address=SUBSCRIBER_ADDRESS,
        incident=st.sampled_from(["", "CF-2026-0001", "CF-1999-0404"]),
        language=LANGUAGE,
        consent=JSON_FLAG,
        secret=st.sampled_from(["", "s" * 20]),
    ),
    "api:subscriptions-confirm": api(token=SUBSCRIBER_TOKEN),
    "api:subscriptions-confirm-sms": api(token=SUBSCRIBER_TOKEN, code=st.sampled_from(["123456", ""])),
    "api:subscriptions-unsubscribe": api(token=SUBSCRIBER_TOKEN),
    "api:fact-sheet": api(
        "put",
        url=INCIDENT,
        expected_version=st.just(Ref("sheet_version")),
        sections=st.sampled_from(
            [
                {"what": {"text": "Payments failed.", "confirmed": True, "by": "tech_security"}},
                {"next": [{"text": "Refund", "due": "2026-03-05"}]},
                {"next": [{"text": "Refund", "due": "soon"}]},
                {"help": {"page": "javascript:alert(1)"}},
            ]
        ),
    ),
    "api:statement-list": api(
        url=INCIDENT, kind=KIND, language=LANGUAGE, title=LINE, body=WORDS, from_template=JSON_FLAG
    ),
    "api:message-set": api(url=INCIDENT, language=st.sampled_from(["en", "zh-hans", None, "fr"])),
    "api:statement-versions": api(
        url={"statement_id": "statement_id"},
        expected_version=st.just(Ref("statement_version")),
        title=LINE,
        body=WORDS,
        correction_note=WORDS,
    ),
    # Early warning (crisisflow/watch). The batch API answers 401 to anything unsigned.
    "watch-upload": web(multipart=True, file=CSV_FILE),
    "watch-point-add": web(series=st.sampled_from(["acme-complaints", "nope"]), at=LOCAL_MOMENT, value=NUMBER),
    "watch-rule-quiet": web(
        rule=SMALL,
        version=SMALL,
        action=st.sampled_from(["snooze", "mute", "unmute", "explode"]),
        hours=SMALL,
        reason=WORDS,
    ),
    # A post's "url" is a field here, not the route's URL arguments.
    "watch-post-add": Route(
        "post",
        fields=dict(
            url=st.sampled_from(["https://weibo.com/1", "weibo.com/1", "javascript:alert(1)"]),
            brand=st.sampled_from(["", "acme", "nope"]),
            platform=st.sampled_from(["weibo", "news", "myspace"]),
            author=LINE,
            reach=NUMBER,
            flag=st.sampled_from(["", "official_media", "kol", "bot"]),
            at=LOCAL_MOMENT,
            text=WORDS,
        ),
        typical={"url": "https://weibo.com/1", "platform": "weibo", "at": "2026-03-02T09:00"},
    ),
    # Setting up early warning (duty commanders): ids in the body, empty to make one.
    "watch-brand-save": web(
        brand=st.sampled_from(["", "1", "x"]),
        version=SMALL,
        key=st.sampled_from(["acme", "Bad Key", ""]),
        name=LINE,
        kind=st.sampled_from(["brand", "product", "planet"]),
    ),
    "watch-source-save": web(
        source=st.sampled_from(["", "1"]),
        version=SMALL,
        key=st.sampled_from(["radar", "Bad Key", ""]),
        name=LINE,
        active=WEB_FLAG,
    ),
    "watch-source-rotate": web(source=SMALL, version=SMALL),
    "watch-series-save": web(
        series=st.sampled_from(["", "1"]),
        version=SMALL,
        key=st.sampled_from(["acme-sales", "Bad Key", ""]),
        name=LINE,
        kind=st.sampled_from(["sales", "negative_share", "vibes"]),
        platform=st.sampled_from(["", "weibo", "myspace"]),
        scope=st.sampled_from(["organisation", "brand", "incident", "galaxy"]),
        brand=st.sampled_from(["", "acme", "nope"]),
        incident=st.sampled_from(["", "CF-2026-0001", "CF-1999-0404"]),
        from_posts=WEB_FLAG,
    ),
    "watch-rule-save": web(
        typical={"name": "Complaints above 50", "severity": "high", "dedup_minutes": "60", "cooldown_minutes": "0"},
        rule=st.sampled_from(["", "1"]),
        version=SMALL,
        name=LINE,
        brand=st.sampled_from(["acme", "nope"]),
        kind=st.sampled_from(["threshold", "rate", "spike", "composite", "flag", "magic"]),
        series=st.sampled_from(["", "acme-complaints", "nope"]),
        threshold_op=st.sampled_from(["above", "below", "sideways"]),
        threshold_value=NUMBER,
        rate_percent=NUMBER,
        rate_window_minutes=NUMBER,
        spike_z=st.sampled_from(["3", "0.1", "x"]),
        composite_mode=st.sampled_from(["all", "any", "some"]),
        composite_rules=st.lists(SMALL, max_size=2),
        flag_official_media=WEB_FLAG,
        flag_min_reach=NUMBER,
        flag_negative_only=WEB_FLAG,
        flag_window_minutes=NUMBER,
        severity=SEVERITY,
        crisis_type=CRISIS_TYPE,
        dedup_minutes=NUMBER,
        cooldown_minutes=NUMBER,
        active=WEB_FLAG,
    ),
    "api:watch-batches": Route(
        "post",
        True,
        {
            "points": st.just([{"series": "acme-complaints", "at": "2026-03-02T09:00:00Z", "value": 1}]),
            "posts": st.just([{"url": "https://weibo.com/1", "platform": "weibo", "at": "2026-03-02T09:00:00Z"}]),
        },
        signed=True,
    ),
    # Public notices (the commander's settings) and the commitments ledger.
    "notices:settings": web(url=INCIDENT, version=NOTICE_VERSION, listed=WEB_FLAG, **NOTICE_FIELDS),
    "notices:off": web(url=INCIDENT, version=NOTICE_VERSION),
    "notices:drill": web(url=INCIDENT, version=NOTICE_VERSION, drill=st.sampled_from(["1", "0", "x"])),
    "api:incident-notice": api(url=INCIDENT, expected_version=NOTICE_VERSION, listed=JSON_FLAG, **NOTICE_FIELDS),
    "api:incident-notice-off": api(url=INCIDENT, expected_version=NOTICE_VERSION),
    "api:incident-notice-drill": api(url=INCIDENT, expected_version=NOTICE_VERSION, drill=JSON_FLAG),
    "commitments:incident": web(
        url=INCIDENT,
        typical={"text": "Refund every failed fee"},
        text=WORDS,
        owner=PERSON,
        due_at=st.sampled_from(["2026-03-10", "2026-03-10T12:00:00+08:00", "soon"]),
        sentence=WORDS,
        statement_version=st.sampled_from(["", "1", "x"]),
        **COMMITMENT_TERMS,
    ),
    "commitments:kept": web(
        url=COMMITMENT,
        version=COMMITMENT_VERSION,
        summary=WORDS,
        links=st.sampled_from(["https://example.com/evidence", "ftp://example.com/x", ""]),
        figures=st.sampled_from(["policies: 12,000", ""]),
    ),
    "commitments:verify": web(url=COMMITMENT, version=COMMITMENT_VERSION),
    "commitments:withdraw": web(url=COMMITMENT, version=COMMITMENT_VERSION, reason=WORDS),
    "commitments:carry-over": web(url=COMMITMENT, version=COMMITMENT_VERSION, owner=PERSON),
    "api:incident-commitments": api(
        url=INCIDENT, text=WORDS, owner=PERSON, due_at=ISO_MOMENT, sentence=WORDS, **COMMITMENT_TERMS
    ),
    "api:commitment-change": api(
        url=COMMITMENT, expected_version=COMMITMENT_VERSION, text=WORDS, owner=PERSON, due_at=ISO_MOMENT
    ),
    "api:commitment-kept": api(
        url=COMMITMENT,
        expected_version=COMMITMENT_VERSION,
        summary=WORDS,
        links=st.lists(st.sampled_from(["https://example.com/e", "javascript:alert(1)"]), max_size=2),
        figures=st.lists(st.fixed_dictionaries({"label": LINE, "value": LINE}), max_size=2),
    ),
    "api:commitment-verify": api(url=COMMITMENT, expected_version=COMMITMENT_VERSION),
    "api:commitment-withdraw": api(url=COMMITMENT, expected_version=COMMITMENT_VERSION, reason=WORDS),
    "api:commitment-broken": api(url=COMMITMENT, expected_version=COMMITMENT_VERSION, reason=WORDS),
    "api:commitment-carry-over": api(url=COMMITMENT, expected_version=COMMITMENT_VERSION, owner=PERSON),
}

# Pages whose views do not declare their methods but only read. Anything else without a
# declared method list counts as mutating and needs a line in ROUTES.
READ_ONLY = {
    "dashboard",
    "my-tasks",
    "dashboard-live",
    "my-tasks-live",
    "incident-list",
    "notifications",
    "playbooks",
    "board",
    "rosters",
    "playbook-detail",
    "incident-detail",
    "incident-live",
    "incident-timeline",
    "evidence-file",
}


# --- the routes in the URL configurations -------------------------------------------------------------


def _patterns(urlconf: str, namespace: str = "") -> list[tuple[str, Any]]:
    return _walk(get_resolver(urlconf).url_patterns, namespace)


def _walk(entries, namespace: str) -> list[tuple[str, Any]]:
    found = []
    for entry in entries:
        if isinstance(entry, URLResolver):
            # An app's own URLs (the statements pages), under its namespace if it has one.
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found.extend(_walk(entry.url_patterns, inner))
            continue
        assert isinstance(entry, URLPattern)
        assert entry.name, f"{entry.pattern} has no name"
        found.append((namespace + entry.name, entry.callback))
    return found


def _declared_methods(view) -> set[str] | None:
    """The HTTP methods a view accepts, where it says so: DRF's @api_view, Django's
    require_POST and friends, a class-based view; None for a plain function view."""
    cls = getattr(view, "cls", None) or getattr(view, "view_class", None)
    if cls is not None:
        # The methods the class implements, not every name it would dispatch.
        return {m.lower() for m in cls.http_method_names if hasattr(cls, m)} - {"options", "head"}
    fn = view
    while fn is not None:
        if fn.__closure__:
            methods = inspect.getclosurevars(fn).nonlocals.get("request_method_list")
            if methods is not None:
                return {m.lower() for m in methods}
        fn = getattr(fn, "__wrapped__", None)
    return None


def mutating_routes() -> dict[str, bool]:
    """Route name -> whether its methods are declared, for every route that may change data."""
    routes = {}
    for name, view in [*_patterns(WEB_URLS), *_patterns(PUBLIC_URLS), *_patterns(API_URLS, "api:")]:
        methods = _declared_methods(view)
        if methods is None and name not in READ_ONLY:
            routes[name] = False
        elif methods is not None and methods & MUTATING:
            routes[name] = True
    return routes


def test_every_mutating_route_has_generators():
    routes = mutating_routes()
    missing = sorted(set(routes) - set(ROUTES))
    assert not missing, f"add a line to ROUTES (or READ_ONLY) in {__name__} for: {missing}"
    stale = sorted(set(ROUTES) - set(routes))
    assert not stale, f"ROUTES names routes that no longer change anything or exist: {stale}"
    assert not set(READ_ONLY) & set(ROUTES)


# --- the world every example starts from --------------------------------------------------------------


@dataclass
class World:
    people: Any
    incident: Incident
    task: Task
    member: TeamMember
    entry: RosterEntry
    notification: Notification
    token: Any
    statement: Statement
    commitment: Commitment
    review_incident: Incident  # in review, with an action item: the review forms' success paths run
    item: Any
    web: dict[str, Client]
    anonymous: Client

    def ref(self, value: Any) -> Any:
        if not isinstance(value, Ref):
            return value
        if value.what == "version":
            return Incident.objects.get(pk=self.incident.pk).version
        if value.what == "task_version":
            return Task.objects.get(pk=self.task.pk).version
        if value.what == "user":
            return getattr(self.people, value.who).pk
        if value.what == "board_task":
            task = Task.objects.get(pk=self.task.pk)
            return f"{task.pk}:{task.version}"
        if value.what == "reference":
            return self.incident.reference
        if value.what == "statement_version":
            return Statement.objects.get(pk=self.statement.pk).version
        if value.what == "commitment_version":
            return Commitment.objects.get(pk=self.commitment.pk).version
        if value.what == "notice_version":
            return PublicNotice.objects.filter(incident=self.incident).values_list("version", flat=True).first() or 0
        if value.what == "sheet_version":
            sheet = FactSheet.objects.filter(incident=self.incident).first()
            return sheet.version if sheet else 0
        if value.what == "brand_version":
            from crisisflow.watch.models import IncidentBrand

            return IncidentBrand.objects.filter(incident=self.incident).values_list("version", flat=True).first() or 0
        if value.what == "review_version":
            from crisisflow.reviews.models import Review

            review = Review.objects.filter(incident=self.review_incident).first()
            return review.version if review else 0
        if value.what == "bulk_tasks":
            task = Task.objects.get(pk=self.task.pk)
            return [{"id": task.pk, "version": task.version}]
        raise AssertionError(value)

    def url_kwarg(self, value: Any) -> Any:
        return {
            "reference": self.incident.reference,
            "task_id": self.task.pk,
            "member_id": self.member.pk,
            "entry_id": self.entry.pk,
            "notification_id": self.notification.pk,
            "token_id": self.token.pk,
            "statement_id": self.statement.pk,
            "commitment_id": self.commitment.pk,
            "review_reference": self.review_incident.reference,
            "item_id": self.item.pk,
        }[value]


@pytest.fixture
def world(people, plan, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people, title="Payments down"), State.TEAM_ASSEMBLED)
        actions.add_team_member(people.commander, incident, people.observer, Role.OBSERVER)
        member = actions.add_team_member(people.commander, incident, people.pr_member, Role.PR)
        statement = versions.create_statement(
            people.pr_lead, incident, "holding_statement", "en", body="We apologise. Payments failed."
        )
        from crisisflow.reviews import use_cases as reviews

        in_review = walk_to(people, report(people, title="Refunds late"), State.IN_REVIEW)
        actions.add_team_member(people.commander, in_review, people.observer, Role.OBSERVER)
        item = reviews.add_action_item(
            people.commander,
            in_review,
            title="Drill",
            kind="training",
            owner=people.pr_lead,
            due_at=T0 + timedelta(days=9),
        )
        # In review: approving (as PR), rejecting and their refusals all have something to act on.
        statement = approvals.request_approval(people.pr_lead, statement, expected_version=statement.version)
        commitment = commitments.create_commitment(
            people.commander,
            incident,
            text="Refund every failed fee",
            owner=people.legal,
            due_at=T0 + timedelta(days=7),
        )
    with time_machine.travel(NOW, tick=False):
        sweep()
        notification = Notification.objects.filter(recipient__isnull=False).order_by("pk").first()
        assert notification is not None
        clients = {}
        for name in PERSONAS:
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            client.force_login(getattr(people, name))
            client.cookies["django_language"] = "en"
            clients[name] = client
        yield World(
            people=people,
            incident=incident,
            task=incident.tasks.get(key="holding-statement"),
            member=member,
            entry=RosterEntry.objects.get(user=people.pr_member),
            notification=notification,
            token=create_token(people.commander, name="monitoring", scope="read")[0],
            statement=statement,
            commitment=commitment,
            review_incident=in_review,
            item=item,
            web=clients,
            anonymous=Client(),
        )


def snapshot() -> tuple:
    last = Event.objects.order_by("-pk").values_list("hash", flat=True).first()
    return (
        list(Incident.objects.order_by("pk").values()),
        list(Task.objects.order_by("pk").values()),
        Event.objects.count(),
        last,
        list(TeamMember.objects.order_by("pk").values()),
        list(RosterEntry.objects.order_by("pk").values()),
        list(User.objects.order_by("pk").values("pk", *PREFERENCE_FIELDS)),
        list(Notification.objects.order_by("pk").values("pk", "read_at")),
        Attachment.objects.count(),
        list(Statement.objects.order_by("pk").values()),
        StatementVersion.objects.count(),
        FactSheetVersion.objects.count(),
        list(Commitment.objects.order_by("pk").values()),
        list(PublicNotice.objects.order_by("pk").values()),
        list(Review.objects.order_by("pk").values()),
        SignOff.objects.count(),
        ActionItem.objects.count(),
    )


class Undo(Exception):
    """Raised at the end of every example to roll its savepoint back."""


# --- sending --------------------------------------------------------------------------------------


def _form_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def send(world: World, name: str, route: Route, persona: str, url_args: dict, data: dict):
    if route.anonymous:
        client = Client()
    else:
        # Signed in afresh inside the example's savepoint: a sign-out in an earlier
        # example cannot leave this persona signed out.
        client = world.web[persona]
        client.force_login(getattr(world.people, persona))
    url = reverse(name, kwargs=url_args)
    if route.signed:
        return _signed_batch(client, url, data)
    if route.api and not route.multipart:
        body = json.dumps(data)  # ASCII with \\u escapes: lone surrogates travel as JSON allows
        return client.generic(
            route.method.upper(), url, body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
        )
    if route.multipart:
        fields = {}
        for key, value in data.items():
            if key == "file":
                fields[key] = SimpleUploadedFile(value[0], value[1])
            else:  # multipart bodies are UTF-8: a lone surrogate arrives as the bytes it would be
                value = _form_value(value)
                encode = lambda v: v.encode("utf-8", "surrogatepass")  # noqa: E731
                fields[key] = [encode(v) for v in value] if isinstance(value, list) else encode(value)
        return client.post(url, fields)
    body = urlencode(
        {key: _form_value(value) for key, value in data.items()}, doseq=True, encoding="utf-8", errors="surrogatepass"
    )
    return client.post(url, body, content_type="application/x-www-form-urlencoded")


_signatures = itertools.count()


def _signed_batch(client, url: str, data: dict):
    """A batch signed by a data source, with a series it may name (both made inside the
    example's savepoint), each with a timestamp of its own so none reads as a replay."""
    from crisisflow.watch.api import signature
    from crisisflow.watch.models import Brand, Series, Source

    brand = Brand.objects.get_or_create(key="acme", defaults={"name": "Acme"})[0]
    Series.objects.get_or_create(key="acme-complaints", defaults={"kind": "complaints_per_hour", "brand": brand})
    source = Source.objects.get_or_create(key="radar", defaults={"name": "Radar", "secret": "k"})[0]
    body = json.dumps(data).encode()
    stamp = str(int(time.time()) - next(_signatures) % 250)
    return client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_CRISISFLOW_SOURCE=source.key,
        HTTP_X_CRISISFLOW_TIMESTAMP=stamp,
        HTTP_X_CRISISFLOW_SIGNATURE=signature(source.secret, stamp, body),
    )


def refused_field(response) -> list[str]:
    """Where a 400 says what is wrong: field names of the forms with errors (web), the
    "field" of the answer (API); "" for a message on top of a form or page."""
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert body.get("detail"), body
        return [body.get("field") or ""]
    names: list[str] = []
    contexts = response.context if isinstance(response.context, ContextList) else [response.context]
    for context in contexts:
        if context is None:
            continue
        for value in context.flatten().values():
            forms = value.values() if isinstance(value, dict) else [value]
            for form in forms:
                if isinstance(form, BaseForm) and form.errors:
                    names.extend(n if n != "__all__" else "" for n in form.errors)
        if context.get("refusal"):
            names.append("")
    return names


def check_lists(world: World, persona: str, pages: list[str]) -> None:
    client = world.web[persona]
    client.force_login(getattr(world.people, persona))
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)


def strategy_for(route: Route) -> st.SearchStrategy:
    """(persona, URL arguments, posted data, the field made bad): every field plausible
    but at most one, which gets an edge value, a bad one, or is left out."""
    bad = JSON_ANY if route.api else FORM_ANY
    fields = {name: f if isinstance(f, Field) else Field(f) for name, f in route.fields.items()}
    names = sorted(fields)
    url = {k: v for k, v in route.url.items() if isinstance(v, st.SearchStrategy)}

    @st.composite
    def example(draw):
        persona = draw(st.sampled_from(PERSONAS))
        url_args = draw(st.fixed_dictionaries(url))
        data = draw(st.fixed_dictionaries({name: f.plausible for name, f in fields.items()}))
        target = draw(st.sampled_from([*names, None])) if names else None
        if target is not None:
            how = draw(st.sampled_from(["edge", "edge", "bad", "missing"]))
            if how == "missing":
                del data[target]
            elif how == "edge" and target != "file":
                data[target] = draw(fields[target].edges)
            elif target != "file":
                data[target] = draw(bad)
        return persona, url_args, data, target

    return example()


def examples_for(route: Route) -> int:
    # Enough for every field to be made bad a few times.
    return max(EXAMPLES, 2 * len(route.fields))


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_bad_input_is_refused_cleanly_on_every_route(world, name):
    route = ROUTES[name]
    fixed = {k: world.url_kwarg(v) for k, v in route.url.items() if isinstance(v, str)}
    seen = {"success": 0}

    @settings(
        max_examples=examples_for(route),
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    )
    @given(strategy_for(route))
    def attempt(drawn):
        persona, url_args, data, target = drawn
        data = {key: world.ref(value) for key, value in data.items()}
        data = {key: [world.ref(v) for v in value] if isinstance(value, list) else value for key, value in data.items()}
        try:
            with transaction.atomic():
                before = snapshot()
                response = send(world, name, route, persona, {**fixed, **url_args}, data)
                status = response.status_code
                assert status < 500, (status, persona, target, data)
                if status >= 400:
                    assert status in (400, 403, 404, 409, 413, 429), (status, persona, target, data)
                    assert snapshot() == before, f"a refused request ({status}) changed the database"
                    if status == 400:
                        named = refused_field(response)
                        assert named, f"a 400 without a message: {response.content[:300]!r}"
                        # A nested field is named by its path (sections.next[2].due).
                        named = [re.split(r"[.\[]", name)[0] for name in named]
                        known = set(data) | set(route.fields) | {""}
                        assert set(named) <= known | _use_case_fields(), (named, data)
                else:
                    # What once broke every list page was a stored value; the pages that
                    # show incidents are read after every success, all of them after the
                    # first few (a page costs what the 2-core test machine can spare).
                    seen["success"] += 1
                    check_lists(world, persona, LIST_PAGES if seen["success"] <= 2 else INCIDENT_LISTS)
                raise Undo
        except Undo:
            pass

    for known in route.known_examples():
        attempt = example(known)(attempt)
    attempt()


def _use_case_fields() -> set[str]:
    # Fields a use case may name that are not a posted field of the same name (a team with
    # nobody to add, the tasks ticked on the board).
    return {"team", "tasks", "users", "commander", "step", "user", "version", "expected_version"}
