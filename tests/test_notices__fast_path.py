"""Public notices answered from memory before Django (crisisflow.notices.serving.FastPath,
around the WSGI application as gunicorn runs it): the same answers as through Django,
no database, conditional requests, and nothing shown once a notice is off or a drill."""

from __future__ import annotations

import io
import sys
import time

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crisisflow.notices import actions
from crisisflow.notices.serving import FastPath
from tests.statements import team_incident
from tests.statements_helpers import publish_first_statement

HEADERS = (
    "Content-Type",
    "Content-Length",
    "ETag",
    "Last-Modified",
    "Cache-Control",
    "Vary",
    "Content-Language",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
)


class Server:
    """The WSGI application as gunicorn calls it, counting what reaches Django."""

    def __init__(self):
        self.reached_django = 0
        django = WSGIHandler()

        def counted(environ, start_response):
            self.reached_django += 1
            return django(environ, start_response)

        self.app = FastPath(counted)

    def get(self, path: str, method: str = "GET", **headers) -> tuple[int, dict, bytes]:
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "testserver",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **{"HTTP_" + name.upper(): value for name, value in headers.items()},
        }
        answer = {}

        def start_response(status, response_headers, exc_info=None):
            answer["status"] = int(status.split()[0])
            answer["headers"] = dict(response_headers)

        chunks = self.app(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return answer["status"], answer["headers"], body


@pytest.fixture
def server(settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "NOTICE_STAMP_SECONDS": 60}
    return Server()


def turn_on(people, incident, **kw):
    return actions.save_notice(
        people.commander, incident, title_zh="支付故障公告", title_en="Payments outage notice", **kw
    )


@pytest.mark.django_db(transaction=True)
def test_a_second_reader_is_answered_from_memory_with_the_same_answer(people, plan, server):
    incident = team_incident(people)
    publish_first_statement(people, incident)
    notice = turn_on(people, incident, slug="fast-path")

    first = server.get("/notice/fast-path/", accept_language="en-GB,en;q=0.9")
    assert server.reached_django == 1
    with CaptureQueriesContext(connection) as queries:
        again = server.get("/notice/fast-path/", accept_language="en-GB,en;q=0.9")
    assert server.reached_django == 1 and len(queries) == 0
    assert first[0] == again[0] == 200 and first[2] == again[2]
    assert {h: first[1].get(h) for h in HEADERS} == {h: again[1].get(h) for h in HEADERS}
    assert again[1]["Content-Language"] == "en" and again[1]["Vary"] == "Accept-Language"
    assert again[1]["Cache-Control"].startswith("public") and "Set-Cookie" not in again[1]
    assert int(again[1]["Content-Length"]) == len(again[2]) and b"Payments outage notice" in again[2]

    # The other language is a page of its own; the switch wins over the browser.
    server.get(f"/notice/{notice.slug}/?lang=zh-hans", accept_language="en")
    status, headers, body = server.get(f"/notice/{notice.slug}/?lang=zh-hans", accept_language="en")
    assert server.reached_django == 2 and headers["Content-Language"] == "zh-hans" and "支付故障公告" in body.decode()

    # HEAD: the headers of the page, no body.
    status, headers, body = server.get("/notice/fast-path/", method="HEAD", accept_language="en")
    assert status == 200 and body == b"" and headers["Content-Length"] == first[1]["Content-Length"]
    assert server.reached_django == 2

    # Feeds and the index are kept the same way.
    for path in ("/notice/fast-path/feed.atom", "/notice/fast-path/feed.json", "/notice/", "/notice/feed.json"):
        server.get(path)
        before = server.reached_django
        assert server.get(path)[0] == 200 and server.reached_django == before, path


@pytest.mark.django_db(transaction=True)
def test_conditional_requests_are_answered_304_from_memory(people, plan, server):
    incident = team_incident(people)
    turn_on(people, incident, slug="conditional")
    status, headers, _ = server.get("/notice/conditional/")
    etag, modified = headers["ETag"], headers["Last-Modified"]

    for condition in (
        {"if_none_match": etag},
        {"if_none_match": f'"other", W/{etag}'},  # a list, compared weakly (a proxy may weaken it)
        {"if_none_match": "*"},
        {"if_modified_since": modified},
    ):
        status, headers, body = server.get("/notice/conditional/", **condition)
        assert status == 304 and body == b"", condition
        assert headers["ETag"] == etag and headers["Vary"] == "Accept-Language" and "Content-Type" not in headers
    assert server.reached_django == 1

    assert server.get("/notice/conditional/", if_none_match='"something-else"')[0] == 200
    # If-None-Match decides when both are sent.
    assert server.get("/notice/conditional/", if_none_match='"else"', if_modified_since=modified)[0] == 200
    assert server.get("/notice/conditional/", if_modified_since="Thu, 01 Jan 2015 00:00:00 GMT")[0] == 200


@pytest.mark.django_db(transaction=True)
def test_a_notice_turned_off_or_a_drill_is_not_answered_from_memory(people, plan, server, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "NOTICE_STAMP_SECONDS": 0.2}
    off = team_incident(people)
    notice = turn_on(people, off, slug="turned-off")
    drill = team_incident(people)
    turn_on(people, drill, slug="a-drill")
    for path in ("/notice/turned-off/", "/notice/a-drill/"):
        server.get(path)
        assert server.get(path)[0] == 200

    actions.disable_notice(people.commander, off, expected_version=notice.version)
    actions.mark_drill(people.commander, drill)
    for path in ("/notice/turned-off/", "/notice/a-drill/", "/notice/turned-off/feed.json"):
        deadline = time.monotonic() + 10  # the stamp is trusted for 0.2 s
        while server.get(path)[0] != 404:
            assert time.monotonic() < deadline, path
            time.sleep(0.05)
    # Unknown addresses and anything but GET and HEAD go to Django.
    before = server.reached_django
    assert server.get("/notice/never-was/")[0] == 404
    assert server.get("/notice/a-drill/", method="POST")[0] == 403  # CSRF, as before
    assert server.reached_django == before + 2


@pytest.mark.django_db(transaction=True)
def test_plain_http_is_redirected_and_https_gets_the_security_headers(people, plan, settings):
    settings.CRISISFLOW = {**settings.CRISISFLOW, "NOTICE_STAMP_SECONDS": 60}
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    server = Server()  # Django's security middleware reads its settings when it is made
    incident = team_incident(people)
    turn_on(people, incident, slug="secure")
    assert server.get("/notice/secure/", x_forwarded_proto="https")[0] == 200  # kept now
    before = server.reached_django
    status, headers, _ = server.get("/notice/secure/")
    assert status == 301 and headers["Location"].startswith("https://") and server.reached_django == before + 1
    status, headers, _ = server.get("/notice/secure/", x_forwarded_proto="https")
    assert status == 200 and server.reached_django == before + 1
    assert headers["Strict-Transport-Security"].startswith("max-age=3600")
