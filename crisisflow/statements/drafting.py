"""Drafting the message set: a first draft of every kind the plan asks for, from the
statement templates (crisisflow.statements.message_templates) and the fact sheet.

No text is generated: a template's placeholders are filled with the sheet's facts. An
unconfirmed fact goes in worded as preliminary ("初步核实", "preliminary findings"), a
fact not on the sheet yet as a visible gap ("【待补充：…】", "[to add: …]") for the
writer to fill.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.incidents.errors import Forbidden, Invalid
from crisisflow.incidents.models import Incident
from crisisflow.incidents.timeline import record
from crisisflow.incidents.unit import lock_incident, require_open
from crisisflow.statements import facts, kinds, message_templates, permissions
from crisisflow.statements.models import Statement, StatementState
from crisisflow.statements.versions import check_kind, check_language, create_statement, lint_summary, new_statement

# Kinds every message set has, whatever the plan says: the first public response and
# the internal notice that goes out before or with it (one voice for staff).
ALWAYS = ("holding_statement", "internal_notice")

ROLE_WORDS = {
    "zh-hans": {
        "commander": "指挥官",
        "pr": "公关",
        "legal": "法务",
        "customer_service": "客服",
        "brand_marketing": "品牌",
        "analyst": "舆情分析",
        "tech_security": "技术安全团队",
        "executive": "管理层",
    },
    "en": {
        "commander": "the incident commander",
        "pr": "PR",
        "legal": "legal",
        "customer_service": "customer service",
        "brand_marketing": "brand marketing",
        "analyst": "the public-opinion analysts",
        "tech_security": "our technical and security team",
        "executive": "management",
    },
}

GAPS = {
    "zh-hans": {
        "what": "事件经过",
        "outbreak": "开始时间",
        "discovery": "发现时间",
        "affected": "受影响范围",
        "regions": "受影响地区",
        "cause": "原因",
        "done": "已采取的措施",
        "next": "后续措施及完成日期",
        "next_update": "下次通报时间",
        "compensation": "补偿方案",
        "help": "求助渠道",
        "hotline": "客服热线",
        "help_page": "帮助页面",
        "help_email": "帮助邮箱",
        "qa": "常见问题",
    },
    "en": {
        "what": "what happened",
        "outbreak": "when it began",
        "discovery": "when it was found",
        "affected": "who is affected",
        "regions": "regions affected",
        "cause": "cause",
        "done": "what has been done",
        "next": "what will be done, with dates",
        "next_update": "date of the next update",
        "compensation": "compensation",
        "help": "where to get help",
        "hotline": "hotline",
        "help_page": "help page",
        "help_email": "help e-mail",
        "qa": "questions and answers",
    },
}


def gap(name: str, language: str) -> str:
    word = GAPS[language][name]
    return f"【待补充：{word}】" if language == "zh-hans" else f"[to add: {word}]"


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _zone_words(language: str) -> str:
    if settings.TIME_ZONE in ("Asia/Shanghai", "Asia/Chongqing", "PRC"):
        return "北京时间" if language == "zh-hans" else "Beijing time"
    return settings.TIME_ZONE


def moment_text(value: str, language: str) -> str:
    at = datetime.fromisoformat(value).astimezone(_zone())
    if language == "zh-hans":
        return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}（{_zone_words(language)}）"
    return f"{at.day} {at:%B} {at.year}, {at:%H:%M} ({_zone_words(language)})"


def day_text(value: str, language: str) -> str:
    """A commitment's date: a day (YYYY-MM-DD) or a moment."""
    if len(value) == 10:
        day = date.fromisoformat(value)
        return f"{day.year}年{day.month}月{day.day}日" if language == "zh-hans" else f"{day.day} {day:%B} {day.year}"
    return moment_text(value, language)


def _by(fact: dict, language: str) -> str:
    return ROLE_WORDS[language].get(fact.get("by") or "", "")


def worded(fact: dict, text: str, language: str, *, plan: bool = False) -> str:
    """A fact as a statement may say it: as it is when confirmed; when not, as a
    preliminary finding, or (`plan`: a commitment, the compensation) as not yet final."""
    text = text.strip()
    if fact.get("confirmed"):
        return text
    if plan:
        return f"初步方案：{text}（待最终确认）" if language == "zh-hans" else f"Planned, not yet final: {text}"
    if language == "zh-hans":
        return f"据初步核实，{text}（仍在进一步核实中）"
    return f"Our preliminary findings, still being verified: {text}"


