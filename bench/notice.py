"""Does the public notice page hold a viral spike as well as a static file?

Builds one incident in a scratch database with a public notice (a holding statement, a
progress update and its correction, two commitments), starts the web server as the
README's "Production" section runs it — granian (WSGI, one worker per core, 4 blocking
threads each; `GRANIAN_BLOCKING_THREADS` overrides), or with --gunicorn gunicorn with
gunicorn.conf.py (`gthread`, one socket per worker) — DEBUG off, static files through
WhiteNoise, on 127.0.0.1, and puts a static file of exactly the notice page's
size beside the collected static files. Then wrk (C, one thread, CONNECTIONS keep-alive
connections on loopback only) asks for the notice page for DURATION seconds (at most
50), then for the static file as long, in one run. wrk is Debian's `wrk` package,
installed here when missing (as root or with `sudo -n`, as scripts/test installs Debian
packages); when that cannot be done, a load generator of this file's own (asyncio)
stands in, with a note: it shares the cores with the server and costs far more CPU per
request than wrk, so its figures are lower. Besides the latencies it prints the
workers' own CPU time per request, which a busy machine disturbs less than requests/s.

    .venv/bin/python bench/notice.py [DURATION] [CONNECTIONS] [WORKERS] [--asyncio] [--gunicorn]

last line: notice_rps=<x> static_rps=<y> ratio=<x/y> p99_ms=<z>
(goal ratio >= 0.5, p99 <= 50 ms; p99 is the notice page's)
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import re
import runpy
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import ROOT, percentile_ms, setup

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
DURATION = min(float(ARGS[0]) if ARGS else 10.0, 50.0)
CONNECTIONS = int(ARGS[1]) if len(ARGS) > 1 else 200
WORKERS = int(ARGS[2]) if len(ARGS) > 2 else (os.cpu_count() or 2)
WRK_THREADS = 1  # one event loop in C holds 200 connections, and leaves the cores to the server
ACCEPT_LANGUAGE = "Accept-Language: zh-CN,zh;q=0.9"
SECRET = "bench-notice-" + "k" * 50
GRANIAN = "--gunicorn" not in sys.argv
GRANIAN_THREADS = int(os.environ.get("GRANIAN_BLOCKING_THREADS") or 4)


def answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


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


# --- the load: wrk, or a generator of our own when wrk cannot be had ------------------------


@dataclass
class Load:
    """One target's answers: requests a second, how many, how many failed, latency."""

    rps: float
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float


def as_root(command: list[str]) -> list[str] | None:
    if os.geteuid() == 0:
        return command
    if shutil.which("sudo"):
        return ["sudo", "-n", *command]
    return None


