"""Public notices answered before the rest of the stack.

A notice needs no session, user, CSRF token or language cookie. Most requests for one
are answered even earlier, from memory, by crisisflow.notices.serving.FastPath around
the WSGI application; those that reach Django (the first request for a page, a stamp
to renew, the test client) are answered here, right after the security and static-file
layers, and every other request is handed on untouched."""

from __future__ import annotations

from django.http import Http404, HttpResponse

from crisisflow.notices import serving


class PublicNoticeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or not request.path_info.startswith("/notice/"):
            # Anything else takes the usual way (CSRF refuses a post, the view a method).
            return self.get_response(request)
        try:
            found = serving.answer(serving.Request.of(request))
        except Http404:
            return self.get_response(request)  # the site's own 404 page
        if found is None:
            return self.get_response(request)
        return serving.http_response(found)
