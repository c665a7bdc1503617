"""`python -m bot check`: can this bot reach what it needs? Prints one line per service
and exits 1 if any does not answer. Changes nothing (the schema is not migrated)."""

from __future__ import annotations

import sys

from .config import Settings
from .processes import alive
from .readiness import check_redis
from .runtime import shared_redis
from .startup import one_line
from .store import Store, redact_url
from .store.migrations import LATEST_VERSION, schema_version


async def run_check(settings: Settings, out=sys.stdout) -> int:
    ok = await _database(settings, out)
    redis = shared_redis(settings)
    if redis is None:
        print("redis: not set (each process keeps its own rate budgets)", file=out)
    else:
        try:
            check = await check_redis(redis)
            assert check is not None
            print(f"redis: {'ok' if check.ok else 'FAILED: ' + check.detail}", file=out)
            ok = ok and check.ok
        finally:
            await redis.aclose()
    return 0 if ok else 1


async def _database(settings: Settings, out) -> bool:
    location = settings.database_location
    try:
        store = await Store.open(location, migrate=False)
    except Exception as exc:
        reason = one_line(exc).replace(location, redact_url(location))
        print(f"database: FAILED: {redact_url(location)}: {reason}", file=out)
        return False
    try:
        await store.ping()
        version = await schema_version(store)
        state = "up to date" if version == LATEST_VERSION else f"{LATEST_VERSION - version} migration(s) to apply at start"
        line = f"database: ok ({store.describe()}; schema version {version}, {state})"
        if store.shared and version >= 3:
            line += f"; {await alive(store, within=settings.image_lease_s)} bot process(es) running"
        print(line, file=out)
        return True
    except Exception as exc:
        print(f"database: FAILED: {store.describe()}: {type(exc).__name__}", file=out)
        return False
    finally:
        await store.close()
