"""Data in: signed batches from a provider, a CSV file, a value typed by hand.
Idempotent per (series, moment) and per post URL; a bad batch or file stores nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from crisisflow.watch.models import Point, Post, Series
from tests.conftest import T0
from tests.watch_world import brand, series, signed, source

pytestmark = pytest.mark.django_db

AT = "2026-03-02T09:00:00+08:00"


@pytest.fixture
def world(db):
    source()
    return series()


def batch(*values, key="acme-complaints", start_hour=1):
    return {
        "points": [
            {"series": key, "at": f"2026-03-02T{start_hour + i:02d}:00:00Z", "value": v} for i, v in enumerate(values)
        ]
    }


def test_a_signed_batch_is_stored_and_sending_it_again_changes_nothing(world):
    client = APIClient()
    first = signed(client, batch(10, 12, 11))
    assert first.status_code == 200, first.content
    assert first.json() == {"points": {"received": 3, "new": 3}, "posts": {"received": 0, "new": 0}}
    again = signed(client, batch(10, 12, 11))  # a retry, signed afresh
    assert again.status_code == 200, again.content
    assert again.json()["points"] == {"received": 3, "new": 0}
    assert Point.objects.filter(series=world).count() == 3
    world.refresh_from_db()
    assert world.points_count == 3
    assert world.last_value == 11
    assert world.last_at == datetime(2026, 3, 2, 3, tzinfo=UTC)


def test_a_corrected_value_replaces_the_old_one(world):
    client = APIClient()
    signed(client, batch(10))
    signed(client, batch(99))
    assert list(Point.objects.values_list("value", flat=True)) == [99]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"secret": "wrong"}, "does not match"),
        ({"key": "nobody"}, "Unknown or inactive source"),
        ({"stamp": int(time.time()) - 3600}, "more than 5 minutes"),
        ({"stamp": int(time.time()) + 3600}, "more than 5 minutes"),
    ],
)
def test_a_badly_signed_batch_is_refused_and_stores_nothing(world, change, message):
    response = signed(APIClient(), batch(10), **change)
    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert not Point.objects.exists()


def test_an_unsigned_batch_is_refused():
    response = APIClient().post("/api/watch/batches/", batch(10), format="json")
    assert response.status_code == 401
    assert "Sign the batch" in response.json()["detail"]


def test_a_tampered_body_does_not_match_its_signature(world):
    import json

    from crisisflow.watch.api import signature

    stamp = str(int(time.time()))
    sent = json.dumps(batch(10)).encode()
    response = APIClient().post(
        "/api/watch/batches/",
        json.dumps(batch(1000)).encode(),
        content_type="application/json",
        HTTP_X_CRISISFLOW_SOURCE="radar",
        HTTP_X_CRISISFLOW_TIMESTAMP=stamp,
        HTTP_X_CRISISFLOW_SIGNATURE=signature("s3cret-of-the-opinion-provider", stamp, sent),
    )
    assert response.status_code == 401


def test_a_replayed_request_is_refused(world):
    stamp = int(time.time())
    assert signed(APIClient(), batch(10), stamp=stamp).status_code == 200
    replay = signed(APIClient(), batch(10), stamp=stamp)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]


def test_one_bad_item_refuses_the_whole_batch_naming_every_bad_item(world):
    body = batch(10, 11)
    body["points"].append({"series": "nope", "at": AT, "value": 1})
    body["points"].append({"series": "acme-complaints", "at": "yesterday", "value": "many"})
    response = signed(APIClient(), body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["field"] == "points"
    assert answer["detail"] == "points[2].series: There is no series “nope”."
    assert [(p["index"], p["field"]) for p in answer["problems"]] == [(2, "series"), (3, "at"), (3, "value")]
    assert not Point.objects.exists()


def test_posts_are_classified_and_make_the_negative_share_series(world):
    share = series("acme-negative", kind="negative_share", from_posts=True)
    posts = [
        {
            "url": "https://weibo.com/1",
            "brand": "acme",
            "platform": "weibo",
            "author": "a",
            "reach": 10,
            "text": "支付宝又崩了，付款一直失败",
            "at": "2026-03-02T09:10:00Z",
        },
        {
            "url": "https://weibo.com/2",
            "brand": "acme",
            "platform": "weibo",
            "author": "b",
            "reach": 2_000_000,
            "flag": "kol",
            "text": "Support fixed it quickly, thanks",
            "at": "2026-03-02T09:20:00Z",
        },
        {
            "url": "https://news.example/3",
            "brand": "acme",
            "platform": "news",
            "author": "c",
            "reach": 5,
            "text": "Terrible outage, worst ever",
            "at": "2026-03-02T09:40:00Z",
            "language": "en",
        },
    ]
    response = signed(APIClient(), {"posts": posts})
    assert response.status_code == 200, response.content
    assert response.json()["posts"] == {"received": 3, "new": 3}
    assert dict(Post.objects.values_list("url", "sentiment")) == {
        "https://weibo.com/1": "negative",
        "https://weibo.com/2": "positive",
        "https://news.example/3": "negative",
    }
    point = Point.objects.get(series=share)
    assert point.at == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert point.value == pytest.approx(66.67)
    # The same URL again updates the post, it does not count twice.
    posts[1]["reach"] = 3_000_000
    again = signed(APIClient(), {"posts": posts[1:2]})
    assert again.json()["posts"] == {"received": 1, "new": 0}
    assert Post.objects.get(url="https://weibo.com/2").reach == 3_000_000
    assert Post.objects.count() == 3


def test_a_source_sending_too_many_batches_is_told_when_to_send_again(world, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "API_RATES": {"watch_batches": "3/min"}}
    source("backup-radar", secret="another secret")
    with time_machine.travel(T0 + timedelta(days=1), tick=False) as traveller:
        for hour in range(3):
            assert signed(APIClient(), batch(10, start_hour=hour)).status_code == 200
        traveller.shift(timedelta(seconds=20))
        refused = signed(APIClient(), batch(99, start_hour=5))
        assert refused.status_code == 429
        assert refused["Retry-After"] == "40"
        assert refused.json()["detail"] == (
            "Too many batches from the source “radar”: at most 3/min. "
            "Try again in 40 seconds, with the batch signed afresh."
        )
        assert Point.objects.count() == 3  # the refused batch was not read
        # Another source is counted on its own.
        other = signed(APIClient(), batch(7, start_hour=6), key="backup-radar", secret="another secret")
        assert other.status_code == 200
        traveller.shift(timedelta(seconds=41))
        assert signed(APIClient(), batch(99, start_hour=5)).status_code == 200
    assert Point.objects.count() == 5


# --- CSV upload and manual entry (the web app) -------------------------------------------------


def upload(client, text: str):
    return client.post("/watch/upload/", {"file": SimpleUploadedFile("points.csv", text.encode(), "text/csv")})


def test_a_csv_file_is_stored_whole(world, people, browse):
    client = browse(people.commander)
    response = upload(
        client, "series,at,value\nacme-complaints,2026-03-02T08:00:00Z,5\nacme-complaints,2026-03-02 09:00,7\n"
    )
    assert response.status_code == 200
    assert "Stored 2 points (2 new)" in response.content.decode()
    # A time without a zone is read in the uploader's zone (UTC by default here).
    assert sorted(Point.objects.values_list("value", flat=True)) == [5, 7]


def test_every_bad_line_of_a_csv_file_is_reported_and_nothing_is_stored(world, people, browse):
    client = browse(people.commander)
    text = (
        "series,at,value\n"
        "acme-complaints,2026-03-02T08:00:00Z,5\n"
        "acme-complaints,2026-03-02T09:00:00Z,lots\n"
        "\n"
        "missing,2026-03-02T10:00:00Z,1\n"
        "acme-complaints,2026-03-02T11:00:00Z\n"
    )
    response = upload(client, text)
    assert response.status_code == 400
    assert [line[:2] for line in response.context["csv_lines"]] == [(3, "value"), (5, "series"), (6, "line")]
    page = response.content.decode()
    assert "Line 3, value" in page and "Line 5, series" in page and "Line 6, line" in page
    assert not Point.objects.exists()


def test_a_csv_with_an_unknown_header_says_what_it_expects(world, people, browse):
    response = upload(browse(people.commander), "when,how many\n2026-03-02,4\n")
    assert response.status_code == 400
    assert response.context["csv_lines"][0][:2] == (1, "header")


def test_posts_come_in_by_csv_too(world, people, browse):
    text = "url,brand,platform,author,reach,flag,at,text\nhttps://weibo.com/9,acme,weibo,人民日报,150000000,official_media,2026-03-02T09:00:00Z,支付宝数据泄露引发关注\n"
    response = upload(browse(people.commander), text)
    assert response.status_code == 200
    post = Post.objects.get()
    assert (post.flag, post.reach, post.sentiment) == ("official_media", 150_000_000, "negative")


def test_a_value_typed_by_hand(world, people, browse):
    response = browse(people.commander).post(
        "/watch/points/", {"series": "acme-complaints", "at": "2026-03-02T09:00", "value": "3.5"}
    )
    assert response.status_code == 302
    assert Point.objects.get().value == 3.5


def test_only_commanders_and_analysts_feed_data_in(world, people, browse):
    assert upload(browse(people.outsider), "series,at,value\n").status_code == 403
    assert browse(people.outsider).get("/watch/").status_code == 200  # reading is for everyone


def test_a_series_of_another_scope_must_say_whose_it_is(db):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        Series.objects.create(key="x", kind="sales", scope="brand", brand=None)


def test_the_kinds_come_from_the_data_file(tmp_path):
    from crisisflow.watch import kinds

    assert {"complaints_per_hour", "negative_share", "app_store_rating", "uninstalls_per_day"} <= set(kinds.all_kinds())
    bad = tmp_path / "kinds.yaml"
    bad.write_text("- key: Bad Key\n  en: x\n  zh: y\n  unit: count\n")
    with pytest.raises(ValueError, match="entry 1: key 'Bad Key'"):
        kinds.load(bad)


def test_a_brand_is_needed_for_posts_about_it_only_if_named(world):
    brand("other", "Other")
    response = signed(
        APIClient(), {"posts": [{"url": "https://x.example/1", "brand": "ghost", "platform": "weibo", "at": AT}]}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "posts"
    assert response.json()["problems"][0]["field"] == "brand"
