"""The spending ledger and its daily counters: every line of SQL about money.

- `usage_ledger`: one row per spend (a reply, an image), written *before* the spend as a
  `held` row (a reservation, and the mark that the request is running) and `settled`
  with the real figure when it ends. Amounts are integer millicredits (exact sums).
- `usage_counters`: per scope (`user:<platform>:<id>`, `channel:…`, `server:…`, `total`)
  and UTC day, the credits, replies and images so far, held amounts included. Checking a
  budget reads at most four counter rows by primary key, however long the ledger grows.

Both change together inside one `store.transaction()`, and the check and the reservation
happen in that same transaction, so two requests racing for the last of a budget cannot
both pass. The SQL is kept portable (no SQLite-only functions; `ON CONFLICT … DO UPDATE`
exists in SQLite and PostgreSQL; ids are text, days are 'YYYY-MM-DD' text, times UTC
epoch seconds). On PostgreSQL the transaction must also serialise these check-and-reserve
calls (e.g. `SELECT … FOR UPDATE` on the counter rows, or an advisory lock).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..store import Store

HELD = "held"
SETTLED = "settled"
REPLY = "reply"
IMAGE = "image"

_BUMP = (
    "INSERT INTO usage_counters (scope, day, millicredits, replies, images) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (scope, day) DO UPDATE SET millicredits = usage_counters.millicredits + excluded.millicredits, "
    "replies = usage_counters.replies + excluded.replies, images = usage_counters.images + excluded.images"
)


@dataclass(frozen=True)
class Totals:
    millicredits: int = 0
    replies: int = 0
    images: int = 0


@dataclass(frozen=True)
class Entry:
    """A spend about to start: who, where, what, and the amount to hold for it."""

    kind: str  # REPLY or IMAGE
    platform: str
    team_id: str  # "" when there is none (a DM, the console)
    channel_id: str
    user_id: str
    command: str
    engine: str  # the Codex model, or the image engine and quality
    millicredits: int  # held now: an image's price; 0 for a reply (its cost comes after)
    scopes: tuple[str, ...]  # the counters it adds to
    at: float
    day: str


@dataclass(frozen=True)
class Snapshot:
    """What a scope has spent today (held amounts included) and what the user has running."""

    today: dict[str, Totals]
    running: int

    def of(self, scope: str) -> Totals:
        return self.today.get(scope, Totals())


@dataclass(frozen=True)
class Settlement:
    millicredits: int
    estimated: bool = False
    input_tokens: int | None = None
    cached_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    note: str | None = None
    counts: bool = True  # False: the image was never made, so it leaves the image count


@dataclass(frozen=True)
class HeldRow:
    id: str
    kind: str
    task_ref: str | None
    engine: str
    millicredits: int


@dataclass
class LedgerRow:
    """A settled or held row, as a report or a test reads it."""

    id: str
    state: str
    kind: str
    user_id: str
    command: str
    engine: str
    millicredits: int
    estimated: bool
    tokens: tuple[int | None, int | None, int | None, int | None] = field(default=(None, None, None, None))
    note: str | None = None


Check = Callable[[Snapshot], object]  # returns None to go ahead, anything else is the refusal


class Ledger:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def start(self) -> None:
        """Nothing to prepare: the tables come with the store's migrations."""

    async def reserve(self, entry: Entry, check: Check) -> tuple[str | None, object]:
        """Check and hold in one transaction: `(id, None)` when held, `(None, refusal)` when
        `check` refused (nothing is written then)."""
        async with self._store.transaction() as db:
            # Check-then-hold must not interleave with another process's: one at a time.
            await db.lock("usage-ledger")
            snapshot = await self._snapshot(db, entry)
            refusal = check(snapshot)
            if refusal is not None:
                return None, refusal
            entry_id = new_id()
            # Each statement is a trip to the database thread: a reply's reservation is
            # kept to one read and one write (its counters move when it is settled).
            await db.execute(
                "INSERT INTO usage_ledger (id, at, day, state, kind, platform, team_id, channel_id, user_id, command,"
                " engine, millicredits, estimated, counted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                entry_id, entry.at, entry.day, HELD, entry.kind, entry.platform, entry.team_id, entry.channel_id,
                entry.user_id, entry.command, entry.engine, entry.millicredits, 1, 1,
            )
            if entry.kind == IMAGE:  # its price is held (and it counts as an image) from now on
                await db.executemany(
                    _BUMP, [(scope, entry.day, entry.millicredits, 0, 1) for scope in entry.scopes]
                )
            return entry_id, None

    @staticmethod
    async def _snapshot(db, entry: Entry) -> Snapshot:
        """Today's counters of the entry's scopes and the user's running count, in one query."""
        marks = ", ".join("?" for _ in entry.scopes)
        rows = await db.fetchall(
            f"SELECT scope, millicredits, replies, images FROM usage_counters WHERE day = ? AND scope IN ({marks})"
            " UNION ALL SELECT '', COUNT(*), 0, 0 FROM usage_ledger WHERE state = ? AND platform = ? AND user_id = ?",
            entry.day, *entry.scopes, HELD, entry.platform, entry.user_id,
        )
        today = {scope: Totals(int(m), int(r), int(i)) for scope, m, r, i in rows if scope}
        running = next(int(m) for scope, m, _, _ in rows if not scope)
        return Snapshot(today, running)

    async def attach(self, entry_id: str, task_ref: str) -> None:
        """Link a held row to the task it pays for (so it is settled when the task ends)."""
        await self._store.execute("UPDATE usage_ledger SET task_ref = ? WHERE id = ?", task_ref, entry_id)

    async def settle(self, entry_id: str, settlement: Settlement, *, now: float) -> bool:
        """Replace a held row's amount with the final one, once. True if this call settled it."""
        async with self._store.transaction() as db:
            found = await db.fetchall(
                "SELECT kind, day, platform, team_id, channel_id, user_id, millicredits FROM usage_ledger"
                " WHERE id = ? AND state = ?" + self._store.skip_locked,
                entry_id, HELD,
            )
            if not found:
                return False
            kind, day, platform, team_id, channel_id, user_id, held = found[0]
            settled = await db.execute(
                "UPDATE usage_ledger SET state = ?, millicredits = ?, estimated = ?, input_tokens = ?,"
                " cached_tokens = ?, output_tokens = ?, reasoning_tokens = ?, note = ?, settled_at = ?, counted = ?"
                " WHERE id = ? AND state = ?",
                SETTLED, settlement.millicredits, int(settlement.estimated), settlement.input_tokens,
                settlement.cached_tokens, settlement.output_tokens, settlement.reasoning_tokens, settlement.note,
                now, int(settlement.counts), entry_id, HELD,
            )
            if settled != 1:
                return False
            images = -1 if kind == IMAGE and not settlement.counts else 0
            replies = 1 if kind == REPLY else 0
            delta = settlement.millicredits - held
            if delta or images or replies:
                scopes = scopes_of(platform, team_id, channel_id, user_id)
                await db.executemany(_BUMP, [(scope, day, delta, replies, images) for scope in scopes])
            return True

    async def held(self) -> list[HeldRow]:
        rows = await self._store.fetchall(
            "SELECT id, kind, task_ref, engine, millicredits FROM usage_ledger WHERE state = ?", HELD
        )
        return [HeldRow(*row) for row in rows]

    async def held_for_task(self, task_ref: str) -> str | None:
        return await self._store.fetchval("SELECT id FROM usage_ledger WHERE task_ref = ? AND state = ?", task_ref, HELD)

    async def totals(self, scope: str, first_day: str, last_day: str) -> Totals:
        row = await self._store.fetchone(
            "SELECT COALESCE(SUM(millicredits), 0), COALESCE(SUM(replies), 0), COALESCE(SUM(images), 0)"
            " FROM usage_counters WHERE scope = ? AND day >= ? AND day <= ?",
            scope, first_day, last_day,
        )
        return Totals(*(int(v) for v in row))

    async def by_day(self, scope: str, first_day: str, last_day: str) -> dict[str, Totals]:
        rows = await self._store.fetchall(
            "SELECT day, millicredits, replies, images FROM usage_counters WHERE scope = ? AND day >= ? AND day <= ?",
            scope, first_day, last_day,
        )
        return {day: Totals(int(m), int(r), int(i)) for day, m, r, i in rows}

    async def top_users(
        self, platform: str | None, team_id: str | None, first_day: str, last_day: str, limit: int
    ) -> list[tuple[str, str, Totals]]:
        """The biggest spenders of a server (or of the whole bot when `platform` is None):
        `(platform, user_id, totals)`, dearest first."""
        where, params = "day >= ? AND day <= ?", [first_day, last_day]
        if platform is not None:
            where += " AND platform = ? AND team_id = ?"
            params += [platform, team_id or ""]
        rows = await self._store.fetchall(
            "SELECT platform, user_id, SUM(millicredits) AS spent,"
            f" SUM(CASE WHEN kind = '{REPLY}' THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN kind = '{IMAGE}' THEN counted ELSE 0 END)"
            f" FROM usage_ledger WHERE {where} GROUP BY platform, user_id ORDER BY spent DESC, user_id LIMIT ?",
            *params, limit,
        )
        return [(p, u, Totals(int(m), int(r), int(i))) for p, u, m, r, i in rows]

    async def rows(self, *, kind: str | None = None) -> list[LedgerRow]:
        query = "SELECT * FROM usage_ledger" + (" WHERE kind = ?" if kind else "") + " ORDER BY at, id"
        found = await self._store.fetchall(query, *((kind,) if kind else ()))
        return [
            LedgerRow(
                id=r["id"], state=r["state"], kind=r["kind"], user_id=r["user_id"], command=r["command"],
                engine=r["engine"], millicredits=r["millicredits"], estimated=bool(r["estimated"]),
                tokens=(r["input_tokens"], r["cached_tokens"], r["output_tokens"], r["reasoning_tokens"]),
                note=r["note"],
            )
            for r in found
        ]


