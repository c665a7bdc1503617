"""The durable image task table: everything needed to deliver a task after a restart.

A row is written before the create request is sent. Its `state` moves forward only by
atomic transitions (`UPDATE ... WHERE id = ? AND state IN (...)`, checking the row
count), so when a callback and a poll both see a task finish, exactly one of them wins
the move to `delivering` and the other does nothing.

    queued ──► submitting ──► running ──► delivering ──► done | failed
       │            │          ▲ └──────► gave_up ─┐
       └► failed    └──► unknown ───────────┴────────────┘ (KIE calls back for it)

`delivering -> running` also happens: a post the platform could not take for now.

Several processes share the table (PostgreSQL): the process working on a task holds a
lease on it (`owner`, `lease_until`) and renews it while it lives; a task whose lease ran
out (its process died) is adopted by another process's poller. Adoption is a single
UPDATE over rows picked with `FOR UPDATE SKIP LOCKED`, so each task goes to one process.

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
    owner: str | None = None
    lease_until: float | None = None


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
        owner=row["owner"],
        lease_until=row["lease_until"],
    )


class ImageTasks:
    def __init__(self, store: Store, *, clock=time.time) -> None:
        self._store = store
        self._clock = clock
        # Called once with (task id, state) when a task reaches a FINISHED state: whatever
        # path ended it, the budget hears of it exactly once (moves are atomic).
        self.on_finished: Callable[[str, str], Awaitable[None]] | None = None

    async def start(self) -> None:
        """Nothing to prepare: the table comes with the store's migrations."""

    async def add(
        self, *, where: Destination, progress_key: str | None, user_id: str, prompt: str, engine: str, body: dict,
        owner: str | None = None, lease_until: float | None = None,
    ) -> ImageTask:
        now = self._clock()
        local_id = uuid.uuid4().hex
        row = await self._fetch_in_tx(
            "INSERT INTO image_tasks (id, state, platform, destination, progress_key, user_id, prompt, engine,"
            " body, created, updated, owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            local_id, QUEUED, where.platform, where.key(), progress_key, user_id, prompt, engine,
            json.dumps(body), now, now, owner, lease_until,
        )
        return _task(row[0])

    async def _fetch_in_tx(self, sql: str, *args: object) -> list:
        async with self._store.transaction() as tx:
            return await tx.fetchall(sql, *args)

    async def get(self, task_id: str) -> ImageTask | None:
        row = await self._store.fetchone("SELECT * FROM image_tasks WHERE id = ?", task_id)
        return _task(row) if row else None

    async def by_token(self, token: str) -> ImageTask | None:
        row = await self._store.fetchone("SELECT * FROM image_tasks WHERE token_hash = ?", hash_token(token))
        return _task(row) if row else None

    async def move(self, local_id: str, /, from_states: Iterable[str], to_state: str, **fields: object) -> bool:
        """Atomically move a task on, only from one of `from_states`. True if this call moved it."""
        allowed = tuple(from_states)
        columns = {"state": to_state, "updated": self._clock(), **fields}
        settable = {"state", "updated", "token_hash", "task_id", "detail", "submitted", "progress_key", "owner", "lease_until"}
        unknown = set(columns) - settable
        if unknown:
            raise ValueError(f"not a settable column: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in columns)
        marks = ", ".join("?" for _ in allowed)
        moved = await self._store.execute(
            f"UPDATE image_tasks SET {assignments} WHERE id = ? AND state IN ({marks})",
            *columns.values(), local_id, *allowed,
        ) == 1
        if moved and to_state in FINISHED and self.on_finished is not None:
            await self.on_finished(local_id, to_state)
        return moved

    async def unfinished(self) -> list[ImageTask]:
        marks = ", ".join("?" for _ in UNFINISHED)
        rows = await self._store.fetchall(
            f"SELECT * FROM image_tasks WHERE state IN ({marks}) ORDER BY created", *UNFINISHED
        )
        return [_task(row) for row in rows]

    async def count(self, state: str) -> int:
        return int(await self._store.fetchval("SELECT COUNT(*) FROM image_tasks WHERE state = ?", state))

    # -- leases (several processes) ------------------------------------------------------
    async def adopt(
        self, owner: str, *, lease_until: float, expired_before: float, limit: int, platforms: Iterable[str]
    ) -> list[ImageTask]:
        """Take up to `limit` unfinished tasks on `platforms` that nobody holds (no owner, or
        a lease that ran out before `expired_before`) for `owner`. Concurrent callers get
        different tasks. Returns them, now held by `owner`."""
        marks = ", ".join("?" for _ in UNFINISHED)
        where = tuple(platforms)
        platform_marks = ", ".join("?" for _ in where)
        rows = await self._fetch_in_tx(
            "UPDATE image_tasks SET owner = ?, lease_until = ? WHERE id IN ("
            f" SELECT id FROM image_tasks WHERE state IN ({marks}) AND platform IN ({platform_marks})"
            " AND (lease_until IS NULL OR lease_until < ?) ORDER BY created LIMIT ?"
            f"{self._store.skip_locked}) RETURNING *",
            owner, lease_until, *UNFINISHED, *where, expired_before, limit,
        )
        return sorted((_task(row) for row in rows), key=lambda task: task.created)

    async def renew(self, owner: str, *, lease_until: float) -> int:
        """Extend every lease `owner` holds on an unfinished task; returns how many."""
        marks = ", ".join("?" for _ in UNFINISHED)
        return await self._store.execute(
            f"UPDATE image_tasks SET lease_until = ? WHERE owner = ? AND state IN ({marks})",
            lease_until, owner, *UNFINISHED,
        )

    async def release(self, owner: str) -> int:
        """Give up `owner`'s leases at once (a clean stop), so others need not wait them out."""
        marks = ", ".join("?" for _ in UNFINISHED)
        return await self._store.execute(
            f"UPDATE image_tasks SET owner = NULL, lease_until = NULL WHERE owner = ? AND state IN ({marks})",
            owner, *UNFINISHED,
        )

    async def prune_finished(self, before: float) -> int:
        """Delete tasks that ended (delivered, failed, given up) before `before`; never an
        unfinished one, which a restart must still resume. Returns how many went."""
        finished = (DONE, FAILED, GAVE_UP, UNKNOWN)
        marks = ", ".join("?" for _ in finished)
        return await self._store.execute(
            f"DELETE FROM image_tasks WHERE state IN ({marks}) AND updated < ?", *finished, before
        )
