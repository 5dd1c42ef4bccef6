# Tend's production image: `docker build -t tend .` (docs/operations.md).
# Two stages: the first installs the dependencies into a virtualenv, the second copies only that
# virtualenv and Tend's own code onto a slim base, so no pip cache or build tooling ships.
# Both stages use the same base image, so the virtualenv's interpreter path is valid in the second.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/tend/bin:$PATH
RUN python -m venv /opt/tend
WORKDIR /src
# Only what the dependency install reads, so this layer is rebuilt when pyproject.toml changes, not
# on every code change. Every dependency ships wheels for linux/amd64 and arm64: no compiler needed.
COPY pyproject.toml README.md ./
RUN pip install .

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="Tend" \
      org.opencontainers.image.description="Compassion micro-practices for Slack and Microsoft Teams" \
      org.opencontainers.image.licenses="Apache-2.0"
# MPLCONFIGDIR: the index chart's matplotlib cache, somewhere writable (the code is read-only).
ENV PATH=/opt/tend/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    HOST=0.0.0.0 \
    PORT=3000
RUN groupadd --system --gid 10001 tend \
    && useradd --system --uid 10001 --gid tend --home-dir /app --no-create-home --shell /usr/sbin/nologin tend
WORKDIR /app
COPY --from=build /opt/tend /opt/tend
# Owned by root and not writable by the tend user: the process can change its data, never its code.
COPY app.py ./
COPY adapters/ adapters/
COPY bot/ bot/
COPY practices/ practices/
COPY storage/ storage/
# Bytecode now, since the tend user cannot write it later; data/ is where SQLite lives if you use it
# (mount a volume there); with PostgreSQL it stays empty.
RUN python -m compileall -q app.py adapters bot practices storage \
    && mkdir data && chown tend:tend data
# Numeric, so Kubernetes can check runAsNonRoot without reading the image's /etc/passwd.
USER 10001:10001
EXPOSE 3000
# Tend drains on SIGTERM: readiness goes 503 at once, in-flight work finishes, then it exits.
STOPSIGNAL SIGTERM
# Readiness, with Python's urllib (the slim image has no curl): unhealthy while the database does not
# answer within a second, a configured platform is not connected, or Tend is shutting down.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/readyz', timeout=4)"]
CMD ["python", "app.py", "serve"]
