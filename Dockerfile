# sora-bot in a container: one process (`sora-bot run`), the web app on $PORT, JSON logs.
#
#   docker build -t sora-bot .
#   docker run -d --name sora-bot -p 3000:3000 -v sora-bot-data:/data \
#       -e SLACK_BOT_TOKEN=... -e SLACK_APP_TOKEN=... -e INGEST_TOKEN=... sora-bot
#
# Settings are environment variables (see .env.example and docs/operations.md). The default
# database is a SQLite file on the /data volume; set DATABASE_URL to PostgreSQL for replicas.
# Without any chat token the terminal chat runs instead, and it stops at the end of its input:
# give such a container an open stdin (`docker run -i`, compose `stdin_open: true`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
RUN pip install . && rm -rf /src

# An unprivileged user owns nothing but the data volume.
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin sora \
    && mkdir -p /data && chown sora /data
USER sora
WORKDIR /data
VOLUME ["/data"]

# In a container the web app must listen on every interface (the default is loopback when
# only the terminal chat runs); logs are JSON lines for the log collector.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:////data/sora-bot.db \
    LOG_FORMAT=json
EXPOSE 3000

# /healthz answers 503 when the database is unreachable or the leading scheduler is dead,
# within seconds even when the database stalls; no curl in the slim image, so Python asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; u = 'http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'); sys.exit(0 if urllib.request.urlopen(u, timeout=4).status == 200 else 1)"]

# SIGTERM (docker stop) ends it gracefully: deliveries in flight finish, the lease is released.
STOPSIGNAL SIGTERM
CMD ["sora-bot", "run"]
