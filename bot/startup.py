"""Why the bot cannot start, in one line that names what to fix.

A host that restarts a crashed process shows its last lines: a traceback there hides
the one thing the operator must change (a token, a port, the database file).
"""

from __future__ import annotations

import errno
import sqlite3

from .config import Settings
from .store import redact_url

PREFIX = "The bot cannot start: "


class StartupFailure(Exception):
    """Raised with the line to print; the process then exits with code 1."""


def one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    text = text.replace(": - ", ": ").replace(". - ", ". ")  # a settings error's bullet list
    return text or type(exc).__name__


def database_failure(exc: BaseException, settings: Settings) -> StartupFailure | None:
    if settings.database_url is not None:
        return _postgres_failure(exc, settings.database_url.get_secret_value())
    path = settings.bot_db_path
    if isinstance(exc, sqlite3.DatabaseError):
        return StartupFailure(
            f"{PREFIX}the database BOT_DB_PATH={path} cannot be used ({one_line(exc)}). "
            "Move the file away to start with an empty one, restore a backup, or point BOT_DB_PATH elsewhere."
        )
    if isinstance(exc, OSError):
        return StartupFailure(
            f"{PREFIX}the database BOT_DB_PATH={path} cannot be created ({exc.strerror or one_line(exc)}). "
            "Point BOT_DB_PATH at a writable place."
        )
    return None


def _postgres_failure(exc: BaseException, url: str) -> StartupFailure | None:
    import asyncpg  # only needed with DATABASE_URL

    if not isinstance(exc, (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)):
        return None
    reason = one_line(exc).replace(url, redact_url(url))
    return StartupFailure(
        f"{PREFIX}the database DATABASE_URL={redact_url(url)} cannot be used ({reason}). "
        "Check that PostgreSQL is running and reachable, and the URL's user, password and database name."
    )


def web_failure(exc: OSError, settings: Settings) -> StartupFailure:
    if exc.errno == errno.EADDRINUSE:
        return StartupFailure(
            f"{PREFIX}port {settings.port} is already in use. Stop the program using it or set PORT to a free port."
        )
    return StartupFailure(
        f"{PREFIX}cannot listen on {settings.web_host}:{settings.port} ({exc.strerror or one_line(exc)}). "
        "Check PORT and WEB_HOST."
    )


def adapter_failure(name: str, exc: BaseException) -> StartupFailure:
    reason = one_line(exc)
    if name.lower() not in reason.lower():  # say which platform, unless the reason does
        reason = f"{name.capitalize()}: {reason}"
    return StartupFailure(PREFIX + reason)
