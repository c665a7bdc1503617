"""Operating several processes: `python -m bot check` and `/readyz` report the database and
Redis (never a password), migrations apply once and in order on both engines, and a
second process without Redis says that budgets are per process."""

from __future__ import annotations

import aiohttp

from bot.check_storage import check_database, check_shared_budgets
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
        settings = settings_for(kie, database_url=url, redis_url=redis_url)
        database, redis = await check_database(settings), await check_shared_budgets(settings)
    assert database.ok and database.line().startswith("ok    database: PostgreSQL at ")
    assert f"schema version {LATEST_VERSION}, up to date" in database.line()
    assert redis.ok and redis.line().startswith("ok    Redis: answers; rate budgets and Stop presses are shared")

    unreachable = settings_for(
        kie, database_url="postgresql://bot:hunter2@127.0.0.1:1/nowhere", redis_url="redis://:hunter2@127.0.0.1:1/0"
    )
    database, redis = await check_database(unreachable), await check_shared_budgets(unreachable)
    assert not database.ok and not redis.ok
    assert database.line().startswith("FAIL  database: cannot open postgresql://bot:***@127.0.0.1:1/nowhere (")
    assert database.line().endswith("Check DATABASE_URL.")
    assert redis.line() == "FAIL  Redis: does not answer (ConnectionError). Check REDIS_URL."
    assert "hunter2" not in database.line() + redis.line()


async def test_check_says_sqlite_needs_no_redis_for_one_process(kie, settings_for):
    settings = settings_for(kie)
    database, redis = await check_database(settings), await check_shared_budgets(settings)
    assert database.ok and "SQLite at" in database.detail and "migration(s) to apply at start" in database.detail
    assert redis.ok and redis.detail.startswith("not set: each process keeps its own rate budgets")


async def test_readyz_answers_503_while_redis_does_not(kie, settings_for):
    core = await Core.create(settings_for(kie, redis_url="redis://:hunter2@127.0.0.1:1/0"))
    try:
        await core.web.start()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{core.web.bound_port}/readyz") as response:
                body = await response.json()
                assert response.status == 503
        assert body == {"ready": False, "down": ["redis"], "checks": {"database": True, "redis": False}}
    finally:
        await core.close()


async def test_readyz_includes_redis_when_it_answers(kie, settings_for):
    core = await Core.create(settings_for(kie, redis_url=redis_url_or_skip()))
    try:
        await core.web.start()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{core.web.bound_port}/readyz") as response:
                assert response.status == 200
                assert await response.json() == {"ready": True, "down": [], "checks": {"database": True, "redis": True}}
    finally:
        await core.close()
