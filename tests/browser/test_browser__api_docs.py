"""The API docs page in a real browser: Swagger UI renders every operation from files this
site serves, with no request leaving the machine, under a strict Content-Security-Policy
(no inline script or style, nothing from elsewhere)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What a site could send at its strictest and still have the docs page work.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def test_the_docs_page_renders_offline_under_a_strict_csp(signed_in, live_server):
    commander = make_user("commander", "commander")
    page = signed_in(commander)
    site = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    violations: list[str] = []

    def route(request_route):
        request = request_route.request
        if urlsplit(request.url).netloc != site:
            elsewhere.append(request.url)
            request_route.abort()
            return
        response = request_route.fetch()
        headers = dict(response.headers)
        if request.resource_type == "document":
            headers["content-security-policy"] = STRICT_CSP
        request_route.fulfill(response=response, headers=headers)

    page.route("**/*", route)
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(live_server.url + "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CrisisFlow API")
    # Every operation of the schema is listed (one block per method and path).
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 30
    expect(page.locator(".opblock-summary-path", has_text="/api/incidents/{reference}/evidence/").first).to_be_visible()
    assert elsewhere == []
    assert violations == []
