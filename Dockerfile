# Export Advisor: one bot process per container (`python -m bot`).
#   docker build -t export-advisor .
#   docker run --rm export-advisor python -m bot kb check
# Telegram mode comes from the environment (BOT_TOKEN, WEBHOOK_URL...: see README, Configuration).
# BASE_IMAGE lets a build pin a digest (python:3.11-slim@sha256:...) or use a mirror.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# A virtual environment: the project's packages apart from the system's (and from PEP 668).
RUN python3 -m venv /opt/venv \
    && useradd --user-group --uid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin bot

WORKDIR /app

# The dependencies first, read from pyproject.toml: this layer is kept while only code changes.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))\
['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The package finds templates/, assets/ and knowledge/ beside bot/ (bot/config.py PROJECT_ROOT):
# a plain `pip install .` would copy bot/ alone into site-packages, away from its templates, so
# the project is installed in place (editable), from this one copy in /app (owned by root: the
# code is read-only for the bot).
COPY bot ./bot
COPY templates ./templates
COPY assets ./assets
RUN pip install --no-deps -e .

# Writable by the bot user: the knowledge base (an admin's apply writes it: KNOWLEDGE_DIR/.lock,
# .pending/) and DATA_DIR (knowledge versions, backups, audit; users and dialogs unless
# REDIS_URL is set). With REDIS_URL the knowledge base lives in Redis and each container follows
# it into these files (compose.yaml); a single container without Redis needs volumes on both
# to keep an admin's applies.
COPY --chown=bot:bot knowledge ./knowledge
RUN mkdir -p /data/kb_backups && chown -R bot:bot /data
VOLUME ["/data"]

ENV DATA_DIR=/data \
    KNOWLEDGE_DIR=/app/knowledge \
    WEBHOOK_HOST=0.0.0.0 \
    WEBHOOK_PORT=8080

USER bot
EXPOSE 8080
# No HEALTHCHECK here: the image also runs long polling and the CLI, which serve no HTTP.
# compose.yaml checks GET /healthz, which the webhook server answers (bot/webhook.py).
CMD ["python", "-m", "bot"]