def find_wrk() -> str | None:
    """wrk's path, installing Debian's package when it is missing; None when it cannot."""
    found = shutil.which("wrk")
    if found or not shutil.which("apt-get"):
        return found
    print("== Installing Debian packages: wrk", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"]
    for step in (["apt-get", "update", "-q"], install):
        command = as_root(step)
        try:
            if command is None or subprocess.run(command, env=env, capture_output=True, timeout=300).returncode:
                return None
        except subprocess.TimeoutExpired:
            return None
    return shutil.which("wrk")


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", value).groups()
    return float(number) * UNITS_MS[unit]


def wrk_load(wrk: str, url: str, seconds: float) -> Load:
    """wrk's own report of `seconds` of CONNECTIONS keep-alive connections to `url`."""
    out = subprocess.run(
        [
            wrk,
            "--threads",
            str(WRK_THREADS),
            "--connections",
            str(CONNECTIONS),
            "--duration",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            "--header",
            ACCEPT_LANGUAGE,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    requests = int(re.search(r"^\s*(\d+) requests in", out, re.M).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(
        rps=float(re.search(r"^Requests/sec:\s+([\d.]+)", out, re.M).group(1)),
        requests=requests,
        errors=errors + (int(non_2xx.group(1)) if non_2xx else 0),
        p50_ms=wrk_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        p99_ms=wrk_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
    )


async def one_connection(port: int, path: str, stop_at: float, latencies: list[float], errors: list[int]):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        errors.append(1)
        return
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{ACCEPT_LANGUAGE}\r\nUser-Agent: crisisflow-bench\r\n\r\n"
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


async def gather_load(port: int, path: str, seconds: float) -> Load:
    latencies: list[float] = []
    errors: list[int] = []
    started = time.monotonic()
    stop_at = started + seconds
    await asyncio.gather(*(one_connection(port, path, stop_at, latencies, errors) for _ in range(CONNECTIONS)))
    wall = time.monotonic() - started
    if not latencies:
        return Load(0.0, 0, len(errors), float("inf"), float("inf"))
    return Load(
        rps=len(latencies) / wall,
        requests=len(latencies),
        errors=len(errors),
        p50_ms=percentile_ms(latencies, 0.5),
        p99_ms=percentile_ms(latencies, 0.99),
    )


def load(wrk: str | None, port: int, path: str, seconds: float) -> Load:
    if wrk:
        return wrk_load(wrk, f"http://127.0.0.1:{port}{path}", seconds)
    return asyncio.run(gather_load(port, path, seconds))


def collect_static(env: dict) -> Path:
    """`collectstatic` as in production, done once and kept under var/bench while the
    static sources and the pinned packages are the same: compressing 40 MB of files for
    WhiteNoise takes minutes on a busy machine, and measures nothing."""
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    for path in sorted((ROOT / "crisisflow" / "static").rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(ROOT)} {path.stat().st_size} {path.stat().st_mtime_ns}\n".encode())
    kept = ROOT / "var" / "bench" / f"notice-static-{digest.hexdigest()[:16]}"
    if not (kept / "staticfiles.json").exists():
        for old in kept.parent.glob("notice-static-*"):
            shutil.rmtree(old, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="notice-static-", dir=kept.parent))
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
            cwd=ROOT,
            env={**env, "CRISISFLOW_VAR_DIR": str(work)},
            check=True,
        )
        (work / "static").rename(kept)
        shutil.rmtree(work)
    return kept


def main() -> None:
    wrk = None if "--asyncio" in sys.argv else find_wrk()
    if wrk is None:
        why = "--asyncio given" if "--asyncio" in sys.argv else "wrk is missing and could not be installed"
        print(
            f"note: {why} (Debian's wrk, by apt-get as root or with `sudo -n`): the load comes from this "
            "script's own asyncio generator instead, which shares the cores with the server and costs far "
            "more per request than wrk: requests/s are lower and p99 higher than wrk would measure",
            flush=True,
        )
    vendor = setup("crisisflow_bench_notice")
    from django.conf import settings
    from django.db import connection

    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    var = Path(tempfile.mkdtemp(prefix="notice-run-", dir=ROOT / "var" / "bench"))
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
    collected = collect_static(env)
    page = (var / "notices" / slug / "index.zh-hans.html").read_bytes()
    # A static file of the same size, served by the same server (WhiteNoise, as in production).
    shutil.copytree(collected, var / "static", copy_function=os.link)  # links: the same disk
    (var / "static" / "bench-same-size.html").unlink(missing_ok=True)  # never write through a link
    (var / "static" / "bench-same-size.html").write_bytes(b"x" * len(page))

    port = free_port()
    server = subprocess.Popen(
        server_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        notice_path, static_path = f"/notice/{slug}/", "/static/bench-same-size.html"
        # Each worker listens on its own socket (reuse_port) before it has loaded the app:
        # ready when a page is answered, not when a connection is accepted.
        deadline = time.monotonic() + 90
        while not answers(port, notice_path):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"the server did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
        # Warm up every worker's caches (the page's bytes, WhiteNoise's index).
        load(wrk, port, notice_path, 1.0)
        load(wrk, port, static_path, 1.0)
        before = loadavg()
        cpu = workers_cpu_seconds(server.pid)
        notice = load(wrk, port, notice_path, DURATION)
        notice_cpu = workers_cpu_seconds(server.pid) - cpu
        static = load(wrk, port, static_path, DURATION)
        static_cpu = workers_cpu_seconds(server.pid) - cpu - notice_cpu
        after = loadavg()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(var, ignore_errors=True)
    if GRANIAN:
        described = f"granian wsgi workers={WORKERS} blocking_threads={GRANIAN_THREADS}"
    else:
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
        described = f"gunicorn {conf['worker_class']} workers={WORKERS} threads={conf['threads']}"
    print(
        f"database={vendor} server={described} "
        f"connections={CONNECTIONS} "
        f"duration_s={DURATION:.0f} page_bytes={len(page)} "
        f"load={'wrk --threads ' + str(WRK_THREADS) if wrk else 'asyncio (in this process)'}"
        + (f" GUNICORN_CMD_ARGS={os.environ['GUNICORN_CMD_ARGS']!r}" if os.environ.get("GUNICORN_CMD_ARGS") else "")
    )
    print(f"/proc/loadavg before: {before}; after: {after}; on {os.cpu_count()} CPUs")
    # The server's own CPU time per answer: what a busy machine's noise leaves alone.
    for name, answer, seconds in (("notice", notice, notice_cpu), ("static", static, static_cpu)):
        print(
            f"{name}: {answer.requests} requests, errors={answer.errors}, p50_ms={answer.p50_ms:.1f} "
            f"p99_ms={answer.p99_ms:.1f}, server CPU {seconds * 1e6 / max(answer.requests, 1):.0f} µs a request"
        )
    ratio = notice.rps / static.rps if static.rps else 0.0
    print(f"notice_rps={notice.rps:.0f} static_rps={static.rps:.0f} ratio={ratio:.2f} p99_ms={notice.p99_ms:.1f}")


def server_command(port: int) -> list[str]:
    """granian as in production (README "Production"), or with --gunicorn gunicorn with
    gunicorn.conf.py, for comparison: the same WSGI application either way."""
    bin_dir = Path(sys.executable).parent
    if GRANIAN:
        return [
            str(bin_dir / "granian"),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--blocking-threads",
            str(GRANIAN_THREADS),
            "--log-level",
            "warning",
            "crisisflow.wsgi:application",
        ]
    return [
        str(bin_dir / "gunicorn"),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
        "crisisflow.wsgi:application",
    ]


def workers_cpu_seconds(master: int) -> float:
    """CPU seconds (user and system, every thread) used so far by the server's workers."""
    ticks = 0
    children = Path(f"/proc/{master}/task/{master}/children")
    for pid in children.read_text().split() if children.exists() else ():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a worker that has just gone
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
