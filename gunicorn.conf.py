"""gunicorn's settings for CrisisFlow in production (README "Production"):

    .venv/bin/gunicorn --config gunicorn.conf.py crisisflow.wsgi:application

Any of them can be changed on the command line or in GUNICORN_CMD_ARGS
(`--bind 0.0.0.0:8000`, `--workers 4`); WEB_CONCURRENCY sets the number of workers.
"""

import os

bind = ["127.0.0.1:8000"]
# One process per core: each holds its own copy of the notice renders and of WhiteNoise's
# file index, and Python runs one thread at a time per process.
workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
# Each process listens on a socket of its own and the kernel spreads new connections
# evenly over them. With one shared socket, whichever process wakes first accepts: a burst
# of kept-alive connections (phones arriving from one viral post, a load test) can all
# land on one process, leaving one core idle and doubling the wait on the other.
reuse_port = True
# Threads, not more processes, for requests that wait (the database, a slow client).
# A request to a public notice never waits and holds the interpreter throughout: more
# threads only take turns at it. Two per process overlap the rest of the app's waits on
# the database; raise it (`--threads 4`) for an installation whose pages wait longer.
worker_class = "gthread"
threads = 2
# Open connections per process. Each open page polls for live updates, and a phone that
# read a notice keeps its connection for `keepalive` seconds.
worker_connections = 1000
keepalive = 30
