"""Setting up early warning in the web app: brands and products, data sources (a secret
shown once, rotation), series and rules of every kind, with refusals that name the
field; and posts typed in by hand. Duty commanders set up; analysts feed data in."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from crisisflow.people.models import RosterEntry
from crisisflow.watch.models import Brand, Post, Rule, Series, Source
from tests.conftest import make_user
from tests.watch_world import brand, rule, series, signed

pytestmark = pytest.mark.django_db

RULE = {
    "name": "Complaints above 50",
    "brand": "acme",
    "kind": "threshold",
    "series": "acme-complaints",
    "threshold_op": "above",
    "threshold_value": "50",
    "severity": "high",
    "crisis_type": "service_quality",
    "dedup_minutes": "1440",
    "cooldown_minutes": "60",
    "active": "on",
}


def errors(response) -> dict:
    return {name: list(messages) for name, messages in response.context["form"].errors.items()}


def test_a_duty_commander_adds_a_brand_and_a_series_and_fixes_the_brand_name(people, browse):
    client = browse(people.commander)
    assert client.get("/watch/setup/").status_code == 200
    added = client.post("/watch/setup/brands/", {"key": "acme", "name": "Acme Pay", "kind": "brand"})
    acme = Brand.objects.get(key="acme")
    assert added.status_code == 302 and added["Location"].endswith(f"#brand-{acme.pk}")
    made = client.post(
        "/watch/setup/series/",
        {
            "key": "acme-rating",
            "name": "App-store rating",
            "kind": "app_store_rating",
            "scope": "brand",
            "brand": "acme",
        },
    )
    assert made.status_code == 302
    one = Series.objects.get(key="acme-rating")
    assert (one.brand, one.kind, one.unit) == (acme, "app_store_rating", "stars")
    page = client.get(f"/watch/setup/brands/{acme.pk}/")
    assert 'value="Acme Pay"' in page.content.decode()
    assert '<input type="hidden" name="version" value="1" id="id_version">' in page.content.decode()
    edited = {"brand": acme.pk, "version": 1, "name": "Acme Payments", "kind": "product"}
    assert client.post("/watch/setup/brands/", edited).status_code == 302
    acme.refresh_from_db()
    assert (acme.name, acme.kind, acme.key, acme.version, acme.edited_by) == (
        "Acme Payments",
        "product",
        "acme",
        2,
        people.commander,
    )
    # The key providers send does not change.
    moved = client.post("/watch/setup/brands/", {**edited, "version": 2, "key": "other", "name": "X"})
    assert moved.status_code == 400
    assert errors(moved) == {"key": ["The key cannot change once made: providers send it."]}


def test_bad_setup_input_is_refused_naming_the_field(people, browse):
    client = browse(people.commander)
    brand()
    twice = client.post("/watch/setup/brands/", {"key": "acme", "name": "Again", "kind": "brand"})
    assert twice.status_code == 400 and list(errors(twice)) == ["key"]
    no_brand = client.post("/watch/setup/series/", {"key": "x-sales", "kind": "sales", "scope": "brand"})
    assert errors(no_brand) == {"brand": ["Choose the brand or product this series is about."]}
    not_posts = client.post(
        "/watch/setup/series/",
        {"key": "x-sales", "kind": "sales", "scope": "brand", "brand": "acme", "from_posts": "on"},
    )
    assert list(errors(not_posts)) == ["from_posts"]
    assert not Series.objects.exists()


def test_a_source_secret_is_shown_once_and_rotation_stops_the_old_one(people, browse):
    client = browse(people.commander)
    answer = client.post("/watch/setup/sources/", {"key": "radar", "name": "Opinion radar"})
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    secret = re.search(r'<code class="token-secret">([^<]+)</code>', answer.content.decode()).group(1)
    source = Source.objects.get(key="radar")
    assert source.secret == secret and len(secret) >= 40
    # Never shown again: not on the setup page, not on the source's page.
    assert secret not in client.get("/watch/setup/").content.decode()
    assert secret not in client.get(f"/watch/setup/sources/{source.pk}/").content.decode()
    series()
    batch = {"points": [{"series": "acme-complaints", "at": "2026-03-02T09:00:00Z", "value": 1}]}
    assert signed(APIClient(), batch, secret=secret).status_code == 200

    rotated = client.post("/watch/setup/sources/rotate/", {"source": source.pk, "version": 1})
    new = re.search(r'<code class="token-secret">([^<]+)</code>', rotated.content.decode()).group(1)
    assert new != secret
    assert signed(APIClient(), batch, secret=secret).status_code == 401
    assert signed(APIClient(), batch, secret=new).status_code == 200
    # Switched off: its batches are refused.
    switched = {"source": source.pk, "version": 2, "name": "Opinion radar", "active": ""}
    assert client.post("/watch/setup/sources/", switched).status_code == 302
    assert signed(APIClient(), batch, secret=new).status_code == 401
    assert Source.objects.get(pk=source.pk).version == 3


@pytest.mark.parametrize(
    "kind, fields, params",
    [
        ("threshold", {"threshold_op": "below", "threshold_value": "2.5"}, {"op": "below", "value": 2.5}),
        ("rate", {"rate_percent": "-30", "rate_window_minutes": "180"}, {"percent": -30.0, "window_minutes": 180}),
        ("spike", {"spike_z": "3"}, {"z": 3.0}),
        (
            "flag",
            {"flag_official_media": "on", "flag_min_reach": "1000000", "flag_window_minutes": "120"},
            {"official_media": True, "min_reach": 1_000_000, "negative_only": False, "window_minutes": 120},
        ),
    ],
)
def test_each_kind_of_rule_is_made_from_its_own_fields(people, browse, kind, fields, params):
    series()
    base = {k: v for k, v in RULE.items() if not k.startswith("threshold_")}
    response = browse(people.commander).post("/watch/setup/rules/", {**base, "kind": kind, **fields})
    assert response.status_code == 302, errors(response)
    made = Rule.objects.get()
    assert (made.kind, made.params, made.severity, made.crisis_type) == (kind, params, "high", "service_quality")
    assert made.series_id is (None if kind == "flag" else made.series_id) and made.created_by == people.commander


def test_a_composite_rule_combines_rules_of_its_brand_and_edits_keep_the_version(people, browse):
    complaints = series()
    first = rule("threshold", {"op": "above", "value": 50}, on=complaints)
    second = rule("spike", {"z": 3.0}, on=complaints)
    client = browse(people.commander)
    response = client.post(
        "/watch/setup/rules/",
        {
            **RULE,
            "name": "Both",
            "kind": "composite",
            "composite_mode": "all",
            "composite_rules": [first.pk, second.pk],
        },
    )
    assert response.status_code == 302, errors(response)
    both = Rule.objects.get(name="Both")
    assert both.params == {"all": [first.pk, second.pk]} and both.series is None
    page = client.get(f"/watch/setup/rules/{both.pk}/").content.decode()
    assert f'value="{first.pk}"' in page and "checked" in page
    # An edit made on a page read before someone else's change is refused.
    edit = {**RULE, "rule": first.pk, "version": first.version, "threshold_value": "70"}
    assert client.post("/watch/setup/rules/", edit).status_code == 302
    first.refresh_from_db()
    assert first.params["value"] == 70 and first.version == 2
    stale = client.post("/watch/setup/rules/", {**edit, "threshold_value": "90"})
    assert stale.status_code == 409
    assert "Someone else changed this rule" in stale.content.decode()


def test_rule_refusals_name_the_field_of_the_kind(people, browse):
    series()
    client = browse(people.commander)
    no_limit = client.post("/watch/setup/rules/", {**RULE, "threshold_value": ""})
    assert no_limit.status_code == 400
    assert errors(no_limit) == {"threshold_value": ["value: give a number."]}
    no_series = client.post("/watch/setup/rules/", {**RULE, "kind": "spike", "series": "", "spike_z": "3"})
    assert list(errors(no_series)) == ["series"]
    no_account = client.post("/watch/setup/rules/", {**RULE, "kind": "flag"})
    assert list(errors(no_account)) == ["flag_official_media"]
    long_window = client.post("/watch/setup/rules/", {**RULE, "dedup_minutes": "999999"})
    assert list(errors(long_window)) == ["dedup_minutes"]
    assert not Rule.objects.exists()


def test_only_duty_commanders_and_staff_set_up(people, browse):
    analyst = make_user("analyst", "analyst")
    brand()
    for who in (people.outsider, people.pr_lead, analyst):
        client = browse(who)
        assert client.get("/watch/setup/").status_code == 403
        assert client.post("/watch/setup/brands/", {"key": "x", "name": "X", "kind": "brand"}).status_code == 403
    assert Brand.objects.count() == 1
    RosterEntry.objects.filter(user=people.commander).delete()
    people.commander.is_staff = True
    people.commander.save()
    assert browse(people.commander).get("/watch/setup/").status_code == 200


# --- posts typed in by hand ----------------------------------------------------------------------


def test_an_analyst_types_in_a_post_which_is_classified_and_stored_once_per_address(people, browse):
    brand()
    analyst = make_user("analyst", "analyst")
    client = browse(analyst)
    post = {
        "url": "https://weibo.com/7",
        "brand": "acme",
        "platform": "weibo",
        "author": "人民日报",
        "reach": "150000000",
        "flag": "official_media",
        "at": "2026-03-02T09:00",
        "text": "支付宝数据泄露引发关注",
    }
    first = client.post("/watch/posts/", post)
    assert first.status_code == 200 and "The post was stored." in first.content.decode()
    stored = Post.objects.get()
    assert (stored.sentiment, stored.flag, stored.reach, stored.brand.key) == (
        "negative",
        "official_media",
        150_000_000,
        "acme",
    )
    again = client.post("/watch/posts/", {**post, "reach": "160000000"})
    assert "already stored; it was updated" in again.content.decode()
    assert Post.objects.get().reach == 160_000_000


def test_a_bad_post_is_refused_naming_the_field(people, browse):
    client = browse(people.commander)
    bad = client.post(
        "/watch/posts/", {"url": "weibo.com/7", "platform": "weibo", "at": "2026-03-02T09:00", "text": "x"}
    )
    assert bad.status_code == 400
    assert list(bad.context["post_form"].errors) == ["url"]
    assert browse(people.outsider).post("/watch/posts/", {"url": "https://x.example/1"}).status_code == 403
    assert not Post.objects.exists()
