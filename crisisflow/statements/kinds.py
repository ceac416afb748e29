"""The kinds of message a crisis team writes, who they are for and where they go.

Each kind has an audience, the channels it goes out on with their length limits, the
roles that must approve it by default (a playbook may declare others), and the playbook
deliverables it fulfils. `first_statement` kinds stop the golden clock when first
published (DOMAIN.md: the golden 4 hours)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crisisflow.vocab import Deliverable, Role


class Audience:
    PUBLIC = "public"
    CUSTOMERS = "customers"
    STAFF = "staff"
    REGULATOR = "regulator"
    MEDIA = "media"
    PARTNERS = "partners"


AUDIENCE_LABELS = {
    Audience.PUBLIC: pgettext_lazy("audience", "Public"),
    Audience.CUSTOMERS: pgettext_lazy("audience", "Customers"),
    Audience.STAFF: pgettext_lazy("audience", "Staff"),
    Audience.REGULATOR: pgettext_lazy("audience", "Regulator"),
    Audience.MEDIA: pgettext_lazy("audience", "Media"),
    Audience.PARTNERS: pgettext_lazy("audience", "Partners"),
}

# Audiences whose messages leave the company in public view: PR and legal approve them.
PUBLIC_AUDIENCES = frozenset({Audience.PUBLIC, Audience.CUSTOMERS, Audience.MEDIA})


@dataclass(frozen=True)
class Channel:
    """Where a message goes and how long it may be there.

    `max_chars`: the hard limit of the body (None: none). `segment_chars` /
    `multi_segment_chars`: SMS segmentation (70 / 67 characters for Chinese, UCS-2;
    160 / 153 for plain GSM text). `max_subject_chars`: an e-mail subject."""

    key: str
    label: str
    max_chars: int | None = None
    max_subject_chars: int | None = None
    segment_chars: int | None = None
    multi_segment_chars: int | None = None


CHANNELS: dict[str, Channel] = {
    c.key: c
    for c in (
        Channel("website", _("Website / official notice")),
        Channel("weibo", _("Weibo"), max_chars=2000),
        Channel("wechat", _("WeChat official account"), max_chars=20000),
        Channel("email", _("E-mail"), max_subject_chars=60),
        Channel("sms", _("SMS"), max_chars=500, segment_chars=70, multi_segment_chars=67),
        Channel("press", _("Press / media")),
        Channel("intranet", _("Internal channels")),
        Channel("cs_desk", _("Customer-service desk")),
        Channel("regulator", _("Regulator filing")),
        Channel("partner", _("Partner channel")),
    )
}


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    audience: str
    channels: tuple[str, ...]
    # Roles whose approval this kind needs unless the playbook declares otherwise.
    approvers: tuple[str, ...]
    deliverables: tuple[str, ...] = ()
    # The first publication of a kind marked so is the incident's first public statement.
    first_statement: bool = False
    # Minutes an approval may take once requested, unless the playbook says otherwise.
    approval_minutes: int = 60
    # Has a subject/title line (e-mail, press release) besides the body.
    has_title: bool = False
    # The three elements of a first response are required (linter errors if missing).
    three_elements: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def public(self) -> bool:
        return self.audience in PUBLIC_AUDIENCES

    @property
    def audience_label(self) -> str:
        return str(AUDIENCE_LABELS[self.audience])


PR, LEGAL, COMMANDER = Role.PR.value, Role.LEGAL.value, Role.COMMANDER.value

KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(
            "holding_statement",
            _("Holding statement"),
            Audience.PUBLIC,
            ("website", "weibo", "wechat"),
            (PR, LEGAL),
            (Deliverable.HOLDING_STATEMENT,),
            first_statement=True,
            approval_minutes=30,
            three_elements=True,
        ),
        Kind(
            "full_statement",
            _("Full statement / apology letter"),
            Audience.PUBLIC,
            ("website", "weibo", "wechat"),
            (PR, LEGAL),
            (Deliverable.PUBLIC_STATEMENT, Deliverable.APOLOGY_LETTER),
            first_statement=True,
            three_elements=True,
            has_title=True,
        ),
        Kind(
            "progress_update",
            _("Progress update"),
            Audience.PUBLIC,
            ("website", "weibo", "wechat"),
            (PR, LEGAL),
            (Deliverable.PUBLIC_STATEMENT, Deliverable.TRANSPARENCY_REPORT),
        ),
        Kind("correction", _("Correction"), Audience.PUBLIC, ("website", "weibo", "wechat"), (PR, LEGAL)),
        Kind(
            "press_release",
            _("Press release"),
            Audience.MEDIA,
            ("press", "website"),
            (PR, LEGAL),
            (Deliverable.MEDIA_BRIEFING,),
            has_title=True,
        ),
        Kind("social_post", _("Social post (Weibo, WeChat)"), Audience.PUBLIC, ("weibo", "wechat"), (PR, LEGAL)),
        Kind(
            "customer_email",
            _("Customer e-mail"),
            Audience.CUSTOMERS,
            ("email",),
            (PR, LEGAL),
            (Deliverable.USER_NOTIFICATION, Deliverable.COMPENSATION_PLAN),
            has_title=True,
        ),
        Kind(
            "customer_sms",
            _("Customer SMS"),
            Audience.CUSTOMERS,
            ("sms",),
            (PR, LEGAL),
            (Deliverable.USER_NOTIFICATION,),
        ),
        Kind(
            "cs_script",
            _("Customer-service script and FAQ"),
            Audience.STAFF,
            ("cs_desk",),
            (PR,),
            (Deliverable.CS_SCRIPT,),
        ),
        Kind(
            "internal_notice",
            _("Internal notice"),
            Audience.STAFF,
            ("intranet",),
            (COMMANDER,),
            (Deliverable.INTERNAL_NOTICE,),
            has_title=True,
        ),
        Kind(
            "regulator_notice",
            _("Regulator notice"),
            Audience.REGULATOR,
            ("regulator",),
            (LEGAL,),
            (Deliverable.REGULATOR_NOTICE,),
            has_title=True,
        ),
        Kind("partner_notice", _("Partner notice"), Audience.PARTNERS, ("partner",), (PR, LEGAL), has_title=True),
    )
}

LANGUAGES = ("zh-hans", "en")


def kind(key: str) -> Kind:
    """The kind called `key`; KeyError names the known ones."""
    try:
        return KINDS[key]
    except KeyError:
        raise KeyError(f"unknown statement kind {key!r}; known: {', '.join(KINDS)}") from None


def kind_for_deliverable(deliverable: str) -> Kind | None:
    """The first kind that fulfils a playbook task's deliverable, if any."""
    for k in KINDS.values():
        if deliverable in k.deliverables:
            return k
    return None
