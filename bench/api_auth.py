"""What authenticating an API request costs: a password (basic) against a token.

In a scratch database with the production password hasher, reads one incident through
the API K times each with basic authentication, with an API token and with a signed-in
session (the floor: no credential to check), interleaved, DEBUG off.

Prints the medians; last line:
basic_ms=<x> token_ms=<y> ratio=<basic / token>

    .venv/bin/python bench/api_auth.py [K]
"""

from __future__ import annotations

import base64
import os
import sys
import time

from common import median_ms, setup  # also puts the project on sys.path (tests.*)

K = int(sys.argv[1]) if len(sys.argv) > 1 else 20


def main() -> None:
    vendor = setup("crisisflow_bench_api_auth")

    from django.conf import settings
    from django.contrib.auth.hashers import get_hasher
    from django.test.utils import override_settings
    from rest_framework.test import APIClient

    from crisisflow.api import tokens
    from crisisflow.incidents import actions
    from crisisflow.people.models import User

    settings.DEBUG = False
    user = User.objects.create_user("bench-api", password="a long bench password 2026")
    incident = actions.report_incident(user, title="Payments down", severity="high")
    _row, token = tokens.create_token(user, name="bench", scope="read")
    url = f"/api/incidents/{incident.reference}/"

    basic = APIClient()
    basic.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"bench-api:a long bench password 2026").decode())
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    session = APIClient()
    session.force_login(user)
    clients = {"basic": basic, "token": bearer, "session": session}

    allowed = [*settings.ALLOWED_HOSTS, "testserver"]
    samples: dict[str, list[float]] = {name: [] for name in clients}
    with override_settings(ALLOWED_HOSTS=allowed):
        for client in clients.values():
            assert client.get(url).status_code == 200
        for _ in range(K):
            for name, client in clients.items():
                started = time.perf_counter()
                response = client.get(url)
                samples[name].append(time.perf_counter() - started)
                assert response.status_code == 200, response.content

    hasher = get_hasher()
    print(f"database={vendor} K={K} hasher={hasher.algorithm} iterations={getattr(hasher, 'iterations', '-')}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name in clients:
        print(f"{name:8s} p50_ms={median_ms(samples[name]):8.2f}")
    basic_ms, token_ms = median_ms(samples["basic"]), median_ms(samples["token"])
    print(f"basic_ms={basic_ms:.1f} token_ms={token_ms:.1f} ratio={basic_ms / token_ms:.1f}")


if __name__ == "__main__":
    main()
