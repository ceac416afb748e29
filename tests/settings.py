"""The settings pytest runs with: the app's own (crisisflow/settings.py), except that each
pytest-xdist worker of a parallel run (`scripts/test` with more than one worker) gets
places of its own, so that no test sees another worker's queue, cache or files:

- Redis: the database number of REDIS_URL plus the worker's index (gw0 the number
  itself, gw1 the next, …), for the cache, the in-process producer and every real
  worker, beat or command a test starts (tests/workers.py takes settings.REDIS_URL);
- var/: `<var>/test-gw<N>/`, where the embedded broker's queue file, the sweep's lock
  file, the beat schedule and the SQLite test database go.

The PostgreSQL test database needs nothing here: pytest-django names each worker's
`test_<name>_gw<N>`. Everything else a test writes (notices, evidence, cache files, a
worker's own var/ and broker) is in its own tmp_path already (tests/conftest.py).

The environment itself is changed, so that subprocesses started from a test inherit the
worker's places; a serial run (no xdist worker) uses the app's settings unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Redis's default number of databases (`databases 16`): 0 to 15.
REDIS_DATABASES = 16


def redis_url_of_worker(url: str, index: int) -> str:
    """REDIS_URL with its database number moved up by `index`."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = base + index
    if number >= REDIS_DATABASES:
        raise RuntimeError(
            f"REDIS_URL={url} leaves no Redis database for test worker {index} ({base} + {index} > "
            f"{REDIS_DATABASES - 1}): give REDIS_URL a lower database number, or run fewer workers "
            "(CRISISFLOW_TEST_WORKERS)"
        )
    return urlunsplit(parts._replace(path=f"/{number}"))


def isolate_xdist_worker(environ=os.environ) -> None:
    worker = environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", … under xdist
    # Once per process tree: a subprocess that loads these settings again already has
    # its worker's environment.
    if not worker or environ.get("CRISISFLOW_TEST_WORKER") == worker:
        return
    index = int(worker.removeprefix("gw"))
    if environ.get("REDIS_URL"):
        environ["REDIS_URL"] = redis_url_of_worker(environ["REDIS_URL"], index)
    var = Path(environ.get("CRISISFLOW_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    environ["CRISISFLOW_VAR_DIR"] = str(var / f"test-{worker}")
    Path(environ["CRISISFLOW_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    if environ.get("CRISISFLOW_BROKER_DIR"):
        environ["CRISISFLOW_BROKER_DIR"] = str(Path(environ["CRISISFLOW_BROKER_DIR"]) / f"test-{worker}")
    environ["CRISISFLOW_TEST_WORKER"] = worker


isolate_xdist_worker()

from crisisflow.settings import *  # noqa: E402, F403
