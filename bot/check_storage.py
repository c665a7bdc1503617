"""`python -m bot check`'s lines for the database and Redis: reached once each, nothing
changed (the schema is not migrated; the line says how many migrations the next start
applies). A URL is shown without its password."""

from __future__ import annotations

from .check import CheckResult
from .config import Settings
from .processes import alive
from .readiness import check_redis
from .runtime import shared_redis
from .startup import one_line
from .store import Store, redact_url
from .store.migrations import LATEST_VERSION, schema_version


async def check_database(settings: Settings) -> CheckResult:
    location = settings.database_location
    setting = "DATABASE_URL" if settings.database_url is not None else "BOT_DB_PATH"
    try:
        store = await Store.open(location, migrate=False)
    except Exception as exc:
        reason = one_line(exc).replace(location, redact_url(location))
        return CheckResult("database", False, f"cannot open {redact_url(location)} ({reason})", setting)
    try:
        await store.ping()
        version = await schema_version(store)
        pending = LATEST_VERSION - version
        detail = f"{store.describe()}; schema version {version}" + (
            ", up to date" if not pending else f", {pending} migration(s) to apply at start"
        )
        if store.shared and version >= 3:
            detail += f"; {await alive(store, within=settings.image_lease_s)} bot process(es) running"
        return CheckResult("database", True, detail)
    except Exception as exc:
        return CheckResult("database", False, f"{store.describe()} does not answer ({type(exc).__name__})", setting)
    finally:
        await store.close()


async def check_shared_budgets(settings: Settings) -> CheckResult:
    redis = shared_redis(settings)
    if redis is None:
        return CheckResult("Redis", True, "not set: each process keeps its own rate budgets (fine for one process)")
    try:
        check = await check_redis(redis)
    finally:
        await redis.aclose()
    assert check is not None
    if check.ok:
        return CheckResult("Redis", True, f"answers; rate budgets and Stop presses are shared (keys {settings.redis_key_prefix}*)")
    return CheckResult("Redis", False, f"does not answer ({check.detail})", "REDIS_URL")
