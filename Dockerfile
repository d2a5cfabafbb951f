# messenger-lex-bridge: the webhook server and its delivery threads, one container.
#
#   docker build -t messenger-lex-bridge .            # podman/buildah: add --format docker
#   docker run -d --name bridge --env-file config.env -p 127.0.0.1:8000:8000 \
#       -v bridge-data:/data messenger-lex-bridge
#
# Configuration comes only from the environment (config.example.env documents every
# variable); nothing is baked in. The queue database lives on the /data volume.
# `make docker-lint` runs hadolint on this file; tests/e2e/test_docker.py checks its contract
# and runs its CMD without an engine; tests/test_image.py builds the image and runs it.

# The base, pinned by digest so that a rebuild starts from the same bytes: the multi-arch
# index of python:3.11-slim-bookworm (Python 3.11.17 on Debian 12) as Docker Hub served it
# in October 2026. The same minor version as the interpreter CI tests with. To update it,
# read the index digest the tag points to now, with either of
#   docker buildx imagetools inspect python:3.11-slim-bookworm   (the "Digest:" line)
#   crane digest python:3.11-slim-bookworm
# and replace the sha256 below (then rebuild, and run `make test`). --build-arg BASE=… builds
# on another image of the same kind (a mirror's copy of it, say).
ARG BASE=python:3.11-slim-bookworm@sha256:0a310eeecf4e1f5a0743f9a6520c90c88d089c903ca5fd283f501e3a805f5f89
FROM ${BASE}

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

# Dependencies in their own layer, rebuilt only when the lock changes: requirements.lock pins
# every package of requirements.txt and their dependencies to one version and the hashes of
# its files (`make lock` writes it), so pip installs exactly those files or stops.
# Behind a TLS-intercepting proxy or with a private index, pass pip's configuration and a CA
# bundle as build secrets (docs/deploying-with-docker.md, "Building"):
#   --secret id=pipconf,src=pip.conf --secret id=cacert,src=ca-bundle.pem
# They are mounted for this one RUN only and stay out of the image and its history; without
# them pip uses PyPI and its own CA bundle.
COPY requirements.lock ./
RUN --mount=type=secret,id=pipconf,target=/etc/pip.conf \
    --mount=type=secret,id=cacert,target=/run/secrets/cacert \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi \
    && pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
        --require-hashes --no-deps -r requirements.lock \
    && pip check

# The application, owned by root and read-only to the bridge user (tests stay out).
COPY bridge/ ./bridge/
COPY wsgi.py gunicorn.conf.py ./

VOLUME ["/data"]
USER 10001:10001

# The default PORT. In production the bridge listens on all interfaces; BRIDGE_MODE=local
# listens on 127.0.0.1 only, so a published port does not reach it: run local mode with
# --network host (README, "Deploying with Docker"). The metrics listener (BRIDGE_METRICS_PORT,
# 9464) is deliberately not exposed: see the README, Monitoring.
EXPOSE 8000

# http://127.0.0.1:${PORT:-8000}/healthz with only what the image has: Python's urllib, no curl
# and no shell. A refused connection, a timeout or a non-2xx status exits 1 (unhealthy).
# The OCI image format has no health check: podman and buildah keep it only with
# --format docker.
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
