# messenger-lex-bridge: the webhook server and its delivery threads, one container.
#
#   docker build -t messenger-lex-bridge .
#   docker run -d --name bridge --env-file config.env -p 8000:8000 -v bridge-data:/data \
#       messenger-lex-bridge
#
# Configuration comes only from the environment (config.example.env documents every
# variable); nothing is baked in. The queue database lives on the /data volume.
# tests/e2e/test_docker.py checks this file's contract and runs its CMD from a clean virtualenv
# built from requirements.txt alone; `make docker-lint` runs hadolint on it.

# The same minor version as the interpreter CI runs the tests with (requires-python >= 3.11).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BRIDGE_DB=/data/bridge.db

# A fixed, non-root uid/gid (10001), so a bind-mounted /data can be chowned to it in advance
# and Kubernetes' runAsNonRoot can verify it. /data is created owned by it before VOLUME, so a
# new named volume starts out writable.
RUN groupadd --gid 10001 bridge \
    && useradd --uid 10001 --gid 10001 --no-log-init --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin bridge \
    && install -d -o 10001 -g 10001 -m 0750 /data

WORKDIR /app

# Dependencies in their own layer: rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        -r requirements.txt

# The application, owned by root and read-only to the bridge user (tests stay out).
COPY bridge/ ./bridge/
COPY wsgi.py gunicorn.conf.py ./

VOLUME ["/data"]
USER 10001:10001

# The default PORT. In production the bridge listens on all interfaces; BRIDGE_MODE=local
# listens on 127.0.0.1 only, so it is not reachable through a published port. The metrics
# listener (BRIDGE_METRICS_PORT, 9464) is deliberately not exposed: see the README, Monitoring.
EXPOSE 8000

# http://127.0.0.1:${PORT:-8000}/healthz with only what the image has: Python's urllib, no curl
# and no shell. A refused connection, a timeout or a non-2xx status exits 1 (unhealthy).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % (os.environ.get('PORT', '').strip() or '8000'), timeout=4)"]

# After every layer above, so a new revision does not invalidate the dependency layer.
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="messenger-lex-bridge" \
      org.opencontainers.image.description="Bridge between a Facebook Page's Messenger conversations and an Amazon Lex V2 bot" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# The same command as the README and the tests. Exec form: gunicorn is PID 1 and receives
# docker stop's SIGTERM itself (graceful timeout LEX_READ_TIMEOUT + 20 s: use docker stop -t 70).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
