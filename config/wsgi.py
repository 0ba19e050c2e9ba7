import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
    from config import tracing

    tracing.start("notifier-web", web=True)
application = get_wsgi_application()
if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
    tracing.know_tasks()
