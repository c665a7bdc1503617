"""Health, readiness and metrics routes: `/healthz`, `/readyz`, `/metrics`.

- `/healthz` (in `web.py`): the process is alive and its loop answers.
- `/readyz`: 200 only when every registered check passes (each configured adapter is
  connected, the database answers, Redis answers when `REDIS_URL` is set); else 503 with
  a JSON body naming what is down.
- `/metrics`: the Prometheus text format (see `metrics.py`).

Adapters report their connectedness as a `connection` attribute whose `up()` returns a bool
(or an awaitable one): `Connection` below, or the adapter's own. The composition root
registers each with `watch`. Nothing here imports a platform library.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import metrics
from .images.records import DELIVERING, DONE, FAILED, GAVE_UP, QUEUED, RUNNING, SUBMITTING, UNKNOWN
from .store import Store

log = logging.getLogger(__name__)

Check = Callable[[], bool | Awaitable[bool]]
CHECK_TIMEOUT_S = 2.0


class Connection:
    """An adapter's connectedness, as the adapter reports it. Tests can wait on a change."""

    def __init__(self) -> None:
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()

    def up(self) -> bool:
        return self._up.is_set()

    def set(self, up: bool) -> None:
        (self._up if up else self._down).set()
        (self._down if up else self._up).clear()

    async def wait(self, up: bool) -> None:
        await (self._up if up else self._down).wait()


class Readiness:
    def __init__(self, store: Store) -> None:
        self._checks: dict[str, Check] = {"database": lambda: _database_answers(store)}

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def report(self) -> dict[str, bool]:
        return {name: await _passes(name, check) for name, check in self._checks.items()}


async def _database_answers(store: Store) -> bool:
    await store.ping()
    return True


async def _passes(name: str, check: Check) -> bool:
    try:
        result = check()
        if inspect.isawaitable(result):
            result = await asyncio.wait_for(result, CHECK_TIMEOUT_S)
        return bool(result)
    except Exception as exc:  # a failing check means "down", and the reason goes to the log
        log.warning("readiness check %s failed: %r", name, exc)
        return False


def watch(readiness: Readiness, adapter: object) -> None:
    """Make /readyz wait for an adapter that reports its connection (`connection.up()`)."""
    connection = getattr(adapter, "connection", None)
    if connection is not None:
        readiness.add(getattr(adapter, "name", type(adapter).__name__), connection.up)


IMAGE_STATES = (QUEUED, SUBMITTING, RUNNING, DELIVERING, DONE, FAILED, GAVE_UP, UNKNOWN)
IMAGE_STATES_SQL = "SELECT state, COUNT(*) AS n FROM image_tasks GROUP BY state"


async def _count_image_tasks(store: Store) -> None:
    """Refresh the image task gauge from the table (read at scrape time, no bookkeeping)."""
    try:
        counts = {row["state"]: row["n"] for row in await store.fetchall(IMAGE_STATES_SQL)}
    except Exception as exc:  # no image table (yet): nothing to count
        log.debug("image tasks not counted: %r", exc)
        return
    for state in {*counts, *IMAGE_STATES}:  # every known state, so a drained one reads 0
        metrics.IMAGE_TASKS.labels(state=state).set(counts.get(state, 0))


def install(web_app: web.Application, readiness: Readiness, store: Store) -> None:
    async def readyz(_request: web.Request) -> web.Response:
        checks = await readiness.report()
        down = sorted(name for name, ok in checks.items() if not ok)
        return web.json_response({"ready": not down, "down": down, "checks": checks}, status=503 if down else 200)

    async def metrics_page(_request: web.Request) -> web.Response:
        await _count_image_tasks(store)
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics_page)
