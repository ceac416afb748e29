"""Statement templates are data files checked like playbooks: every error as
path:line: field: message, all files or none; the built-in ones are clean."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crisisflow.statements import kinds, message_templates

DEFAULT_BODY = "\n".join(
    f"  {key}:\n    zh-hans: {{title: 标题, body: 正文}}\n    en: {{title: Title, body: Text}}" for key in kinds.KINDS
)


def check(**files):
    return message_templates.check_sources({f"{name}.yaml": text for name, text in files.items()})


def test_the_built_in_templates_are_clean(capsys):
    call_command("check_statement_templates")
    assert "statement template files OK" in capsys.readouterr().out
    templates = message_templates.load()
    assert set(templates["default"]) == set(kinds.KINDS)


def test_errors_name_file_line_and_field():
    bad = (
        "crisis_type: data_breech\n"
        "kinds:\n"
        "  holding_statment:\n"
        "    en: {body: x}\n"
        "  customer_sms:\n"
        "    zh-hans:\n"
        "      body: |\n"
        "        您好\n"
        "        {whta}\n"
        "    en: {body: '{what', footer: x}\n"
    )
    templates, errors = check(default="crisis_type: default\nkinds:\n" + DEFAULT_BODY, bad=bad)
    assert templates == {}  # all or none
    assert [str(e) for e in errors] == [
        "bad.yaml:1: crisis_type: unknown 'data_breech' (did you mean 'data_breach'?)",
        "bad.yaml:3: kinds.holding_statment: unknown 'holding_statment' (did you mean 'holding_statement'?)",
        "bad.yaml:9: kinds.customer_sms.zh-hans.body: unknown placeholder {whta} (did you mean {what}?)",
        "bad.yaml:10: kinds.customer_sms.en.footer: unknown 'footer' (use title, body)",
        "bad.yaml:10: kinds.customer_sms.en.body: braces do not match (expected '}' before end of string); "
        "write {{ and }} for a brace",
    ]


def test_both_languages_titles_and_a_complete_default_are_required():
    _, errors = check(default="crisis_type: default\nkinds:\n  full_statement:\n    en: {body: x}\n")
    messages = [str(e) for e in errors]
    assert (
        "default.yaml:3: kinds.full_statement.zh-hans: required: every template is given in zh-hans and en" in messages
    )
    assert "default.yaml:4: kinds.full_statement.en.title: required: this kind has a title or subject line" in messages
    assert any("the default templates must give every kind; missing: holding_statement" in m for m in messages)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x [1]\nb: *x\n", "YAML anchors are not allowed"),
        ("crisis_type: !!python/name:os.system default\n", "YAML tags are not allowed"),
        ("crisis_type: default\ncrisis_type: default\n", "duplicate key 'crisis_type' (first given on line 1)"),
        ("crisis_type: [\n", "not valid YAML"),
        ("x:" + " [" * 30 + "]" * 30 + "\n", "nested more than"),
    ],
)
def test_unsafe_or_broken_yaml_is_an_error_at_its_line(text, message):
    _, errors = check(default=text)
    assert any(message in str(e) for e in errors), errors


def test_the_command_exits_1_listing_errors(tmp_path, capsys):
    (tmp_path / "default.yaml").write_text("crisis_type: default\nkinds: {}\n")
    with pytest.raises(CommandError, match="1 error in 1 file"):
        call_command("check_statement_templates", str(tmp_path))
    assert "default.yaml:2: kinds: the default templates must give every kind" in capsys.readouterr().out


@pytest.mark.django_db
def test_every_built_in_draft_passes_the_linter(people, plan):
    """Filled from a complete, confirmed fact sheet, no template drafts a text the linter
    calls an error: the three elements are there, nobody else is blamed, nothing is
    promised without a date."""
    from crisisflow.statements import drafting, facts, lint
    from tests.statements import sheet, team_incident

    incident = team_incident(people)
    confirmed = sheet(
        who={"text": "Users who paid by card.", "confirmed": True, "by": "tech_security"},
        compensation={"text": "A 20 yuan voucher for every affected user.", "confirmed": True, "by": "legal"},
    )
    facts.save_fact_sheet(people.pr_lead, incident, confirmed, expected_version=0)
    refs = facts.fact_refs(incident)
    content = facts.sheet_content(incident)
    errors = []
    for crisis_type, by_kind in message_templates.load().items():
        incident.crisis_type = "" if crisis_type == "default" else crisis_type
        for kind in by_kind:
            for language in kinds.LANGUAGES:
                title, body = drafting.draft_text(incident, kind, language, content)
                for finding in lint.lint(body, language=language, kind=kind, title=title, facts=refs):
                    if finding.level == "error":
                        errors.append(f"{crisis_type} {kind} {language}: {finding.code}: {finding.message}")
    assert errors == [], "\n".join(errors)
