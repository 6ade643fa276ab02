# RiskLoop worker image: `docker compose up` builds it (see docker-compose.yml).
# The same image runs `riskloop worker` (default), `riskloop topics create` and the demo replay.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RISKLOOP_WEB_HOST=0.0.0.0 \
    RISKLOOP_DATA_DIR=/data/worker \
    RISKLOOP_LOG_FORMAT=json

WORKDIR /src
# .dockerignore keeps the virtualenv, local state and tests out of the build context
COPY . .
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /data riskloop \
 && mkdir -p /data/worker /state/keys \
 && chown -R riskloop /data /state

USER riskloop
WORKDIR /data
EXPOSE 6066
# the worker answers on web_port (6066) with /metrics once its web server is up
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/metrics', timeout=4)"]
ENTRYPOINT ["riskloop"]
CMD ["worker"]
