from __future__ import annotations

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from crisisflow.broker import TRANSPORT_NAME, TRANSPORT_PATH, file_of_url

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crisisflow.settings")

# The embedded broker (crisisflow/broker/), by the name its URL uses. Registered by
# name only: a process on Redis never imports it.
TRANSPORT_ALIASES.setdefault(TRANSPORT_NAME, TRANSPORT_PATH)

app = Celery("crisisflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_embedded_broker_folder(sender: Celery, **kwargs) -> None:
    # SQLite creates the file but not its folder; a fresh clone has none, whoever
    # starts first (web, worker or beat) makes it.
    broker_file = file_of_url(str(sender.conf.broker_url or ""))
    if broker_file is not None:
        broker_file.parent.mkdir(parents=True, exist_ok=True)