def sentence(text: str, language: str) -> str:
    """`text` ending as a sentence does, without doubling its full stop."""
    text = text.rstrip()
    if text.endswith(("。", "！", "？", "）", ".", "!", "?", ")")):
        return text
    return text + ("。" if language == "zh-hans" else ".")


def _lines(items: list[str], language: str) -> str:
    return "\n".join(f"- {item}" for item in items)


def placeholder_values(incident: Incident, content: dict, language: str, today: datetime) -> dict[str, str]:
    """What each placeholder becomes for this incident, in `language`."""
    s = content.get("sections", {})
    values: dict[str, str] = {"incident_title": incident.title, "today": day_text(today.date().isoformat(), language)}

    what = s.get("what") or {}
    values["what"] = worded(what, what["text"], language) if what.get("text") else gap("what", language)

    for name in facts.MOMENTS:
        moment = (s.get("when") or {}).get(name) or {}
        if moment.get("at"):
            text = moment_text(moment["at"], language)
            if not moment.get("confirmed"):
                text = f"{text}（初步判断）" if language == "zh-hans" else f"{text} (preliminary)"
            values[name] = text
        else:
            values[name] = gap(name, language)

    who = s.get("who") or {}
    parts = []
    if incident.affected_users is not None:
        n = f"{incident.affected_users:,}"
        figures = f"约 {n} 名用户" if language == "zh-hans" else f"about {n} users"
        if incident.regions:
            places = "、".join(incident.regions) if language == "zh-hans" else ", ".join(incident.regions)
            figures += f"，涉及地区：{places}" if language == "zh-hans" else f" in {places}"
        parts.append(sentence(figures, language))
    elif incident.regions:
        places = "、".join(incident.regions) if language == "zh-hans" else ", ".join(incident.regions)
        parts.append(sentence(f"涉及地区：{places}" if language == "zh-hans" else f"In {places}", language))
    if who.get("text"):
        parts.append(sentence(worded(who, who["text"], language), language))
    joined = ("" if language == "zh-hans" else " ").join(parts)
    values["affected"] = (
        (joined[0].upper() + joined[1:] if language == "en" else joined) if parts else gap("affected", language)
    )
    values["regions"] = (
        ("、" if language == "zh-hans" else ", ").join(incident.regions)
        if incident.regions
        else gap("regions", language)
    )

    cause = s.get("cause") or {}
    if cause.get("status") == "known" and cause.get("text"):
        values["cause"] = worded(cause, cause["text"], language)
    else:
        who_checks = _by(cause, language) or ROLE_WORDS[language]["tech_security"]
        if language == "zh-hans":
            values["cause"] = f"原因仍在调查中，由{who_checks}负责。"
        else:
            values["cause"] = f"The cause is still under investigation by {who_checks}."
        if cause.get("text"):
            values["cause"] += " " + worded({"confirmed": False}, cause["text"], language)

    done = [worded(f, f["text"], language) for f in s.get("done") or [] if f.get("text")]
    values["done"] = _lines(done, language) if done else gap("done", language)

    upcoming = sorted((f for f in s.get("next") or [] if f.get("text") and f.get("due")), key=lambda f: f["due"])
    if language == "zh-hans":
        steps = [f"{day_text(f['due'], language)}前：{worded(f, f['text'], language, plan=True)}" for f in upcoming]
    else:
        steps = [f"By {day_text(f['due'], language)}: {worded(f, f['text'], language, plan=True)}" for f in upcoming]
    values["next"] = _lines(steps, language) if steps else gap("next", language)
    values["next_update"] = day_text(upcoming[0]["due"], language) if upcoming else gap("next_update", language)

    compensation = s.get("compensation") or {}
    values["compensation"] = (
        worded(compensation, compensation["text"], language, plan=True)
        if compensation.get("text")
        else gap("compensation", language)
    )

    help_ = s.get("help") or {}
    values["hotline"] = help_.get("hotline") or gap("hotline", language)
    values["help_page"] = help_.get("page") or gap("help_page", language)
    values["help_email"] = help_.get("email") or gap("help_email", language)
    channels = []
    if help_.get("hotline"):
        channels.append(f"客服热线 {help_['hotline']}" if language == "zh-hans" else f"hotline {help_['hotline']}")
    if help_.get("page"):
        channels.append(f"帮助页面 {help_['page']}" if language == "zh-hans" else f"help page {help_['page']}")
    if help_.get("email"):
        channels.append(f"邮箱 {help_['email']}" if language == "zh-hans" else f"e-mail {help_['email']}")
    values["help"] = (
        ("，".join(channels) + "。" if language == "zh-hans" else ", ".join(channels) + ".")
        if channels
        else gap("help", language)
    )

    pairs = []
    for qa in s.get("qa") or []:
        if not qa.get("question"):
            continue
        answer = worded(qa, qa.get("answer") or "", language) if qa.get("answer") else gap("qa", language)
        pairs.append(
            f"问：{qa['question']}\n答：{answer}" if language == "zh-hans" else f"Q: {qa['question']}\nA: {answer}"
        )
    values["qa"] = "\n\n".join(pairs) if pairs else gap("qa", language)
    return values


