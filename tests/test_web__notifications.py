"""Notifications as people see them: the unread badge in the header, the inbox at
/notifications/, marking read, and the incident page's delivery log and live clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crisisflow.alerts import inbox
from crisisflow.alerts.models import Channel, Notification, WebhookEndpoint
from crisisflow.alerts.sweep import sweep
from crisisflow.vocab import State
from tests.conftest import T0
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def incident(people, plan):
    """Assembled at T0 (high severity: first statement due T0 + 4 h). Legal review, due
    T0 + 3 h, belongs to `legal`, who also leads legal."""
    with time_machine.travel(T0, tick=False):
        return walk_to(people, report(people), State.TEAM_ASSEMBLED)


def sweep_at(*moments):
    for moment in moments:
        with time_machine.travel(moment, tick=False):
            sweep()


def in_app(user):
    """The person's inbox: what a digest carried is in it as the digest."""
    return Notification.objects.filter(recipient=user, channel=Channel.IN_APP).exclude(state="bundled")


def text_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def alerted(incident, people):
    """Legal review is due and then overdue; the golden clock is down to its last hour."""
    sweep_at(T0 + 3 * H, T0 + 3 * H + 31 * M)
    assert in_app(people.legal).count() >= 2
    return incident


# --- the badge in the header -----------------------------------------------------------------


def test_the_header_shows_the_unread_count_and_links_to_the_inbox(browse, alerted, people):
    unread = in_app(people.legal).count()
    html = text_of(browse(people.legal).get(reverse("incident-list")))
    badge = html[html.index('class="inbox-link') :]
    badge = badge[: badge.index("</a>")]
    assert f'href="{reverse("notifications")}"' in badge
    assert f"</span>{unread}</span>" in badge

    # Someone with nothing unread gets the link without a number.
    html = text_of(browse(people.outsider).get(reverse("incident-list")))
    assert 'class="inbox-link"' in html and "unread-count" not in html


def test_the_count_is_one_query_on_the_persons_unread_in_app_rows(alerted, people):
    with CaptureQueriesContext(connection) as queries:
        count = inbox.unread_count(people.legal)
    assert count == in_app(people.legal).filter(read_at__isnull=True).count() > 0
    assert len(queries) == 1


def test_a_page_asks_for_the_count_once(browse, alerted, people):
    client = browse(people.legal)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("notifications"))
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "alerts_notification" in q["sql"]]
    assert len(counts) == 1


# --- the inbox -------------------------------------------------------------------------------


def test_the_inbox_lists_ones_own_notifications_newest_first(browse, alerted, people):
    html = text_of(browse(people.legal).get(reverse("notifications")))
    mine = list(in_app(people.legal).order_by("-created_at", "-id"))
    positions = [html.index(f'id="n-{n.pk}"') for n in mine]
    assert positions == sorted(positions)
    others = Notification.objects.exclude(recipient=people.legal)
    assert others.exists()
    for n in others:
        assert f'id="n-{n.pk}"' not in html
    # The line says what happened, to which task, on which incident, and links there:
    # "due" came with a golden-clock warning in the same sweep, so as one digest.
    task = alerted.tasks.get(key="legal-review")
    assert "Legal review" in html and alerted.reference in html
    assert f'href="{reverse("incident-detail", args=[alerted.reference])}#task-{task.pk}"' in html
    assert 'class="inbox-item kind-digest unread"' in html
    assert 'class="inbox-item kind-clock_warning unread"' in html


def test_the_inbox_reads_in_the_persons_language(browse, alerted, people):
    html = text_of(browse(people.legal, language="zh-hans").get(reverse("notifications")))
    assert "【Legal review】" in html  # the task title in Chinese, from the plan
    assert "全部标为已读" in html  # "Mark all read"
    assert "Mark all read" not in html


def test_nobody_sees_anyone_elses_notifications_even_on_a_restricted_incident(browse, people, plan):
    with time_machine.travel(T0, tick=False):
        secret = walk_to(people, report(people, restricted=True, title="Quiet leak"), State.TEAM_ASSEMBLED)
    sweep_at(T0 + 3 * H)
    assert in_app(people.legal).filter(incident=secret).exists()
    html = text_of(browse(people.outsider).get(reverse("notifications")))
    assert "Quiet leak" not in html and secret.reference not in html
    assert inbox.inbox(people.outsider) == []


