"""Operating several processes: `python -m bot check` and `/readyz` report the database and
Redis (never a password), migrations apply once and in order on both engines, and a
second process without Redis says that budgets are per process."""

from __future__ import annotations

import io

import aiohttp

from bot.check import run_check
from bot.runtime import Core
from bot.store import Store
from bot.store.migrations import LATEST_VERSION, MIGRATIONS, migrate, schema_version
from tests.servers import database_url_or_skip, postgres_schema, redis_url_or_skip


async def test_migrations_apply_once_in_order_on_both_engines(any_store):
    assert await schema_version(any_store) == LATEST_VERSION == MIGRATIONS[-1].version
    assert await migrate(any_store) == []  # a second start finds nothing to do
    columns = await any_store.fetchall("SELECT owner, lease_until FROM image_tasks")
    assert columns == []


async def test_check_reports_postgres_and_redis_without_their_passwords(kie, settings_for):
    base = database_url_or_skip()
    redis_url = redis_url_or_skip()
    async with postgres_schema(base) as url:
        store = await Store.open(url)  # migrated, as a running bot leaves it
        await store.close()
        out = io.StringIO()
        assert await run_check(settings_for(kie, database_url=url, redis_url=redis_url), out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("database: ok (PostgreSQL at ") and f"schema version {LATEST_VERSION}, up to date" in lines[0]
    assert lines[1] == "redis: ok"

    out = io.StringIO()
    unreachable = dict(
        database_url="postgresql://bot:hunter2@127.0.0.1:1/nowhere", redis_url="redis://:hunter2@127.0.0.1:1/0"
    )
    assert await run_check(settings_for(kie, **unreachable), out) == 1
    text = out.getvalue()
    assert "hunter2" not in text
    assert text.splitlines()[0].startswith("database: FAILED: postgresql://bot:***@127.0.0.1:1/nowhere")
    assert text.splitlines()[1] == "redis: FAILED: ConnectionError"


async def test_readyz_answers_503_while_redis_does_not(kie, settings_for):
    core = await Core.create(settings_for(kie, redis_url="redis://:hunter2@127.0.0.1:1/0"))
    try:
        await core.web.start()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{core.web.bound_port}/readyz") as response:
                body = await response.json()
                assert response.status == 503
        assert body["ready"] is False and body["database"] == "ok"
        assert body["redis"] == "ConnectionError"
        assert "hunter2" not in str(body)
    finally:
        await core.close()


async def test_readyz_answers_200_when_everything_answers(core):
    await core.web.start()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{core.web.bound_port}/readyz") as response:
            assert response.status == 200
            assert await response.json() == {"ready": True, "database": "ok"}
