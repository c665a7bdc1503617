"""The schema, as one ordered list of migrations applied when the store opens.

Each migration runs once per database, inside a transaction with its version row, so a
start that fails midway leaves the database as it was. Several processes starting at
once take turns (`Store.migration_lock`). Never edit a migration that has shipped: add
the next one.

The SQL is written once for both engines. The few spellings that differ are filled in
per engine (`{serial}`: an auto-numbered key). Times are epoch seconds in DOUBLE
PRECISION (REAL in SQLite). Version 1 is the schema the tables had before migrations
existed, written with IF NOT EXISTS so an existing SQLite file is adopted as it is.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from . import Store

log = logging.getLogger(__name__)

_SPELLINGS = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT"},
    "postgres": {"serial": "BIGSERIAL PRIMARY KEY"},
}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self, engine: str) -> list[str]:
        script = self.sql.format(**_SPELLINGS[engine])
        return [part.strip() for part in script.split(";") if part.strip()]


MIGRATIONS: list[Migration] = [
    Migration(1, "conversations, event dedupe, image tasks, Discord links", """
        CREATE TABLE IF NOT EXISTS conversation_turns (
            conversation TEXT NOT NULL,
            seq {serial},
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX IF NOT EXISTS conversation_turns_by_key ON conversation_turns (conversation, seq);
        CREATE INDEX IF NOT EXISTS conversation_turns_by_time ON conversation_turns (created);

        CREATE TABLE IF NOT EXISTS seen_events (
            key TEXT PRIMARY KEY,
            seen DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX IF NOT EXISTS seen_events_by_time ON seen_events (seen);

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
            created DOUBLE PRECISION NOT NULL,
            submitted DOUBLE PRECISION,
            updated DOUBLE PRECISION NOT NULL
        );
        CREATE INDEX IF NOT EXISTS image_tasks_by_state ON image_tasks (state, created);

        CREATE TABLE IF NOT EXISTS discord_conversation_links (
            discord_id TEXT PRIMARY KEY,
            conversation TEXT NOT NULL,
            parent_id TEXT,
            created DOUBLE PRECISION NOT NULL
        )
    """),
    # Several processes: the process working on a task holds a lease on it and renews
    # it; when the lease runs out (the process died), another process adopts the task.
    Migration(2, "image task leases", """
        ALTER TABLE image_tasks ADD COLUMN owner TEXT;
        ALTER TABLE image_tasks ADD COLUMN lease_until DOUBLE PRECISION;
        CREATE INDEX IF NOT EXISTS image_tasks_by_lease ON image_tasks (state, lease_until)
    """),
    # Each process's heartbeat: how many share the database (budgets without Redis, `check`).
    Migration(3, "process heartbeats", """
        CREATE TABLE IF NOT EXISTS bot_processes (
            name TEXT PRIMARY KEY,
            started DOUBLE PRECISION NOT NULL,
            seen DOUBLE PRECISION NOT NULL
        )
    """),
    Migration(4, "per-channel settings (/config)", """
        CREATE TABLE IF NOT EXISTS channel_settings (
            platform TEXT NOT NULL,
            channel TEXT NOT NULL,
            instructions TEXT,
            model TEXT,
            effort TEXT,
            updated DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (platform, channel)
        )
    """),
    # Amounts are integer millicredits; BIGINT so a busy day's counters cannot overflow.
    Migration(5, "usage ledger and daily counters", """
        CREATE TABLE IF NOT EXISTS usage_ledger (
            id TEXT PRIMARY KEY,
            at DOUBLE PRECISION NOT NULL,
            day TEXT NOT NULL,
            state TEXT NOT NULL,
            kind TEXT NOT NULL,
            platform TEXT NOT NULL,
            team_id TEXT NOT NULL,
            channel_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            command TEXT NOT NULL,
            engine TEXT NOT NULL,
            task_ref TEXT,
            input_tokens INTEGER,
            cached_tokens INTEGER,
            output_tokens INTEGER,
            reasoning_tokens INTEGER,
            millicredits BIGINT NOT NULL,
            estimated INTEGER NOT NULL,
            counted INTEGER NOT NULL,
            note TEXT,
            settled_at DOUBLE PRECISION
        );
        CREATE INDEX IF NOT EXISTS usage_ledger_running ON usage_ledger (state, platform, user_id);
        CREATE INDEX IF NOT EXISTS usage_ledger_by_team ON usage_ledger (platform, team_id, day);
        CREATE INDEX IF NOT EXISTS usage_ledger_by_task ON usage_ledger (task_ref);
        CREATE TABLE IF NOT EXISTS usage_counters (
            scope TEXT NOT NULL,
            day TEXT NOT NULL,
            millicredits BIGINT NOT NULL,
            replies INTEGER NOT NULL,
            images INTEGER NOT NULL,
            PRIMARY KEY (scope, day)
        )
    """),
]

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied DOUBLE PRECISION NOT NULL
)
"""


async def migrate(store: Store, migrations: list[Migration] = MIGRATIONS) -> list[int]:
    """Apply the migrations this database has not had yet; returns their versions."""
    applied: list[int] = []
    async with store.migration_lock() as tx:
        await tx.execute(_VERSION_TABLE)
        done = {row[0] for row in await tx.fetchall("SELECT version FROM schema_migrations")}
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            for statement in migration.statements(store.engine):
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
                migration.version, migration.name, time.time(),
            )
            applied.append(migration.version)
    if applied:
        log.info("database migrated to version %d (%s)", applied[-1], store.describe())
    return applied


async def schema_version(store: Store) -> int:
    """The newest migration applied to this database (0 for a database never migrated)."""
    try:
        return int(await store.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))
    except Exception:
        return 0  # no version table yet


LATEST_VERSION = max(m.version for m in MIGRATIONS)