def test_an_empty_inbox_says_so(browse, people):
    html = text_of(browse(people.outsider).get(reverse("notifications")))
    assert "No notifications yet." in html
    assert "Mark all read" not in html


def test_the_inbox_needs_sign_in(client):
    response = client.get(reverse("notifications"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- marking read ----------------------------------------------------------------------------------


def test_mark_one_read(browse, alerted, people):
    client = browse(people.legal)
    first = in_app(people.legal).order_by("id").first()
    before = inbox.unread_count(people.legal)
    with time_machine.travel(T0 + 5 * H, tick=False):
        response = client.post(reverse("notification-read", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("notifications")
    first.refresh_from_db()
    assert first.read_at == T0 + 5 * H
    assert inbox.unread_count(people.legal) == before - 1

    # Reading it again keeps the first time.
    with time_machine.travel(T0 + 6 * H, tick=False):
        client.post(reverse("notification-read", args=[first.pk]))
    first.refresh_from_db()
    assert first.read_at == T0 + 5 * H
    html = text_of(client.get(reverse("notifications")))
    assert f'id="n-{first.pk}"' in html and 'class="inbox-item kind-' in html
    item = html[html.index(f'id="n-{first.pk}"') :]
    assert item.index("read 2026-03-02 22:00") < item.index("</li>")  # 14:00 UTC in Shanghai


def test_someone_elses_notification_is_a_404_and_stays_unread(browse, alerted, people):
    theirs = in_app(people.commander).first()
    assert theirs is not None
    response = browse(people.legal).post(reverse("notification-read", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert browse(people.legal).post(reverse("notification-read", args=[999_999])).status_code == 404


def test_marking_read_is_a_post(browse, alerted, people):
    mine = in_app(people.legal).first()
    assert browse(people.legal).get(reverse("notification-read", args=[mine.pk])).status_code == 405
    assert browse(people.legal).get(reverse("notifications-read-all")).status_code == 405


def test_mark_all_read_touches_only_ones_own(browse, alerted, people):
    commander_unread = inbox.unread_count(people.commander)
    assert commander_unread > 0
    with time_machine.travel(T0 + 5 * H, tick=False):
        response = browse(people.legal).post(reverse("notifications-read-all"))
    assert response.status_code == 302
    assert inbox.unread_count(people.legal) == 0
    assert set(in_app(people.legal).values_list("read_at", flat=True)) == {T0 + 5 * H}
    assert inbox.unread_count(people.commander) == commander_unread
    html = text_of(browse(people.legal).get(reverse("incident-list")))
    assert "unread-count" not in html


# --- the incident page: the delivery log ------------------------------------------------------------


def failed_rows(incident, people):
    """An escalation e-mail and a team webhook that could not be delivered."""
    endpoint = WebhookEndpoint.objects.create(name="Ops DingTalk", url="https://oapi.example/robot", format="dingtalk")
    task = incident.tasks.get(key="legal-review")
    common = dict(incident=incident, task=task, kind="escalation", rung="after_1800s_commander", due_at=T0 + 3 * H)
    email = Notification.objects.create(
        **common,
        source="task:test:1",
        channel=Channel.EMAIL,
        recipient=people.commander,
        target=f"user:{people.commander.pk}",
        state=Notification.State.FAILED,
        attempts=4,
        created_at=T0 + 3 * H + 30 * M,
        last_error="550 5.1.1 mailbox unavailable",
    )
    hook = Notification.objects.create(
        **common,
        source="task:test:1",
        channel=Channel.WEBHOOK,
        endpoint=endpoint,
        target=f"endpoint:{endpoint.pk}",
        state=Notification.State.PENDING,
        attempts=1,
        created_at=T0 + 3 * H + 30 * M,
        next_attempt_at=T0 + 3 * H + 31 * M,
        last_error="HTTP 502 from the bot",
    )
    return email, hook


def test_the_incident_page_shows_a_failed_delivery_and_its_error(browse, alerted, people):
    email, hook = failed_rows(alerted, people)
    with time_machine.travel(T0 + 4 * H, tick=False):
        html = text_of(browse(people.pr_member).get(reverse("incident-detail", args=[alerted.reference])))
    assert "1 notification could not be delivered" in html  # the banner at the top
    panel = html[html.index('id="notifications"') :]
    panel = panel[: panel.index("</section>")]
    row = panel[panel.index(f'id="notification-{email.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Escalation: overdue" in row and "Commander" in row and "E-mail" in row
    assert "failed:" in row and "550 5.1.1 mailbox unavailable" in row
    assert '<span class="d-label">Attempts</span> 4</td>' in row
    row = panel[panel.index(f'id="notification-{hook.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Ops DingTalk" in row and "waiting" in row and "HTTP 502 from the bot" in row
    # E-mail and webhooks come before the in-app rows.
    first_in_app = Notification.objects.filter(incident=alerted, channel=Channel.IN_APP).order_by("-created_at").first()
    assert panel.index(f'id="notification-{hook.pk}"') < panel.index(f'id="notification-{first_in_app.pk}"')
    assert panel.index(f'id="notification-{email.pk}"') < panel.index(f'id="notification-{hook.pk}"')  # failed on top
    assert "delivered at" in panel


def test_the_delivery_log_is_not_shown_to_those_who_cannot_see_the_incident(browse, people, plan):
    with time_machine.travel(T0, tick=False):
        secret = walk_to(people, report(people, restricted=True), State.TEAM_ASSEMBLED)
    failed_rows(secret, people)
    assert browse(people.outsider).get(reverse("incident-detail", args=[secret.reference])).status_code == 404


def test_an_incident_without_notifications_says_so(browse, incident, people):
    with time_machine.travel(T0, tick=False):
        html = text_of(browse(people.commander).get(reverse("incident-detail", args=[incident.reference])))
    assert "No notifications yet" in html
    assert "could not be delivered" not in html


# --- the incident page: the golden clock counts down -------------------------------------------------


def test_the_countdown_carries_its_deadline_and_server_text(browse, incident, people):
    url = reverse("incident-detail", args=[incident.reference])
    with time_machine.travel(T0 + 30 * M, tick=False):
        html = text_of(browse(people.commander).get(url))
    # 13:00 UTC, in the reader's zone (Asia/Shanghai); clock.js ticks from it.
    assert 'data-deadline="2026-03-02T21:00:00+08:00"' in html
    assert 'data-now="2026-03-02T17:30:00+08:00"' in html
    assert 'data-left="{t} left"' in html and 'data-overdue="Overdue by {t}"' in html
    assert "3\xa0hours, 30\xa0minutes left" in html  # what shows without JavaScript
    assert "crisisflow/clock.js" in html

    with time_machine.travel(T0 + 4 * H + 5 * M, tick=False):
        html = text_of(browse(people.commander).get(url))
    assert "Overdue by 5\xa0minutes" in html and "data-deadline=" in html


def test_a_decided_clock_no_longer_ticks(browse, people, plan):
    with time_machine.travel(T0, tick=False):
        incident = walk_to(people, report(people), State.INFO_PUBLISHED)
        html = text_of(browse(people.commander).get(reverse("incident-detail", args=[incident.reference])))
    assert "Met" in html
    # The only countdowns left are the open tasks' own, never the golden clock's.
    ticking = [tag for tag in html.split("<span ")[1:] if "data-deadline=" in tag]
    assert ticking and all('class="clock due-clock"' in tag for tag in ticking)


def test_the_countdown_phrases_come_translated(browse, incident, people):
    with time_machine.travel(T0, tick=False):
        html = text_of(
            browse(people.commander, language="zh-hans").get(reverse("incident-detail", args=[incident.reference]))
        )
    tag = html[html.index("data-left=") :]
    assert "{t}" in tag[: tag.index(">")]
    assert 'data-left="{t} left"' not in html