def fill(template: message_templates.Template, values: dict[str, str]) -> tuple[str, str]:
    title = template.title.format_map(values)
    body = template.body.format_map(values).strip()
    return title, body


def draft_text(incident: Incident, kind: str, language: str, content: dict | None = None) -> tuple[str, str]:
    """The first draft of one kind in one language: (title, body)."""
    if content is None:
        content = facts.content_or_blank(incident)
    template = message_templates.template_for(incident.crisis_type, kind, language)
    title, body = fill(template, placeholder_values(incident, content, language, clock.now()))
    if not kinds.KINDS[kind].has_title:
        title = ""
    return title[:200], body


def require_templates() -> None:
    """The templates, or Invalid listing their first errors (nothing is drafted from a
    half-valid set)."""
    try:
        message_templates.load()
    except message_templates.TemplatesCheckFailed as failed:
        raise Invalid(
            _("The statement templates have errors; nothing was drafted: %(errors)s")
            % {"errors": "; ".join(str(e) for e in failed.errors[:5])}
        ) from None


def draft_statement(actor, incident: Incident, kind: str, language: str) -> Statement:
    """One new statement of `kind` in `language`, its first version drafted from the
    template and the fact sheet (versions.create_statement checks the rest)."""
    check_kind(kind)
    check_language(language)
    require_templates()
    title, body = draft_text(incident, kind, language)
    return create_statement(actor, incident, kind, language, title=title, body=body, from_template=True)


def wanted_kinds(incident: Incident) -> list[str]:
    """The kinds the incident's plan asks for (its tasks' deliverables), plus the
    holding statement and the internal notice, in the order of kinds.KINDS."""
    wanted = set(ALWAYS)
    deliverables = set(incident.tasks.values_list("deliverable", flat=True))
    if not deliverables and incident.playbook_version_id:
        definition = incident.playbook_version.definition or {}
        deliverables = {task.get("deliverable") for task in definition.get("tasks", [])}
    for deliverable in deliverables:
        kind = kinds.kind_for_deliverable(deliverable) if deliverable else None
        if kind is not None:
            wanted.add(kind.key)
    return [key for key in kinds.KINDS if key in wanted]


@transaction.atomic
def draft_message_set(actor, incident: Incident, *, language: str | None = None) -> list[Statement]:
    """Draft every kind the plan asks for that has no statement yet, in `language` (None:
    both), from the templates and the fact sheet. Kinds the person may not write are
    left to the roles that write them. Returns the statements made (perhaps none)."""
    languages = kinds.LANGUAGES if language is None else (check_language(language),)
    require_templates()
    incident = lock_incident(actor, incident)
    require_open(incident)
    standing = permissions.standing(actor, incident)
    if not standing.draftable_kinds():
        raise permissions_error()
    content = facts.content_or_blank(incident)
    existing = set(
        Statement.objects.filter(incident=incident)
        .exclude(state=StatementState.SUPERSEDED)
        .values_list("kind", "language")
    )
    now = clock.now()
    made: list[Statement] = []
    for kind in wanted_kinds(incident):
        if not standing.may_draft(kind):
            continue
        for lang in languages:
            if (kind, lang) in existing:
                continue
            template = message_templates.template_for(incident.crisis_type, kind, lang)
            title, body = fill(template, placeholder_values(incident, content, lang, now))
            if not kinds.KINDS[kind].has_title:
                title = ""
            made.append(
                new_statement(actor, incident, kind, lang, title=title[:200], body=body, now=now, from_template=True)
            )
    if made:
        record(
            incident,
            actor,
            "statement_drafted",
            {
                "message_set": True,
                "statements": [
                    {
                        "statement": s.pk,
                        "kind": s.kind,
                        "language": s.language,
                        **lint_summary(s.current),
                    }
                    for s in made
                ],
                "fact_sheet_version": made[0].current.fact_sheet_version.number
                if made[0].current.fact_sheet_version
                else None,
            },
            at=now,
        )
    return made


def permissions_error() -> Forbidden:
    return Forbidden(_("Only PR, customer service, legal and the commander write statements."))
