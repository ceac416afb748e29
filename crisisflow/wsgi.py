import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crisisflow.settings")
django_application = get_wsgi_application()

from crisisflow.notices.serving import FastPath  # noqa: E402 - needs Django set up

# Public notices under a viral spike: answered from memory before Django's request
# handling whenever the process has the answer (crisisflow/notices/serving.py).
application = FastPath(django_application)

# Everything loaded at start-up lives as long as the process: keep it out of the
# garbage collector's generations, so collections during requests stay short.
gc.freeze()
