import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crisisflow.settings")
application = get_wsgi_application()

# Everything loaded at start-up lives as long as the process: keep it out of the
# garbage collector's generations, so collections during requests stay short.
gc.freeze()
