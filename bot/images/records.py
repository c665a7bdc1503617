"""The durable image task table: everything needed to deliver a task after a restart.

A row is written before the create request is sent. Its `state` moves forward only by
atomic transitions (`UPDATE ... WHERE id = ? AND state IN (...)`, checking the row
count), so when a callback and a poll both see a task finish, exactly one of them wins
the move to `delivering` and the other does nothing.

    queued ──► submitting ──► running ──► delivering ──► done | failed
       │            │          ▲ └──────► gave_up ─┐
       └► failed    └──► unknown ───────────┴────────────┘ (KIE calls back for it)

`delivering -> running` also happens: a post the platform could not take for now.

The callback token is stored only as a SHA-256 hash: someone who reads the database
still cannot forge a callback.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from ..model import Destination
from ..store import Store

QUEUED = "queued"
SUBMITTING = "submitting"
RUNNING = "running"
DELIVERING = "delivering"
DONE = "done"
FAILED = "failed"
GAVE_UP = "gave_up"
UNKNOWN = "unknown"
UNFINISHED = (QUEUED, SUBMITTING, RUNNING, DELIVERING)
FINISHED = (DONE, FAILED, GAVE_UP, UNKNOWN)
# States in which KIE may still call back: the task exists, or may be about to, or KIE
# created it although the bot never learnt its id (unknown), or finished it after the
# bot stopped waiting (gave_up). A paid image is delivered whenever KIE says it is done.
CALLBACK_STATES = (SUBMITTING, RUNNING, UNKNOWN, GAVE_UP)

SCHEMA = """
CREATE TABLE IF NOT EXISTS image_tasks (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    token_hash TEXT UNIQUE,
    platform TEXT NOT NULL,
    destination TEXT NOT NULL,
    progress_key TEXT,
    user_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    engine TEXT NOT NULL,
    body TEXT NOT NULL,
    task_id TEXT,
    detail TEXT,
    created REAL NOT NULL,
    submitted REAL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS image_tasks_by_state ON image_tasks (state, created);
"""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ImageTask:
    id: str
    state: str
    platform: str
    where: Destination
    progress_key: str | None
    user_id: str
    prompt: str
    engine: str
    body: dict
    task_id: str | None
    created: float
    submitted: float | None
    detail: str | None = None


def _task(row) -> ImageTask:
    return ImageTask(
        id=row["id"],
        state=row["state"],
        platform=row["platform"],
        where=Destination.from_key(row["destination"]),
        progress_key=row["progress_key"],
        user_id=row["user_id"],
        prompt=row["prompt"],
        engine=row["engine"],
        body=json.loads(row["body"]),
        task_id=row["task_id"],
        created=row["created"],
        submitted=row["submitted"],
        detail=row["detail"],
    )


class ImageTasks:
    def __init__(self, store: Store, *, clock=time.time) -> None:
        self._store = store
        self._clock = clock
        # Called once with (task id, state) when a task reaches a FINISHED state: whatever
        # path ended it, the budget hears of it exactly once (moves are atomic).
        self.on_finished: Callable[[str, str], Awaitable[None]] | None = None

    async def start(self) -> None:
        await self._store.ensure_schema(SCHEMA)

    async def add(
        self, *, where: Destination, progress_key: str | None, user_id: str, prompt: str, engine: str, body: dict
    ) -> ImageTask:
        now = self._clock()
        local_id = uuid.uuid4().hex
        async with self._store.transaction() as db:
            await db.execute(
                "INSERT INTO image_tasks (id, state, platform, destination, progress_key, user_id, prompt, engine,"
                " body, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (local_id, QUEUED, where.platform, where.key(), progress_key, user_id, prompt, engine,
                 json.dumps(body), now, now),
            )
        found = await self.get(local_id)
        assert found is not None
        return found

    async def get(self, task_id: str) -> ImageTask | None:
        async with self._store.db.execute("SELECT * FROM image_tasks WHERE id = ?", (task_id,)) as cursor:
            row = await cursor.fetchone()
        return _task(row) if row else None

    async def by_token(self, token: str) -> ImageTask | None:
        async with self._store.db.execute(
            "SELECT * FROM image_tasks WHERE token_hash = ?", (hash_token(token),)
        ) as cursor:
            row = await cursor.fetchone()
        return _task(row) if row else None

    async def move(self, local_id: str, /, from_states: Iterable[str], to_state: str, **fields: object) -> bool:
        """Atomically move a task on, only from one of `from_states`. True if this call moved it."""
        allowed = tuple(from_states)
        columns = {"state": to_state, "updated": self._clock(), **fields}
        unknown = set(columns) - {"state", "updated", "token_hash", "task_id", "detail", "submitted", "progress_key"}
        if unknown:
            raise ValueError(f"not a settable column: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in columns)
        marks = ", ".join("?" for _ in allowed)
        async with self._store.transaction() as db:
            cursor = await db.execute(
                f"UPDATE image_tasks SET {assignments} WHERE id = ? AND state IN ({marks})",
                (*columns.values(), local_id, *allowed),
            )
            moved = cursor.rowcount == 1
        if moved and to_state in FINISHED and self.on_finished is not None:
            await self.on_finished(local_id, to_state)
        return moved

    async def unfinished(self) -> list[ImageTask]:
        marks = ", ".join("?" for _ in UNFINISHED)
        async with self._store.db.execute(
            f"SELECT * FROM image_tasks WHERE state IN ({marks}) ORDER BY created", UNFINISHED
        ) as cursor:
            rows = await cursor.fetchall()
        return [_task(row) for row in rows]

    async def count(self, state: str) -> int:
        async with self._store.db.execute("SELECT COUNT(*) FROM image_tasks WHERE state = ?", (state,)) as cursor:
            row = await cursor.fetchone()
        return int(row[0])

    async def prune_finished(self, before: float) -> int:
        """Delete tasks that ended (delivered, failed, given up) before `before`; never an
        unfinished one, which a restart must still resume. Returns how many went."""
        finished = (DONE, FAILED, GAVE_UP, UNKNOWN)
        marks = ", ".join("?" for _ in finished)
        async with self._store.transaction() as db:
            cursor = await db.execute(
                f"DELETE FROM image_tasks WHERE state IN ({marks}) AND updated < ?", (*finished, before)
            )
            return cursor.rowcount
