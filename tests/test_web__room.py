"""The incident room: the timeline's filters and pages, task comments, the team's contacts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from crisisflow.incidents import actions, permissions, timeline
from crisisflow.incidents.errors import Forbidden, Invalid, NotFound
from crisisflow.incidents.models import Event, Incident, Task
from crisisflow.vocab import State
from crisisflow.web import room
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan) -> Incident:
    """Reported by customer service, team assembled (commander, PR lead, legal), an observer."""
    incident = walk_to(people, report(people), State.TEAM_ASSEMBLED)
    actions.add_team_member(people.commander, incident, people.observer, "observer")
    return incident


def page(incident: Incident, **params) -> str:
    url = reverse("incident-detail", args=[incident.reference])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def feed(html: str) -> str:
    start = html.index('id="timeline-feed"')
    return html[start : html.index("</ol>", start)]


def lines(html: str) -> list[str]:
    return re.findall(r'<p class="line">(.*?)</p>', feed(html), re.S)


def task(incident: Incident, key: str) -> Task:
    return incident.tasks.get(key=key)


def task_card(html: str, task: Task) -> str:
    start = html.index(f'id="task-{task.pk}"')
    return html[start : html.index("</article>", start)]


# --- the timeline: newest first, in pages -----------------------------------------------------------


def test_the_timeline_comes_in_pages_newest_first(browse, people, plan, monkeypatch):
    monkeypatch.setattr(room, "PAGE_SIZE", 5)
    incident = report(people)
    for n in range(1, 13):
        actions.add_note(people.commander, incident, f"update {n}")
    client = browse(people.commander)

    first = client.get(page(incident)).content.decode()
    assert lines(first) == ["update 12", "update 11", "update 10", "update 9", "update 8"]
    older = re.search(r'<a class="button small" rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert older == page(incident, before=incident.events.get(data__text="update 8").seq) + "#timeline"

    second = client.get(older).content.decode()
    assert lines(second) == ["update 7", "update 6", "update 5", "update 4", "update 3"]
    assert "Back to the newest" in second
    older = re.search(r'rel="next" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    third = client.get(older).content.decode()
    assert lines(third) == ["update 2", "update 1", "Reported “Payments down in East China”"]
    assert 'rel="next"' not in third


def test_the_timeline_filters_by_kind(browse, people, incident):
    actions.add_note(people.pr_lead, incident, "Vendor called back")
    actions.add_task_comment(people.legal, task(incident, "legal-review"), "Draft is with outside counsel")
    client = browse(people.commander)

    notes = client.get(page(incident, kind="notes")).content.decode()
    assert lines(notes) == ["Vendor called back"]
    comments = client.get(page(incident, kind="comments")).content.decode()
    assert lines(comments) == ["On “Legal review”: Draft is with outside counsel"]
    stages = lines(client.get(page(incident, kind="stage")).content.decode())
    assert stages[0].startswith("Plan activated → Team assembled")
    assert stages[-1] == "Reported “Payments down in East China”"
    assert len(stages) == 4
    assert "Filtered." in notes and "Show everything" in notes
    assert '<option value="notes" selected>Notes</option>' in notes


def test_the_timeline_filters_by_person_and_by_the_system(browse, people, incident):
    actions.add_note(people.pr_lead, incident, "PR here")
    locked = Incident.objects.get(pk=incident.pk)
    timeline.record(
        locked,
        None,
        Event.Kind.ALERT,
        {
            "alert": "reminder",
            "task_title": {"en": "Legal review", "zh": "法务审核"},
            "recipients": ["Legal"],
            "channels": ["in_app"],
        },
    )
    client = browse(people.commander)
    mine = lines(client.get(page(incident, person=people.pr_lead.pk)).content.decode())
    assert mine == ["PR here"]
    system = lines(client.get(page(incident, person="system")).content.decode())
    assert system == ["Reminder: “Legal review” → Legal (in the app)"]
    html = client.get(page(incident)).content.decode()
    start = html.index('<select name="person"')
    picker = html[start : html.index("</select>", start)]
    # Everyone who wrote on the timeline can be picked, each once; nobody else.
    assert picker.count(f'<option value="{people.pr_lead.pk}"') == 1
    assert picker.count(f'<option value="{people.cs.pk}"') == 1  # the reporter
    assert f'<option value="{people.observer.pk}"' not in picker


def test_unknown_filter_values_show_everything(browse, people, incident):
    client = browse(people.commander)
    everything = lines(client.get(page(incident)).content.decode())
    odd = client.get(page(incident, kind="bogus", person="nobody", before="-3"))
    assert odd.status_code == 200
    assert lines(odd.content.decode()) == everything


def test_with_htmx_only_the_timeline_is_sent(browse, people, incident):
    actions.add_note(people.commander, incident, "Only notes please")
    client = browse(people.commander)
    url = reverse("incident-timeline", args=[incident.reference]) + "?kind=notes"
    response = client.get(url, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="timeline-feed"')
    assert "<html" not in html and 'id="tasks"' not in html
    assert lines(html) == ["Only notes please"]
    assert "HX-Request" in response["Vary"]
    # A reload of the pushed URL, or a browser without JavaScript, gets the whole page.
    plain = client.get(url)
    assert plain.status_code == 302
    assert plain["Location"] == page(incident, kind="notes") + "#timeline"


def test_the_filter_form_works_without_javascript(browse, people, incident):
    html = browse(people.commander).get(page(incident)).content.decode()
    form = html[
        html.index('class="timeline-filter"') - 200 : html.index("</form>", html.index('class="timeline-filter"'))
    ]
    assert f'method="get" action="{page(incident)}#timeline"' in form
    assert '<label for="timeline-kind">Show</label>' in form
    assert '<label for="timeline-person">Written by</label>' in form
    assert '<button type="submit"' in form
    assert f'hx-get="{reverse("incident-timeline", args=[incident.reference])}"' in form


def test_outsiders_cannot_read_a_restricted_timeline(browse, people, plan):
    secret = actions.report_incident(people.commander, title="Quiet leak", restricted=True)
    url = reverse("incident-timeline", args=[secret.reference])
    assert browse(people.outsider).get(url, headers={"HX-Request": "true"}).status_code == 404


# --- task comments ------------------------------------------------------------------------------------


def test_a_comment_is_one_timeline_event_carrying_the_task(people, incident):
    review = task(incident, "legal-review")
    version = review.version
    event = actions.add_task_comment(people.legal, review, "  Waiting for the contract clause  ")
    assert (event.kind, event.task, event.actor) == (Event.Kind.COMMENT, review, people.legal)
    assert event.data["text"] == "Waiting for the contract clause"
    assert timeline.describe(event) == "On “Legal review”: Waiting for the contract clause"
    review.refresh_from_db()
    assert review.version == version  # a comment changes nothing on the task: no stale forms
    assert timeline.verify(incident) is None


def test_who_may_comment_is_who_may_post_notes(people, incident, plan):
    review = task(incident, "legal-review")
    for person in (people.commander, people.pr_lead, people.legal, people.cs):  # cs reported it
        actions.add_task_comment(person, review, f"from {person}")
    with pytest.raises(Forbidden, match="Only the team can comment on tasks."):
        actions.add_task_comment(people.observer, review, "watching")
    with pytest.raises(Forbidden):
        actions.add_task_comment(people.outsider, review, "hello")
    secret = walk_to(people, report(people, restricted=True), State.TEAM_ASSEMBLED)
    with pytest.raises(NotFound):
        actions.add_task_comment(people.outsider, secret.tasks.first(), "hello")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("   ", "Write something first."),
        ("x" * 10_001, "Keep a comment under 10000 characters."),
        ("bad\x00byte", "The text contains a NUL character."),
        (42, "Give text here."),
    ],
)
def test_a_comment_needs_real_text(people, incident, text, message):
    with pytest.raises(Invalid) as refused:
        actions.add_task_comment(people.legal, task(incident, "legal-review"), text)
    assert (str(refused.value), refused.value.field) == (message, "text")


def test_comments_show_under_their_task_and_on_the_timeline_as_text(browse, people, incident):
    review = task(incident, "legal-review")
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    client = browse(people.legal)
    response = client.post(reverse("task-comment", args=[incident.reference, review.pk]), {"text": payload})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#task-{review.pk}")

    html = client.get(page(incident)).content.decode()
    card = task_card(html, review)
    escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"
    assert escaped in card and "1 comment" in card and "Legal" in card
    assert escaped in feed(html)
    assert "<script>alert(2)" not in html and "<img src=x" not in html
    assert f'href="#task-{review.pk}">Go to the task</a>' in feed(html)
    other = task_card(html, task(incident, "holding-statement"))
    assert "alert(2)" not in other


def test_a_refused_comment_comes_back_to_its_task_with_the_reason(browse, people, incident):
    review = task(incident, "legal-review")
    client = browse(people.legal)
    response = client.post(reverse("task-comment", args=[incident.reference, review.pk]), {"text": " "})
    assert response.status_code == 400
    card = task_card(response.content.decode(), review)
    assert '<details class="comment-box" open>' in card
    assert "Write something first." in card
    assert 'aria-invalid="true"' in card


def test_observers_see_comments_but_no_comment_box(browse, people, incident):
    review = task(incident, "legal-review")
    actions.add_task_comment(people.legal, review, "Seen by all")
    client = browse(people.observer)
    card = task_card(client.get(page(incident)).content.decode(), review)
    assert "Seen by all" in card and "comment-box" not in card
    response = client.post(reverse("task-comment", args=[incident.reference, review.pk]), {"text": "hi"})
    assert response.status_code == 403


# --- the team: roles, leads, contacts ----------------------------------------------------------------


def team_panel(html: str) -> str:
    start = html.index('id="team"')
    return html[start : html.index("</section>", start)]


def test_the_team_panel_shows_leads_and_how_to_reach_them(browse, people, incident):
    people.pr_lead.phone = "+86 138-0000 0000"
    people.pr_lead.email = "pr.lead@example.com"
    people.pr_lead.save()
    panel = team_panel(browse(people.observer).get(page(incident)).content.decode())
    assert 'href="tel:+8613800000000"' in panel and "+86 138-0000 0000" in panel
    assert 'href="mailto:pr.lead@example.com"' in panel
    pr = panel[panel.index("<span>PR</span>") : panel.index("<span>Legal</span>")]
    assert "Prlead" in pr and "★ lead" in pr and "✓ filled" in pr
    assert "no phone or e-mail on file" in panel  # legal has neither


def test_a_role_short_of_people_says_how_many_it_needs(browse, people, plan):
    incident = walk_to(people, report(people), State.PLAN_ACTIVATED)  # no team accepted yet
    panel = team_panel(browse(people.commander).get(page(incident)).content.decode())
    legal = panel[panel.index("<span>Legal</span>") :]
    assert "⚠ needs 1 more" in legal[: legal.index("</h3>")]
    assert "Proposed: Legal" in legal


def test_contacts_are_text_and_links_cannot_be_bent(browse, people, incident):
    people.legal.phone = '"><script>alert(1)</script>'
    people.legal.email = "x@example.com?subject=<b>"
    people.legal.save()
    panel = team_panel(browse(people.commander).get(page(incident)).content.decode())
    assert "<script>alert(1)" not in panel and "&lt;script&gt;alert(1)" in panel
    assert 'href="tel:1"' in panel  # only the dialable part of it
    assert "<b>" not in panel


# --- one permission read for all tasks -----------------------------------------------------------------


def test_task_rights_read_once_agree_with_the_permission_rules(people, incident):
    actions.assign_task(people.commander, task(incident, "holding-statement"), people.pr_lead)
    everyone = [
        people.commander,
        people.pr_lead,
        people.pr_member,
        people.legal,
        people.cs,
        people.observer,
        people.outsider,
    ]
    for person in everyone:
        rights = permissions.TaskRights(person, incident)
        for t in incident.tasks.all():
            t.incident = incident
            assert rights.manages(t) == permissions.manages_task(person, t), (person, t)
            assert rights.works(t) == permissions.works_task(person, t), (person, t)
