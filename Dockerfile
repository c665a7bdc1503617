# The bot in one container: `docker build -t kie-chat-bot .`, then see compose.yaml.
# The Python minor version matches .python-version (what Heroku uses).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY bot ./bot
COPY adapters ./adapters

# A non-root user owns the one writable place, /data (the database and saved images).
RUN useradd --create-home --uid 10001 bot && mkdir -p /data && chown bot:bot /data
USER bot
ENV BOT_DB_PATH=/data/bot.sqlite3 \
    BOT_IMAGE_DIR=/data/images \
    PORT=8080
VOLUME ["/data"]
EXPOSE 8080

# /healthz answers while the process is alive; the probe uses only the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-m", "bot.probe"]

CMD ["python", "-m", "bot", "run"]
