"""`python -m bot [run|console|check]`: start the bot, or check its configuration.

With Discord or Slack credentials it runs those adapters and the web server (callbacks,
Slack HTTP mode, health) in one event loop. Without them, or with `console`, it starts the
console adapter so anyone can try it in a terminal.

This is the composition root: the only part of `bot` that names the adapters, and it
imports them by name so the core itself never imports a platform library.

Exit codes: 0 after SIGTERM/SIGINT or the end of the console's input; 1 when the bot
cannot start or an adapter dies (one line on stderr says why), so the host restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import logging.handlers
import signal
import sys

from .cli import build_parser
from .config import Settings, SettingsError, load_settings
from .health import watch as watch_readiness
from .logs import configure as configure_logging
from .runtime import Core
from .startup import PREFIX, StartupFailure, adapter_failure, database_failure, one_line, web_failure

log = logging.getLogger("bot")

# Hosts allow 30 s after SIGTERM (Heroku then kills). Replies end at once with a final
# edit; this bounds the wait for anything else in flight, leaving room for the image
# service's own grace and for disconnecting.
SHUTDOWN_GRACE_S = 10


def _platforms(settings: Settings) -> list[str]:
    names = []
    if settings.discord_token is not None:
        names.append("discord")
    if settings.slack_bot_token is not None:
        names.append("slack")
    return names


def _stop_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT (the host's stop, or Ctrl-C)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    return stopping


async def _open_core(settings: Settings) -> Core:
    try:
        return await Core.create(settings)
    except Exception as exc:
        failure = database_failure(exc, settings)
        if failure is None:
            raise
        raise failure from None


async def _start_web(core: Core) -> None:
    try:
        await core.web.start()
    except OSError as exc:
        raise web_failure(exc, core.settings) from None


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def run_console(settings: Settings) -> int:
    stopping = _stop_signals()
    core = await _open_core(settings)
    console = importlib.import_module("adapters.console").create(core)
    try:
        await console.start()
        for extra in core.extensions:
            await extra.start()
        if settings.public_base_url:
            await _start_web(core)
        _started()
        session = asyncio.ensure_future(console.run())
        signalled = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({session, signalled}, return_when=asyncio.FIRST_COMPLETED)
        signalled.cancel()
        if stopping.is_set():
            await core.shut_down(SHUTDOWN_GRACE_S)
            session.cancel()
            await asyncio.gather(session, return_exceptions=True)
        else:
            session.result()
    finally:
        await core.close()
    return 0


async def run_platforms(settings: Settings, names: list[str]) -> int:
    stopping = _stop_signals()
    core = await _open_core(settings)
    adapters = []
    try:
        for name in names:
            try:
                adapters.append(importlib.import_module(f"adapters.{name}").create(core))
                watch_readiness(core.readiness, adapters[-1])
                await adapters[-1].start()
            except Exception as exc:
                raise adapter_failure(name, exc) from None
        for extra in core.extensions:
            await extra.start()
        await _start_web(core)  # after the adapters: they add routes (Slack HTTP mode)
        _started()
        log.info("running: %s; web server on port %s", ", ".join(names), core.web.bound_port)
        # An adapter whose connection loop died cannot serve anyone: end the process so
        # the host restarts it, rather than run on as a zombie that looks healthy.
        await _first(stopping, core.runner.daemon_failed)
        log.info("shutting down")
        await core.shut_down(SHUTDOWN_GRACE_S)
    finally:
        for adapter in reversed(adapters):
            with contextlib.suppress(Exception):
                await adapter.stop()
        await core.close()
    if core.runner.daemon_failure is not None:
        name, exc = core.runner.daemon_failure
        print(f"The bot stopped: {name}: {one_line(exc)}", file=sys.stderr)  # the last line the host shows
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _cannot_start(one_line(exc))
    configure_logging(settings)
    _hold_logs_until_started(settings.log_level)
    names = _platforms(settings)
    if args.mode == "check":
        return asyncio.run(importlib.import_module("bot.check").main(settings, names))
    try:
        if args.mode == "console" or (args.mode is None and not names):
            if args.mode is None:
                print("No Discord or Slack credentials are set: starting the console. Type /help.", file=sys.stderr)
            return asyncio.run(run_console(settings))
        if not names:
            return _cannot_start("`run` needs DISCORD_TOKEN or SLACK_BOT_TOKEN (see README).")
        return asyncio.run(run_platforms(settings, names))
    except StartupFailure as failure:
        return _cannot_start(str(failure))
    except KeyboardInterrupt:
        return 130


def _hold_logs_until_started(level: str) -> None:
    """Hold the log records (as `logs.configure` formats them) until the bot is up
    (`_started`): when it cannot start, its one-line reason is all the host's log shows.
    DEBUG holds nothing."""
    if level == "DEBUG":
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        root.addHandler(logging.handlers.MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1, target=handler))


def _started() -> None:
    """Start-up is over: write the held records and log straight to stderr from now on."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.handlers.MemoryHandler) and handler.target is not None:
            root.removeHandler(handler)
            handler.flush()
            root.addHandler(handler.target)


def _cannot_start(reason: str) -> int:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.handlers.MemoryHandler):
            handler.buffer.clear()  # the reason says it all (LOG_LEVEL=DEBUG keeps every record)
    print(reason if reason.startswith("The bot cannot start") else PREFIX + reason, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
