"""Does the public notice page hold a viral spike as well as a static file?

Builds one incident in a scratch database with a public notice (a holding statement, a
progress update and its correction, two commitments), starts gunicorn as in production
(DEBUG off, `gthread` workers, static files through WhiteNoise) on 127.0.0.1, and puts a
static file of exactly the notice page's size beside the collected static files. Then a
load generator of its own (asyncio, CONNECTIONS keep-alive connections on loopback only)
asks for the notice page for DURATION seconds, and for the static file for DURATION
seconds, in one run.

    .venv/bin/python bench/notice.py [DURATION] [CONNECTIONS] [WORKERS]

last line: notice_rps=<x> static_rps=<y> ratio=<x/y> p99_ms=<z>
(goal ratio >= 0.5, p99 <= 50 ms; p99 is the notice page's)
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, percentile_ms, setup

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
DURATION = min(float(ARGS[0]) if ARGS else 10.0, 120.0)
CONNECTIONS = int(ARGS[1]) if len(ARGS) > 1 else 200
WORKERS = int(ARGS[2]) if len(ARGS) > 2 else (os.cpu_count() or 2)
SECRET = "bench-notice-" + "k" * 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build() -> tuple[str, str]:
    """The incident, its statements and commitments, the notice turned on: its slug."""
    from datetime import timedelta

    from crisisflow import clock
    from crisisflow.commitments import actions as commitments
    from crisisflow.notices import actions as notices
    from tests.conftest import Personas, install_plan, make_user
    from tests.statements import team_incident
    from tests.statements_helpers import approve_all, edit, publish_approved, publish_first_statement, write

    people = Personas(
        commander=make_user("commander", "commander"),
        pr_lead=make_user("prlead", "pr"),
        pr_member=make_user("prmember", "pr", rank="backup"),
        legal=make_user("legal", "legal"),
        cs=make_user("cs", "customer_service"),
        executive=make_user("exec", "executive"),
        observer=make_user("observer", "observer"),
        outsider=make_user("outsider"),
    )
    install_plan()
    incident = team_incident(people, affected_users=12_000)
    publish_first_statement(people, incident)
    update = write(
        people.commander, incident, "progress_update", language="zh-hans", body="华东地区的支付已于上午恢复。"
    )
    approve_all(people, update)
    publish_approved(people, update)
    edit(people.commander, update, "华东和华南地区的支付已于上午恢复。", correction_note="华南地区也受到了影响。")
    approve_all(people, update)
    publish_approved(people, update)
    update.refresh_from_db()
    for text in ("为受影响用户退还全部失败交易的手续费", "为受影响用户提供一年身份盗用保险，保额每人10万元"):
        commitments.create_commitment(
            people.commander,
            incident,
            text=text,
            owner=people.legal,
            due_at=clock.now() + timedelta(days=7),
            statement_version=update.current_id,
            scope="2026年3月2日支付失败的用户",
        )
    notice = notices.save_notice(
        people.commander, incident, title_zh="关于支付故障的公告", title_en="Payments outage notice", listed=True
    )
    return notice.slug, incident.reference


async def one_connection(port: int, path: str, stop_at: float, latencies: list[float], errors: list[int]):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        errors.append(1)
        return
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Language: zh-CN,zh;q=0.9\r\n"
        "User-Agent: crisisflow-bench\r\n\r\n"
    ).encode()
    try:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.monotonic() - started)
            if status != 200:
                errors.append(status)
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        errors.append(1)
    finally:
        writer.close()


async def load(port: int, path: str, seconds: float) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(*(one_connection(port, path, stop_at, latencies, errors) for _ in range(CONNECTIONS)))
    wall = time.monotonic() - started
    return len(latencies) / wall, latencies, len(errors)


def main() -> None:
    vendor = setup("crisisflow_bench_notice")
    from django.conf import settings
    from django.db import connection

    var = Path(tempfile.mkdtemp(prefix="crisisflow-bench-notice-"))
    settings.CRISISFLOW = {**settings.CRISISFLOW, "NOTICE_DIR": str(var / "notices")}
    slug, _reference = build()
    connection.close()

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "CRISISFLOW_VAR_DIR": str(var),
        "CRISISFLOW_NOTICE_DIR": str(var / "notices"),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    page = (var / "notices" / slug / "index.zh-hans.html").read_bytes()
    # A static file of the same size, served by the same server (WhiteNoise, as in production).
    (var / "static" / "bench-same-size.html").write_bytes(b"x" * len(page))

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--worker-connections",
            "1000",
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            "crisisflow.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.2)
        notice_path, static_path = f"/notice/{slug}/", "/static/bench-same-size.html"
        # Warm up every worker's caches (the first render of the page, WhiteNoise's index).
        asyncio.run(load(port, notice_path, 1.0))
        asyncio.run(load(port, static_path, 1.0))
        notice_rps, notice_lat, notice_err = asyncio.run(load(port, notice_path, DURATION))
        static_rps, static_lat, static_err = asyncio.run(load(port, static_path, DURATION))
    finally:
        server.terminate()
        server.wait(timeout=30)
    loadavg = Path("/proc/loadavg").read_text().strip()
    p99 = percentile_ms(notice_lat, 0.99) if notice_lat else float("inf")
    print(
        f"database={vendor} server=gunicorn gthread workers={WORKERS} threads=4 connections={CONNECTIONS} "
        f"duration_s={DURATION:.0f} page_bytes={len(page)}"
    )
    print(f"/proc/loadavg: {loadavg} on {os.cpu_count()} CPUs")
    print(
        f"notice: {len(notice_lat)} requests, errors={notice_err}, p50_ms={percentile_ms(notice_lat, 0.5):.1f} "
        f"p99_ms={p99:.1f}"
    )
    if static_lat:
        print(
            f"static: {len(static_lat)} requests, errors={static_err}, "
            f"p50_ms={percentile_ms(static_lat, 0.5):.1f} p99_ms={percentile_ms(static_lat, 0.99):.1f}"
        )
    ratio = notice_rps / static_rps if static_rps else 0.0
    print(f"notice_rps={notice_rps:.0f} static_rps={static_rps:.0f} ratio={ratio:.2f} p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
