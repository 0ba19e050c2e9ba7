# notifier: one image for every process (web, worker, beat, flower, release).
# docker-compose.yml picks the process with `command:`; the default is the web tier,
# as the Procfile's `web` line.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NOTIFIER_VAR_DIR=/app/var \
    PORT=8000

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
# psycopg[binary] brings its own libpq: no compiler or system packages needed.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files (the admin's and DRF's) collected at build time, into $NOTIFIER_VAR_DIR/static.
# The build has no database or broker: it asks for the embedded default, for this step only.
RUN NOTIFY_EMBEDDED=true python manage.py collectstatic --noinput -v 0 \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin notifier \
    && mkdir -p "$NOTIFIER_VAR_DIR" \
    && chown -R notifier "$NOTIFIER_VAR_DIR"

USER notifier

EXPOSE 8000 5555

# The Procfile's `web` line; a shell so ${PORT} and ${WEB_CONCURRENCY} are read at start.
CMD ["sh", "-c", "exec gunicorn -c config/gunicorn.py config.wsgi:application --bind 0.0.0.0:${PORT:-8000} --workers ${WEB_CONCURRENCY:-2} --access-logfile -"]
