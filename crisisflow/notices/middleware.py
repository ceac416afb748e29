"""Public notices answered before the rest of the stack.

A notice needs no session, user, CSRF token or language cookie, and under a viral spike
every microsecond per request counts: this middleware, placed right after the security
and static-file layers, answers GET and HEAD for /notice/… itself from the renders the
views keep, and hands every other request on untouched."""

from __future__ import annotations

import re

from django.http import Http404, HttpResponse

from crisisflow.notices import views

ROUTES = (
    (re.compile(r"^/notice/$"), views.index),
    (re.compile(r"^/notice/feed\.atom$"), views.index_atom),
    (re.compile(r"^/notice/feed\.json$"), views.index_json),
    (re.compile(r"^/notice/(?P<slug>[-a-zA-Z0-9_]+)/$"), views.notice_page),
    (re.compile(r"^/notice/(?P<slug>[-a-zA-Z0-9_]+)/feed\.atom$"), views.notice_atom),
    (re.compile(r"^/notice/(?P<slug>[-a-zA-Z0-9_]+)/feed\.json$"), views.notice_json),
)


class PublicNoticeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request) -> HttpResponse:
        path = request.path_info
        if request.method not in ("GET", "HEAD") or not path.startswith("/notice/"):
            # Anything else takes the usual way (CSRF refuses a post, the view a method).
            return self.get_response(request)
        for pattern, view in ROUTES:
            found = pattern.match(path)
            if found is None:
                continue
            try:
                response = view.__wrapped__(request, **found.groupdict())
            except Http404:
                return self.get_response(request)  # the site's own 404 page
            response["X-Frame-Options"] = "DENY"
            if request.method == "HEAD":
                length = response.get("Content-Length")
                response.content = b""
                if length:
                    response["Content-Length"] = length
            return response
        return self.get_response(request)
