"""LOG_FORMAT=json lines parse and carry the request's context; secrets never appear."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from bot.logs import configure, request_context
from bot.model import Destination, Request, User
from tests.console_process import bot_env, start_bot
from tests.fakes.kie import API_KEY, reply

REQUEST = Request(command="chat", prompt="hi", user=User(id="U1"), where=Destination(platform="slack", channel_id="C1"))


@pytest.fixture
def root_logger():
    """`configure` replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_request_context_and_hide_secrets(root_logger, settings_for, kie):
    stream = io.StringIO()
    configure(settings_for(kie, log_format="json", log_level="DEBUG"), stream)
    log = logging.getLogger("bot.test")
    log.info("outside any request")
    with request_context(REQUEST) as request_id:
        log.warning("calling with key %s", API_KEY)

    outside, inside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert set(outside) == {"time", "level", "logger", "message"}
    assert inside["level"] == "WARNING" and inside["logger"] == "bot.test"
    assert (inside["request_id"], inside["platform"], inside["channel"]) == (request_id, "slack", "C1")
    assert inside["message"] == "calling with key [secret]"


def test_text_lines_name_the_request(root_logger, settings_for, kie):
    stream = io.StringIO()
    configure(settings_for(kie, log_level="INFO"), stream)
    with request_context(REQUEST) as request_id:
        logging.getLogger("bot.test").info("working")
    logging.getLogger("bot.test").debug("not shown at INFO")
    assert stream.getvalue().endswith(f" INFO bot.test: [slack C1 {request_id}] working\n")


async def test_a_console_session_logs_json_at_debug_without_the_key(kie, tmp_path):
    kie.codex_replies.append(reply("Hello."))
    env = bot_env(kie, tmp_path, LOG_FORMAT="json", LOG_LEVEL="debug", CODEX_MAX_RETRIES="0")
    process = await start_bot(env, tmp_path, "console")
    async with asyncio.timeout(60):
        _, err = await process.communicate(b"/codex --effort extreme hi\nhello\n")
    assert process.returncode == 0
    lines = [json.loads(line) for line in err.decode().splitlines()]  # every line is JSON
    assert any(line["level"] == "DEBUG" for line in lines)
    tagged = [line for line in lines if line.get("platform") == "console"]
    assert {line["channel"] for line in tagged} == {"terminal"}
    assert any("Unknown effort" in line["message"] for line in tagged)
    assert API_KEY not in err.decode()
