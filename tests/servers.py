"""The real PostgreSQL and Redis the scale tests run against, isolated per test.

`TEST_DATABASE_URL` and `TEST_REDIS_URL` name them (`.ci/run` sets both); without them
the tests that need them skip with one line saying so. Other runs may use the same
servers at the same time, so each test gets its own PostgreSQL schema (dropped after)
and its own Redis key prefix (deleted after).
"""

from __future__ import annotations

import os
import uuid
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

import pytest

DATABASE_ENV = "TEST_DATABASE_URL"
REDIS_ENV = "TEST_REDIS_URL"


def database_url_or_skip() -> str:
    url = os.environ.get(DATABASE_ENV)
    if not url:
        pytest.skip(f"{DATABASE_ENV} is not set (a PostgreSQL to test against)")
    return url


def redis_url_or_skip() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set (a Redis to test against)")
    return url


def _with_search_path(url: str, schema: str) -> str:
    # asyncpg passes unknown URL parameters to the server as settings.
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@asynccontextmanager
async def postgres_schema(base_url: str) -> AsyncIterator[str]:
    """A fresh schema for one test; yields a DATABASE_URL that uses it."""
    import asyncpg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(base_url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield _with_search_path(base_url, schema)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@asynccontextmanager
async def redis_prefix(url: str) -> AsyncIterator[str]:
    """A key prefix of one's own; every key under it is deleted afterwards."""
    import redis.asyncio as redis

    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    client = redis.from_url(url)
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