def new_id() -> str:
    """Time-ordered (nanoseconds, then randomness): new rows go at the end of the primary
    key's index instead of at random places in it, which keeps inserts cheap in a big ledger."""
    return f"{time.time_ns():016x}{secrets.token_hex(4)}"


def scopes_of(platform: str, team_id: str, channel_id: str, user_id: str) -> tuple[str, ...]:
    """The counters one spend adds to. A DM or the console has no server."""
    scopes = [user_scope(platform, user_id), channel_scope(platform, channel_id)]
    if team_id:
        scopes.append(server_scope(platform, team_id))
    scopes.append(TOTAL)
    return tuple(scopes)


TOTAL = "total"


def user_scope(platform: str, user_id: str) -> str:
    return f"user:{platform}:{user_id}"


def channel_scope(platform: str, channel_id: str) -> str:
    return f"channel:{platform}:{channel_id}"


def server_scope(platform: str, team_id: str) -> str:
    return f"server:{platform}:{team_id}"


__all__: Sequence[str] = (
    "Entry", "HeldRow", "Ledger", "LedgerRow", "Settlement", "Snapshot", "Totals", "scopes_of",
    "user_scope", "channel_scope", "server_scope", "TOTAL", "HELD", "SETTLED", "REPLY", "IMAGE",
)
