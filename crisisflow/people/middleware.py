from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.utils import timezone, translation


class UserLanguageAndTimezoneMiddleware:
    """Show each signed-in person the app in their own language and time zone.

    Times are stored in UTC; only their display follows the person.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            # An explicit choice wins over the profile: the language switch (a cookie) in
            # the web app, an Accept-Language header on the API.
            explicit = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or (
                request.path.startswith("/api/") and request.META.get("HTTP_ACCEPT_LANGUAGE")
            )
            if not explicit:
                translation.activate(user.language)
                request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        timezone.deactivate()
        return response
