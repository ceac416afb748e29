"""What do V people watching one busy incident room cost the server, and how soon does
each of them see a change?

Builds the room of bench/pages.py (200 tasks, 5,000 timeline events) in a scratch
database, gives it V viewers (each with their own session; languages, time zones and
standing mixed: the commander, role leads, team members, observers, people outside the
team), starts a real WSGI server (waitress, one process, on 127.0.0.1) and lets every
viewer load the page and then poll it as the browser does (static/crisisflow/live.js:
one request per page every few seconds with the stamps of its regions). For DURATION
seconds someone changes the room every 10 seconds (a note, then a task comment, which
changes three regions), and the bench notes when each viewer's poll brought it.

Prints the server's CPU seconds per wall second over the run (from /proc, the server
process alone), the polls, and the delay between each change and each viewer seeing
it; last line:
viewers=<V> cpu_per_s=<x> change_visible_p95_s=<y>   (target cpu_per_s <= 0.5 at 100 viewers, p95 <= 5 s)

    .venv/bin/python bench/live.py [V] [DURATION]
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from common import ROOT, percentile_ms, setup  # also puts the project on sys.path (tests.*)

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
VIEWERS = int(ARGS[0]) if ARGS else 100
DURATION = float(ARGS[1]) if len(ARGS) > 1 else 60.0
CHANGE_EVERY = 10.0
SECRET = "bench-live-" + "k" * 50
LANGUAGES = ["zh-hans", "en"]
ZONES = ["Asia/Shanghai", "Europe/London", "America/New_York"]
REGION = re.compile(r'data-live-region="([^"]+)" data-live-stamp="([0-9a-f]+)"')
LIVE = re.compile(r'<meta name="cf-live" content="([^"]+)" data-every="(\d+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_viewers(people, incident, n: int):
    """n people with sessions: the team's own first, then more team members and
    observers, then people outside the team; languages and time zones mixed."""
    from django.test import Client

    from crisisflow.incidents.models import TeamMember
    from crisisflow.people.models import User
    from tests.conftest import make_user

    viewers = [people.commander, people.pr_lead, people.legal, people.observer, people.pr_member, people.cs]
    roles = ["pr", "legal", "customer_service", "observer", "tech_security"]
    i = 0
    while len(viewers) < n:
        user = make_user(f"viewer{i}")
        if i % 3 != 2:  # two in three on the team, the rest following from outside
            TeamMember.objects.create(
                incident=incident, user=user, role=roles[i % len(roles)], added_at=incident.reported_at
            )
        viewers.append(user)
        i += 1
    sessions = []
    for k, user in enumerate(viewers[:n]):
        User.objects.filter(pk=user.pk).update(language=LANGUAGES[k % 2], time_zone=ZONES[k % 3])
        client = Client()
        client.force_login(user)
        sessions.append((user.username, client.cookies["sessionid"].value))
    return sessions


class Viewer(threading.Thread):
    def __init__(self, name: str, session: str, port: int, page: str, stop: threading.Event, seen: dict):
        super().__init__(daemon=True)
        self.username, self.session, self.port, self.page = name, session, port, page
        self.stop, self.seen = stop, seen
        self.polls = self.changed = self.errors = 0
        self.bytes = 0

    def get(self, conn, path: str) -> tuple[int, bytes]:
        conn.request("GET", path, headers={"Cookie": f"sessionid={self.session}", "Accept": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()

    def load(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        status, body = self.get(conn, self.page)
        conn.close()
        html = body.decode()
        assert status == 200, (self.username, status)
        self.stamps = dict(REGION.findall(html))
        found = LIVE.search(html)
        self.live_url, self.every = found.group(1), int(found.group(2)) / 1000

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        time.sleep(random.uniform(0, self.every))  # viewers opened the page at different moments
        while not self.stop.is_set():
            query = urlencode([("region", f"{name}:{s}") for name, s in self.stamps.items()])
            try:
                status, body = self.get(conn, f"{self.live_url}?{query}")
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            arrived = time.monotonic()
            self.polls += 1
            self.bytes += len(body)
            if status != 200:
                self.errors += 1
            else:
                for name, region in json.loads(body)["regions"].items():
                    self.changed += 1
                    self.stamps[name] = region["stamp"]
                    for marker in re.findall(r"bench change (\d+)", region["html"]):
                        self.seen.setdefault((int(marker), self.username), arrived)
            self.stop.wait(self.every)  # the next poll once this one has answered, as live.js does


def main() -> None:
    vendor = setup("crisisflow_bench_live")
    from django.conf import settings
    from django.db import connection
    from pages import build

    from crisisflow.incidents import actions

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="crisisflow-bench-media-")
    # The server signs sessions with its own key: the viewers' sessions are made with it.
    settings.SECRET_KEY = SECRET
    people, big = build(settings)
    sessions = make_viewers(people, big, VIEWERS)
    task = big.tasks.filter(stage="publish", status="open").order_by("position").first()
    connection.close()

    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CRISISFLOW_VAR_DIR": tempfile.mkdtemp(prefix="crisisflow-bench-var-"),
        "LOG_LEVEL": "WARNING",
    }
    # As in production: static files collected (the pages name them by their hashed names).
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waitress",
            "--host=127.0.0.1",
            f"--port={port}",
            "--threads=4",
            "--connection-limit=1000",
            "crisisflow.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.2)

        page = f"/incidents/{big.reference}/"
        stop, seen = threading.Event(), {}
        viewers = [Viewer(name, session, port, page, stop, seen) for name, session in sessions]
        loads = []
        for viewer in viewers:  # everyone opens the page once
            started = time.monotonic()
            try:
                viewer.load()
            except AssertionError:
                server.terminate()
                raise SystemExit(f"the page failed: {server.communicate()[1].decode()[-3000:]}") from None
            loads.append(time.monotonic() - started)
        for viewer in viewers:
            viewer.start()
        time.sleep(3)  # every viewer polling

        cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
        changes: dict[int, float] = {}
        n = 0
        while time.monotonic() - wall_before < DURATION:
            time.sleep(CHANGE_EVERY / 2)
            n += 1
            if n % 2:
                actions.add_note(people.commander, big, f"bench change {n}: sentiment turning")
            else:
                actions.add_task_comment(people.legal, task, f"bench change {n}: counsel agrees")
            changes[n] = time.monotonic()
            time.sleep(CHANGE_EVERY / 2)
        wall = time.monotonic() - wall_before
        cpu = cpu_seconds(server.pid) - cpu_before
        time.sleep(6)  # the last change reaches everyone
        stop.set()
        for viewer in viewers:
            viewer.join(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)

    delays, missed = [], 0
    for marker, at in changes.items():
        for name, _session in sessions:
            if (marker, name) in seen:
                delays.append(max(0.0, seen[(marker, name)] - at))
            else:
                missed += 1
    polls = sum(v.polls for v in viewers)
    load = os.getloadavg()
    print(f"database={vendor} server=waitress(1 process, 4 threads) viewers={VIEWERS} duration_s={wall:.0f}")
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"page load p50_ms={percentile_ms(loads, 0.5):.0f} p95_ms={percentile_ms(loads, 0.95):.0f}; "
        f"polls={polls} ({polls / (wall + 9):.1f}/s) regions_sent={sum(v.changed for v in viewers)} "
        f"poll_bytes={sum(v.bytes for v in viewers)} errors={sum(v.errors for v in viewers)}"
    )
    print(f"changes={len(changes)} seen={len(delays)} missed={missed}")
    if delays:
        print(
            f"change visible p50_s={percentile_ms(delays, 0.5) / 1000:.2f} "
            f"p95_s={percentile_ms(delays, 0.95) / 1000:.2f} max_s={max(delays):.2f}"
        )
    p95 = percentile_ms(delays, 0.95) / 1000 if delays and not missed else float("inf")
    print(f"viewers={VIEWERS} cpu_per_s={cpu / wall:.3f} change_visible_p95_s={p95:.2f}")


if __name__ == "__main__":
    main()
