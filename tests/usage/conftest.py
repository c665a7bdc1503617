"""Cores with budgets, a fixed clock (2026-11-30 21:55 UTC, so refusals say exactly when
they reset), a recording outbound, and the fake KIE."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.model import Destination, Request, User
from bot.runtime import Core
from tests.fakes.outbound import RecordingOutbound
from tests.images.conftest import Harness

NOW = datetime(2026, 11, 30, 21, 55, tzinfo=UTC).timestamp()
RESETS = "It resets at 2026-12-01 00:00 UTC (in 2 h 5 min)."
WHERE = Destination(platform="fake", channel_id="c1", team_id="t1")
ANN = User(id="ann", name="Ann")
BOB = User(id="bob", name="Bob")


def codex(prompt: str = "hi", user: User = ANN, where: Destination = WHERE, **kw) -> Request:
    return Request(command="codex", prompt=prompt, user=user, where=where, **kw)


def image(prompt: str = "a red fox", user: User = ANN, where: Destination = WHERE, **options) -> Request:
    return Request(command="image", prompt=prompt, user=user, where=where, options=options)


def usage(user: User = ANN, prompt: str = "", where: Destination = WHERE) -> Request:
    return Request(command="usage", prompt=prompt, user=user, where=where)


class Budgeted(Harness):
    """Image-test cores (one database, so a test may restart) with budgets and a fixed clock."""

    async def start(self, *, web: bool = False, **overrides) -> tuple[Core, RecordingOutbound]:
        return await super().start(web=web, **{"limit_user_concurrent": 2, **overrides})

    def prepare(self, core: Core) -> None:
        core.budget.clock = lambda: NOW


@pytest.fixture
async def budgeted(kie, settings_for):
    b = Budgeted(kie, settings_for)
    yield b
    for core in list(b.open):
        await b.close(core)


async def run(core: Core, request: Request) -> None:
    task = await core.bot.handle(request)
    if task is not None:
        await task


async def answer(core: Core, request: Request) -> str:
    return await core.usage.answer(request)
