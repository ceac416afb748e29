"""Headless Chromium for the browser tests (Debian's, not a Playwright download)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture(scope="package")
def chromium():
    """The browser, one for all the browser tests (tests/browser/): each test opens
    contexts of its own (cookies, storage), so a launch per module would only cost time.
    The browser tests run one after another, on one worker of a parallel run.

    Playwright's sync API keeps an asyncio loop running in this thread while it is
    alive, so Django would refuse the tests' own ORM calls (and the test database's
    setup and teardown) as "async unsafe". They are plain synchronous code, so the check
    is switched off — only while the browser lives, which is why this is not session-wide.
    """
    executable = os.environ.get("CRISISFLOW_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        pytest.skip(f"no Chromium at {executable} (set CRISISFLOW_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser tab at desktop size, in its own context (cookies, storage)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def signed_in(chromium, live_server):
    """Open a tab already signed in as `user`, each in a context of its own: another
    person's browser. A session made by the test client stands in for the login form."""
    from django.conf import settings
    from django.test import Client

    contexts = []

    def open_as(user, language: str = "en", viewport: dict | None = None):
        client = Client()
        client.force_login(user)
        context = chromium.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale="en-US")
        context.set_default_timeout(15_000)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                },
                {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
            ]
        )
        contexts.append(context)
        return context.new_page()

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
