"""Shared fixtures: a fake KIE on loopback and a core wired to it."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings as hypothesis_settings

from bot.config import Settings
from bot.runtime import Core
from bot.store import Store
from tests.fakes.kie import API_KEY, FakeKie
from tests.servers import database_url_or_skip, postgres_schema
from tests.fakes.discord_api import FakeDiscordApi
from tests.fakes.discord_gateway import FakeGateway
from tests.fakes.slack_api import FakeSlack


@pytest.fixture
async def kie():
    fake = FakeKie()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store(request, tmp_path):
    """A migrated, empty store on each engine: the store tests run on both."""
    if request.param == "sqlite":
        store = await Store.open(str(tmp_path / "bot.sqlite3"))
        yield store
        await store.close()
        return
    async with postgres_schema(database_url_or_skip()) as url:
        store = await Store.open(url)
        yield store
        await store.close()


@pytest.fixture
async def slack():
    """The fake Slack Web API; the bot is a member of `tests.fakes.slack_api.CHANNEL`."""
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def discord():
    """The fake Discord REST API and gateway, for a bot run as a process."""
    api = FakeDiscordApi()
    gateway = FakeGateway(allow_privileged=False)
    await api.start()
    await gateway.start()
    api.gateway_url = gateway.url  # what GET /gateway/bot answers
    yield api, gateway
    await gateway.stop()
    await api.stop()


@pytest.fixture
def settings_for(tmp_path):
    """Settings pointed at a fake KIE, with a fresh database per test."""

    def make(kie: FakeKie, **overrides) -> Settings:
        values = dict(
            kie_api_key=API_KEY,
            kie_base_url=kie.url,
            kie_upload_base_url=kie.url,
            bot_db_path=str(tmp_path / "bot.sqlite3"),
            bot_image_dir=str(tmp_path / "images"),
            codex_max_retries=2,
            port=0,
            web_host="127.0.0.1",
            # Most tests run many requests for one person at once; the budget tests
            # (tests/usage/) set the limits they are about.
            limit_user_concurrent=0,
            _env_file=None,
        )
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
async def core(kie, settings_for):
    c = await Core.create(settings_for(kie))
    yield c
    await c.close()


# In CI, hypothesis runs a fixed set of examples so a run can never be flaky; locally it
# explores new ones each run (and remembers failures in .hypothesis/).
if os.environ.get("CI"):
    hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
    hypothesis_settings.load_profile("ci")
