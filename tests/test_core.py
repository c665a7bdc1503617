"""Core seams: the background-work owner, error reporting, and the core's independence."""

from __future__ import annotations

import ast
from pathlib import Path

from bot import messages
from bot.app import Bot
from bot.errors import UsageError
from bot.model import Destination, MessageRef, Request, User
from bot.tasks import TaskRunner
from tests.fakes.outbound import RecordingOutbound

WHERE = Destination(platform="fake", channel_id="c")


class Exploding:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def run(self, request, out) -> None:
        raise self.exc


async def handled(exc: Exception, placeholder=None) -> RecordingOutbound:
    bot = Bot(runner=TaskRunner())
    out = RecordingOutbound()
    bot.register_outbound("fake", out)
    bot.register_handler("codex", Exploding(exc))
    task = await bot.handle(Request(command="codex", prompt="x", user=User(id="u"), where=WHERE, placeholder=placeholder))
    await task
    return out


async def test_an_unexpected_failure_is_reported_without_its_details():
    out = await handled(RuntimeError("db password is hunter2"))
    assert [c.text for c in out.calls] == [messages.INTERNAL_ERROR]


async def test_a_user_facing_error_is_shown_in_the_placeholder():
    out = await handled(UsageError("Bad option."), placeholder=MessageRef(platform="fake", key="p"))
    assert [(c.kind, c.key, c.text) for c in out.calls] == [("edit", "p", "Bad option.")]


async def test_an_unknown_command_is_answered():
    bot = Bot(runner=TaskRunner())
    out = RecordingOutbound()
    bot.register_outbound("fake", out)
    assert await bot.handle(Request(command="image", prompt="x", user=User(id="u"), where=WHERE)) is None
    assert [c.text for c in out.calls] == ["/image is not available on this bot."]


async def test_wait_idle_waits_for_tasks_spawned_while_waiting():
    runner = TaskRunner()
    done: list[str] = []

    async def child() -> None:
        done.append("child")

    async def parent() -> None:
        runner.spawn(child(), name="child")
        done.append("parent")

    runner.spawn(parent(), name="parent")
    await runner.wait_idle()
    assert done == ["parent", "child"]


def test_destination_round_trips():
    where = Destination(platform="slack", channel_id="C1", thread_id="1700.1", team_id="T1")
    assert Destination.from_key(where.key()) == where
    assert Destination.from_key(WHERE.key()) == WHERE


def test_the_core_never_imports_a_platform_library():
    root = Path(__file__).resolve().parents[1] / "bot"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"discord", "slack_bolt", "slack_sdk", "adapters"}:
                    offenders.append(f"{path.relative_to(root)}: {name}")
    assert offenders == []
