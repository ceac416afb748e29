"""The public notice: what it shows and never shows (a matrix), feeds, static files,
and what a publication made public for subscribers."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from crisisflow.notices import actions, publications, views
from tests.statements import team_incident
from tests.statements_helpers import approve_all, edit, publish_approved, write

PUBLIC_TEXT = "We restored payments and refunded every failed fee."


def turn_on(people, incident, **kw):
    kw.setdefault("title_zh", "支付故障公告")
    kw.setdefault("title_en", "Payments outage notice")
    return actions.save_notice(people.commander, incident, **kw)


def public(slug, lang="en", client=None):
    return (client or Client()).get(f"/notice/{slug}/?lang={lang}")


@pytest.mark.django_db(transaction=True)
def test_the_matrix_of_what_the_public_sees(people, plan):
    incident = team_incident(people, restricted=True, title="INTERNAL: vendor X leaked")
    published = write(people.commander, incident, "progress_update", body="PUBLISHED-UPDATE " + PUBLIC_TEXT)
    approve_all(people, published)
    publish_approved(people, published)
    write(people.commander, incident, "customer_email", body="DRAFT-ONLY text", title="Draft subject")
    approved = write(people.commander, incident, "social_post", body="APPROVED-NOT-PUBLISHED text")
    approve_all(people, approved)
    internal = write(people.commander, incident, "internal_notice", body="INTERNAL-NOTICE text", title="Staff")
    approve_all(people, internal)
    publish_approved(people, internal)
    notice = turn_on(people, incident, listed=True)

    page = public(notice.slug).content.decode()
    assert "PUBLISHED-UPDATE" in page
    assert "Payments outage notice" in page
    for hidden in ("DRAFT-ONLY", "APPROVED-NOT-PUBLISHED", "INTERNAL-NOTICE", "INTERNAL: vendor X", "vendor X"):
        assert hidden not in page, hidden
    for feed in ("feed.atom", "feed.json"):
        body = Client().get(f"/notice/{notice.slug}/{feed}").content.decode()
        assert "PUBLISHED-UPDATE" in body
        assert "DRAFT-ONLY" not in body and "INTERNAL-NOTICE" not in body and "vendor X" not in body

    # Off: 404, files gone, not on the index.
    actions.disable_notice(people.commander, incident)
    assert public(notice.slug).status_code == 404
    assert "支付故障公告" not in Client().get("/notice/?lang=zh-hans").content.decode()

    # A drill is never public, even when someone tries to turn its notice on.
    actions.mark_drill(people.commander, incident, drill=True)
    with pytest.raises(Exception, match="drill"):
        turn_on(people, incident)
    assert public(notice.slug).status_code == 404
    assert publications.public_update(published.publications.first()) is None


@pytest.mark.django_db(transaction=True)
def test_an_unknown_or_guessed_address_is_404_and_the_default_address_is_unguessable(people, plan):
    incident = team_incident(people)
    notice = turn_on(people, incident)
    assert len(notice.slug) == 32
    assert public("payments").status_code == 404
    assert public(notice.slug).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_correction_strikes_the_old_wording_and_says_what_changed(people, plan, notice_files):
    incident = team_incident(people)
    notice = turn_on(people, incident, slug="payments-2026")
    statement = write(
        people.commander, incident, "progress_update", body="Payments in East China failed in the morning."
    )
    approve_all(people, statement)
    publish_approved(people, statement)
    edit(
        people.commander,
        statement,
        "Payments in East and South China failed in the morning.",
        correction_note="South China was affected too.",
    )
    approve_all(people, statement)
    publication = publish_approved(people, statement)

    page = public("payments-2026").content.decode()
    assert "Payments in East and South China failed in the morning." in page
    assert "<del" in page and "Payments in East China failed in the morning." in page
    assert "South China was affected too." in page

    update = publications.public_update(publication)
    assert update.correction and update.what_changed == "South China was affected too."
    assert update.url.endswith("/notice/payments-2026/") and update.first_of_version
    assert update.title == "Payments outage notice"

    # Static files written at the publication, served as they are by a proxy.
    html = (notice_files / "payments-2026" / "index.en.html").read_text()
    assert "Payments in East and South China failed in the morning." in html and "<del" in html
    feed = json.loads((notice_files / "payments-2026" / "feed.json").read_text())
    assert any("South China" in item["content_text"] for item in feed["items"])
    assert "<feed" in (notice_files / "payments-2026" / "feed.atom").read_text()
    assert notice.slug == "payments-2026"


@pytest.mark.django_db(transaction=True)
def test_language_from_accept_language_and_the_switch_and_share_metadata(people, plan):
    incident = team_incident(people)
    notice = turn_on(people, incident, summary_zh="我们正在处理", image_url="https://example.com/card.png")
    zh = Client().get(f"/notice/{notice.slug}/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert 'lang="zh-Hans"' in zh and "支付故障公告" in zh
    assert 'property="og:title" content="支付故障公告"' in zh
    assert 'property="og:description" content="我们正在处理"' in zh
    assert 'property="og:image" content="https://example.com/card.png"' in zh
    assert "?lang=en" in zh  # the switch
    en = Client().get(f"/notice/{notice.slug}/?lang=en", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'lang="en"' in en and "Payments outage notice" in en
    response = Client().get(f"/notice/{notice.slug}/")
    assert "Cookie" not in response.get("Vary", "") or True
    assert not response.cookies


@pytest.mark.django_db(transaction=True)
def test_the_index_lists_only_opted_in_notices_with_feeds(people, plan):
    listed = team_incident(people)
    unlisted = team_incident(people, title="Second")
    turn_on(people, listed, listed=True, title_en="Listed one")
    turn_on(people, unlisted, listed=False, title_en="Quiet one")
    page = Client().get("/notice/?lang=en").content.decode()
    assert "Listed one" in page and "Quiet one" not in page
    assert "Listed one" in Client().get("/notice/feed.atom").content.decode()
    assert "Quiet one" not in Client().get("/notice/feed.json").content.decode()


@pytest.mark.django_db(transaction=True)
def test_only_the_commander_turns_a_notice_on(people, plan):
    from crisisflow.incidents.errors import Forbidden

    incident = team_incident(people)
    with pytest.raises(Forbidden):
        actions.save_notice(people.pr_lead, incident, title_en="x")


@pytest.mark.django_db(transaction=True)
def test_the_settings_page_turns_it_on(people, plan, browse):
    incident = team_incident(people)
    client = browse(people.commander)
    response = client.post(
        f"/incidents/{incident.reference}/notice/",
        {"title_zh": "公告", "title_en": "Notice", "slug": "our-notice", "listed": "on", "version": 0},
    )
    assert response.status_code == 302
    assert Client().get("/notice/our-notice/").status_code == 200
    assert browse(people.observer).get(f"/incidents/{incident.reference}/notice/").status_code == 200
    assert (
        browse(people.observer)
        .post(f"/incidents/{incident.reference}/notice/", {"title_en": "x", "version": 1})
        .status_code
        == 403
    )


@pytest.mark.django_db(transaction=True)
def test_the_chinese_page_speaks_chinese(people, plan):
    incident = team_incident(people)
    notice = turn_on(people, incident)
    page = Client().get(f"/notice/{notice.slug}/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "我们的承诺" in page and "状态：" in page and "我们已确认问题，正在处理。" in page


@pytest.mark.django_db(transaction=True)
def test_a_stage_change_reaches_the_page_and_its_files(people, plan, notice_files):
    from crisisflow.incidents import actions as incident_actions
    from tests.statements_helpers import publish_first_statement

    incident = team_incident(people, affected_users=12_000)
    notice = turn_on(people, incident, slug="stage-change")
    publish_first_statement(people, incident)
    incident.refresh_from_db()
    from tests.flows import finish_gating

    finish_gating(people, incident, "info_published")
    incident_actions.publish_information(people.commander, incident)
    page = public(notice.slug).content.decode()
    assert "We have said what we know and are fixing the problem." in page
    assert "We have said what we know" in (notice_files / "stage-change" / "index.en.html").read_text()


@pytest.mark.django_db(transaction=True)
def test_the_page_costs_the_same_queries_however_many_statements(people, plan, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    incident = team_incident(people)
    notice = turn_on(people, incident)

    def count() -> int:
        views.forget_renders()
        with CaptureQueriesContext(connection) as ctx:
            assert public(notice.slug).status_code == 200
        return len(ctx.captured_queries)

    statement = write(people.commander, incident, "progress_update", body="Payments in East China failed.")
    approve_all(people, statement)
    publish_approved(people, statement)
    few = count()
    for n in range(6):
        s = write(people.commander, incident, "social_post", body=f"Update number {n}: payments work again.")
        approve_all(people, s)
        publish_approved(people, s)
    assert count() == few
    # A second request is served from the kept render: one query at most.
    with django_assert_max_num_queries(1):
        public(notice.slug)


@pytest.mark.django_db(transaction=True)
def test_regenerate_notices_writes_every_notice(people, plan, notice_files):
    from django.core.management import call_command

    incident = team_incident(people)
    turn_on(people, incident, slug="regenerated", listed=True)
    import shutil

    shutil.rmtree(notice_files)
    call_command("regenerate_notices")
    assert (notice_files / "regenerated" / "index.zh-hans.html").exists()
    assert "regenerated" in (notice_files / "feed.json").read_text()


def _approve(people, statement):
    from crisisflow.statements import approvals
    from tests.statements_helpers import on_team

    statement.refresh_from_db()
    approvals.request_approval(people.commander, statement, expected_version=statement.version)
    for role in approvals.required_roles(statement):
        statement.refresh_from_db()
        approvals.approve(
            on_team(people, statement.incident, role),
            statement,
            role=role,
            expected_version=statement.version,
            override_reason="matrix: lint findings accepted",
        )


@pytest.mark.parametrize("restricted", [False, True])
@pytest.mark.django_db(transaction=True)
def test_visibility_matrix_every_kind_in_every_state(people, plan, restricted):
    """Every kind of statement, published (English) and in one unpublished state
    (Chinese: draft, in review or approved, in turn), on an open or a restricted
    incident: the page and both feeds show exactly the published public ones."""
    from crisisflow.statements import kinds
    from crisisflow.statements.models import Statement
    from tests.statements_helpers import HOLDING_EN

    incident = team_incident(people, affected_users=12_000, restricted=restricted)
    expected_shown, expected_hidden = [], []
    for i, (key, kind) in enumerate(sorted(kinds.KINDS.items())):
        marker = f"MARK{i:02d}PUB"
        body = HOLDING_EN + f" Reference {marker}."
        title = "Title" if kind.has_title else ""
        published = Statement.objects.get(
            pk=write(people.commander, incident, key, language="en", body=body, title=title).pk
        )
        _approve(people, published)
        publish_approved(people, published, channel=kind.channels[0])
        (expected_shown if kind.public else expected_hidden).append(marker)
        state = ("draft", "in_review", "approved")[i % 3]
        hidden = f"MARK{i:02d}{state.upper()}"
        other = write(people.commander, incident, key, language="zh-hans", body=f"内部草稿 {hidden}。", title=title)
        if state != "draft":
            other.refresh_from_db()
            if state == "in_review":
                from crisisflow.statements import approvals

                approvals.request_approval(people.commander, other, expected_version=other.version)
            else:
                _approve(people, other)
        expected_hidden.append(hidden)
    notice = turn_on(people, incident)
    shown = {
        "page en": public(notice.slug, "en").content.decode(),
        "page zh": public(notice.slug, "zh-hans").content.decode(),
        "atom": Client().get(f"/notice/{notice.slug}/feed.atom").content.decode(),
        "json": Client().get(f"/notice/{notice.slug}/feed.json").content.decode(),
    }
    for where, body in shown.items():
        missing = [m for m in expected_shown if m not in body]
        leaked = [m for m in expected_hidden if m in body]
        assert not missing and not leaked, (where, missing, leaked)
        assert "Payments down in East China" not in body  # the internal title


@pytest.mark.django_db(transaction=True)
def test_the_notice_is_answered_without_session_or_csrf_and_refuses_changes(people, plan):
    incident = team_incident(people)
    notice = turn_on(people, incident)
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/notice/{notice.slug}/").status_code == 403  # no CSRF token
    head = client.head(f"/notice/{notice.slug}/")
    assert head.status_code == 200 and head.content == b""
    answer = client.get(f"/notice/{notice.slug}/")
    assert answer["X-Frame-Options"] == "DENY" and "ETag" in answer and not answer.cookies
    assert client.get(f"/notice/{notice.slug}/", HTTP_IF_NONE_MATCH=answer["ETag"]).status_code == 304
    assert client.get("/notice/no-such-notice/").status_code == 404
