"""Hand over command from the incident room: the commander picks a team member or a duty
commander; the new commander runs the incident from then on."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crisisflow.incidents import actions
from crisisflow.incidents.models import Event, Incident
from crisisflow.vocab import State
from tests.conftest import make_user
from tests.flows import report, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(people, plan) -> Incident:
    return walk_to(people, report(people), State.TEAM_ASSEMBLED)


def page(incident: Incident) -> str:
    return reverse("incident-detail", args=[incident.reference])


def hand_over(client, incident: Incident, person, version=None):
    url = reverse("hand-over", args=[incident.reference])
    return client.post(url, {"commander": person.pk, "version": incident.version if version is None else version})


def test_the_commander_sees_the_form_with_team_members_and_duty_commanders(browse, people, incident):
    deputy = make_user("deputy", "commander")
    html = browse(people.commander).get(page(incident)).content.decode()
    form = html[html.index('action="' + reverse("hand-over", args=[incident.reference])) :]
    form = form[: form.index("</form>")]
    assert f'<option value="{deputy.pk}">' in form  # on the commander roster
    assert f'<option value="{people.legal.pk}">' in form  # on the team
    assert f'<option value="{people.commander.pk}">' not in form  # not to oneself
    assert f'<option value="{people.outsider.pk}">' not in form
    assert "Hand over command" not in browse(people.legal).get(page(incident)).content.decode()


def test_handing_over_makes_the_deputy_commander(browse, people, incident):
    deputy = make_user("deputy", "commander")
    response = hand_over(browse(people.commander), incident, deputy)
    assert response.status_code == 302 and response["Location"] == page(incident) + "#team"
    incident.refresh_from_db()
    assert incident.commander == deputy
    assert incident.events.filter(kind=Event.Kind.COMMANDER).exists()
    # The form is the deputy's now.
    assert "Hand over command" in browse(deputy).get(page(incident)).content.decode()
    assert "Hand over command" not in browse(people.commander).get(page(incident)).content.decode()


def test_someone_not_on_the_commander_roster_is_refused_next_to_the_field(browse, people, incident):
    response = hand_over(browse(people.commander), incident, people.legal)
    assert response.status_code == 400
    assert "is not on the commander roster" in response.content.decode()
    incident.refresh_from_db()
    assert incident.commander == people.commander


def test_a_stale_form_is_refused_and_changes_nothing(browse, people, incident):
    deputy = make_user("deputy", "commander")
    seen = incident.version
    actions.add_team_member(people.commander, incident.pk, people.cs, "customer_service")
    response = hand_over(browse(people.commander), incident, deputy, version=seen)
    assert response.status_code == 409
    incident.refresh_from_db()
    assert incident.commander == people.commander


def test_only_the_commander_may_hand_over(browse, people, incident):
    deputy = make_user("deputy", "commander")
    assert hand_over(browse(people.legal), incident, deputy).status_code == 403
    assert hand_over(browse(people.outsider), incident, deputy).status_code == 403
    incident.refresh_from_db()
    assert incident.commander == people.commander
