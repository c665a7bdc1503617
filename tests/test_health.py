"""Readiness and metrics without a platform: the database check, error and image counts."""

from __future__ import annotations

from bot import metrics
from bot.errors import OutOfCredits
from bot.health import Connection, Readiness, _count_image_tasks
from bot.metrics import route_label
from bot.store import Store


async def test_the_database_check_fails_once_the_database_is_gone(tmp_path):
    store = await Store.open(str(tmp_path / "db.sqlite3"))
    readiness = Readiness(store)
    connection = Connection()
    readiness.add("chat", connection.up)
    assert await readiness.report() == {"database": True, "chat": False}
    connection.set(True)
    assert await readiness.report() == {"database": True, "chat": True}
    await store.close()
    assert await readiness.report() == {"database": False, "chat": True}


def test_route_labels_hide_ids_and_tokens():
    path = "/api/v10/webhooks/1234567890/aW50ZXJhY3Rpb246MTIzNDU2Nzg5MA/messages/@original"
    assert route_label("PATCH", path) == "PATCH /api/v10/webhooks/{id}/{token}/messages/@original"


def test_errors_are_counted_by_kind():
    before = metrics.REGISTRY.get_sample_value("bot_errors_total", {"kind": "OutOfCredits"}) or 0
    internal = metrics.REGISTRY.get_sample_value("bot_errors_total", {"kind": "internal"}) or 0
    metrics.record_error(OutOfCredits("no credits"))
    metrics.record_error(KeyError("bug"))
    assert metrics.REGISTRY.get_sample_value("bot_errors_total", {"kind": "OutOfCredits"}) == before + 1
    assert metrics.REGISTRY.get_sample_value("bot_errors_total", {"kind": "internal"}) == internal + 1


async def test_image_tasks_are_counted_by_state(core):
    await core.store.execute(
        "INSERT INTO image_tasks (id, state, platform, destination, user_id, prompt, engine, body, created, updated)"
        " VALUES ('t1', 'running', 'console', 'console|terminal||', 'u', 'p', 'gpt', '{}', 0, 0)"
    )
    await _count_image_tasks(core.store)
    assert metrics.REGISTRY.get_sample_value("bot_image_tasks", {"state": "running"}) == 1
    assert metrics.REGISTRY.get_sample_value("bot_image_tasks", {"state": "done"}) == 0
