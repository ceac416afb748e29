"""A notice as bytes: the page in each language, its Atom and JSON feeds, and the index
of listed notices — rendered once per change and kept, in memory and as static files
under CRISISFLOW["NOTICE_DIR"] that a reverse proxy or CDN serves while the app is down.

Layout of the folder (the proxy maps /notice/... onto it, README "Public notices"):

    index.zh-hans.html  index.en.html  feed.atom  feed.json     the index of listed notices
    <slug>/index.zh-hans.html  <slug>/index.en.html              one notice
    <slug>/feed.atom  <slug>/feed.json
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import feedgenerator, translation
from django.utils.translation import gettext as _

from crisisflow import clock
from crisisflow.conf import setting
from crisisflow.notices.content import LANGUAGES, NoticeContent, build, status_words
from crisisflow.notices.models import PublicNotice

log = logging.getLogger(__name__)
PAGE = "index.{language}.html"


def folder() -> Path:
    return Path(setting("NOTICE_DIR"))


def site() -> str:
    return settings.SITE_URL.rstrip("/")


def notice_path(slug: str) -> str:
    return f"/notice/{slug}/"


def page(content: NoticeContent) -> bytes:
    url = site() + notice_path(content.notice.slug)
    with translation.override(content.language):
        html = render_to_string(
            "notices/page.html",
            {
                "n": content,
                "url": url,
                "switch_url": f"{notice_path(content.notice.slug)}?lang={content.other_language}",
                "image": content.notice.image_url,
            },
        )
    return html.encode("utf-8")


def _entries(notice: PublicNotice) -> list[dict]:
    """One entry per published version of each statement, both languages, newest first."""
    entries = []
    for language in LANGUAGES:
        content = build(notice, language)
        if content is None:
            return []
        for s in content.statements:
            if s.language != language:
                continue
            entries.append(
                {
                    "id": f"{site()}{notice_path(notice.slug)}#s{s.id}v{s.version}",
                    "title": s.title or s.kind_label,
                    "body": s.body,
                    "language": s.language,
                    "published": s.first_published_at,
                    "updated": s.last_published_at,
                    "correction": bool(s.corrections),
                    "what_changed": s.corrections[-1].what_changed if s.corrections else "",
                    "url": f"{site()}{notice_path(notice.slug)}?lang={s.language}#s{s.id}",
                }
            )
    entries.sort(key=lambda e: e["updated"], reverse=True)
    return entries


def _feed_title(notice: PublicNotice) -> str:
    titles = [t for t in (notice.title_zh, notice.title_en) if t]
    return " / ".join(titles)


def atom(notice: PublicNotice, entries: list[dict] | None = None) -> bytes:
    entries = _entries(notice) if entries is None else entries
    url = site() + notice_path(notice.slug)
    feed = feedgenerator.Atom1Feed(
        title=_feed_title(notice),
        link=url,
        description="",
        feed_url=url + "feed.atom",
        id=url,
    )
    for e in entries:
        title = e["title"]
        if e["correction"]:
            title = f"{title} ({'更正' if e['language'].startswith('zh') else 'correction'})"
        feed.add_item(
            title=title,
            link=e["url"],
            description=e["body"] + (f"\n\n{e['what_changed']}" if e["what_changed"] else ""),
            unique_id=e["id"],
            pubdate=e["published"],
            updateddate=e["updated"],
        )
    return feed.writeString("utf-8").encode("utf-8")


def json_feed(notice: PublicNotice, entries: list[dict] | None = None) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    entries = _entries(notice) if entries is None else entries
    url = site() + notice_path(notice.slug)
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _feed_title(notice),
        "home_page_url": url,
        "feed_url": url + "feed.json",
        "items": [
            {
                "id": e["id"],
                "url": e["url"],
                "title": e["title"],
                "content_text": e["body"],
                "language": e["language"],
                "date_published": e["published"].isoformat(),
                "date_modified": e["updated"].isoformat(),
                "_crisisflow": {"correction": e["correction"], "what_changed": e["what_changed"]},
            }
            for e in entries
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


# --- the index of listed notices ----------------------------------------------------------------


def listed() -> list[PublicNotice]:
    return list(
        PublicNotice.objects.filter(enabled=True, listed=True, drill=False)
        .select_related("incident")
        .order_by("-updated_at", "-id")
    )


def index_page(language: str, notices: list[PublicNotice] | None = None) -> bytes:
    notices = listed() if notices is None else notices
    with translation.override(language):
        rows = [
            {
                "title": n.title(language),
                "url": notice_path(n.slug) + f"?lang={language}",
                "status": status_words(n.incident.state, language),
                "updated_at": n.updated_at,
            }
            for n in notices
        ]
        html = render_to_string(
            "notices/index.html",
            {
                "rows": rows,
                "language": language,
                "other_language": "en" if language == "zh-hans" else "zh-hans",
                "url": site() + "/notice/",
            },
        )
    return html.encode("utf-8")


def index_atom(notices: list[PublicNotice] | None = None) -> bytes:
    notices = listed() if notices is None else notices
    feed = feedgenerator.Atom1Feed(
        title=_("Public notices"), link=site() + "/notice/", description="", feed_url=site() + "/notice/feed.atom"
    )
    for n in notices:
        feed.add_item(
            title=_feed_title(n),
            link=site() + notice_path(n.slug),
            description=status_words(n.incident.state, "zh-hans") + " / " + status_words(n.incident.state, "en"),
            unique_id=site() + notice_path(n.slug),
            pubdate=n.enabled_at or clock.now(),
            updateddate=n.updated_at or n.enabled_at or clock.now(),
        )
    return feed.writeString("utf-8").encode("utf-8")


def index_json(notices: list[PublicNotice] | None = None) -> bytes:
    notices = listed() if notices is None else notices
    data = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": str(_("Public notices")),
        "home_page_url": site() + "/notice/",
        "feed_url": site() + "/notice/feed.json",
        "items": [
            {
                "id": site() + notice_path(n.slug),
                "url": site() + notice_path(n.slug),
                "title": _feed_title(n),
                "content_text": status_words(n.incident.state, "zh-hans")
                + " / "
                + status_words(n.incident.state, "en"),
                "date_modified": (n.updated_at or n.enabled_at or clock.now()).isoformat(),
            }
            for n in notices
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


# --- static files ----------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> None:
    """Replace `path` at once: a proxy reading it never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_notice(notice: PublicNotice) -> list[Path]:
    """Write the notice's files, or remove them when it must not be shown. The paths written."""
    target = folder() / notice.slug
    if not notice.shown:
        shutil.rmtree(target, ignore_errors=True)
        return []
    written = []
    for language in LANGUAGES:
        content = build(notice, language)
        path = target / PAGE.format(language=language)
        _write(path, page(content))
        written.append(path)
    entries = _entries(notice)
    for name, data in (("feed.atom", atom(notice, entries)), ("feed.json", json_feed(notice, entries))):
        _write(target / name, data)
        written.append(target / name)
    return written


def write_index() -> None:
    notices = listed()
    for language in LANGUAGES:
        _write(folder() / PAGE.format(language=language), index_page(language, notices))
    _write(folder() / "feed.atom", index_atom(notices))
    _write(folder() / "feed.json", index_json(notices))


def remove_notice_files(slug: str) -> None:
    if slug and "/" not in slug and slug not in (".", ".."):
        shutil.rmtree(folder() / slug, ignore_errors=True)
