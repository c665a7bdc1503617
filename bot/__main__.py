"""`python -m bot [run|console|check]`: start the bot, or check its configuration.

With Discord or Slack credentials it runs those adapters and the web server (callbacks,
Slack HTTP mode, health) in one event loop. Without them, or with `console`, it starts the
console adapter so anyone can try it in a terminal.

This is the composition root: the only part of `bot` that names the adapters, and it
imports them by name so the core itself never imports a platform library.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import sys

from .cli import build_parser
from .config import Settings, SettingsError, load_settings
from .health import watch as watch_readiness
from .logs import configure as configure_logging
from .runtime import Core

log = logging.getLogger("bot")

SHUTDOWN_GRACE_S = 20


def _platforms(settings: Settings) -> list[str]:
    names = []
    if settings.discord_token is not None:
        names.append("discord")
    if settings.slack_bot_token is not None:
        names.append("slack")
    return names


async def run_console(settings: Settings) -> int:
    core = await Core.create(settings)
    console = importlib.import_module("adapters.console").create(core)
    try:
        await console.start()
        for extra in core.extensions:
            await extra.start()
        if settings.public_base_url:
            await core.web.start()
        await console.run()
    finally:
        await core.close()
    return 0


async def run_platforms(settings: Settings, names: list[str]) -> int:
    core = await Core.create(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    adapters = [importlib.import_module(f"adapters.{name}").create(core) for name in names]
    for adapter in adapters:
        watch_readiness(core.readiness, adapter)
    started = []
    try:
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
        for extra in core.extensions:
            await extra.start()
        await core.web.start()  # after the adapters: they add routes (Slack HTTP mode)
        log.info("running: %s; web server on port %s", ", ".join(names), core.web.bound_port)
        await stopping.wait()
        log.info("shutting down")
        # Hosts allow ~30 s after SIGTERM: finish deliveries and replies in flight while
        # the adapters can still post, then disconnect.
        await core.stop_services()
        try:
            await asyncio.wait_for(core.drain(), SHUTDOWN_GRACE_S)
        except TimeoutError:
            log.warning("%d tasks still running after %ss; stopping them", core.runner.pending, SHUTDOWN_GRACE_S)
    finally:
        for adapter in reversed(started):
            with contextlib.suppress(Exception):
                await adapter.stop()
        await core.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 1 if args.mode == "check" else 2
    configure_logging(settings)
    names = _platforms(settings)
    if args.mode == "check":
        return asyncio.run(importlib.import_module("bot.check").main(settings, names))
    try:
        if args.mode == "console" or (args.mode is None and not names):
            if args.mode is None:
                print("No Discord or Slack credentials are set: starting the console. Type /help.", file=sys.stderr)
            return asyncio.run(run_console(settings))
        if not names:
            print("`run` needs DISCORD_TOKEN or SLACK_BOT_TOKEN (see README).", file=sys.stderr)
            return 2
        return asyncio.run(run_platforms(settings, names))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
