"""The bot as a real process (`python -m bot ...`) against the fakes, watched line by line.

discord.py has no setting for its API and gateway addresses, so Discord runs go through
this module as a launcher (`python -m tests.bot_process ...`): it points discord.py at
the fake Discord named in the environment, then runs `bot.__main__.main` unchanged.
Slack and KIE need no launcher (`SLACK_API_URL`, `KIE_BASE_URL`).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path

from tests.console_process import bot_env

ROOT = Path(__file__).resolve().parents[1]
FAKE_DISCORD_API = "TEST_FAKE_DISCORD_API"
FAKE_DISCORD_GATEWAY = "TEST_FAKE_DISCORD_GATEWAY"


class BotProcess:
    """A running bot; collects its stdout and stderr so tests can wait for a line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stdout = ""
        self.stderr = ""
        self._changed = asyncio.Condition()
        self._readers = [
            asyncio.ensure_future(self._collect(process.stdout, "stdout")),
            asyncio.ensure_future(self._collect(process.stderr, "stderr")),
        ]

    async def _collect(self, stream: asyncio.StreamReader | None, name: str) -> None:
        assert stream is not None
        while chunk := await stream.read(4096):
            setattr(self, name, getattr(self, name) + chunk.decode())
            async with self._changed:
                self._changed.notify_all()

    async def wait_for(self, name: str, pattern: str, timeout: float = 15.0) -> re.Match[str]:
        """Wait until `pattern` appears on stdout or stderr (`name`); returns the match."""
        found: list[re.Match[str]] = []

        def seen() -> bool:
            match = re.search(pattern, getattr(self, name))
            if match:
                found.append(match)
            return match is not None or self.process.returncode is not None

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(seen)
        assert found, f"the bot exited ({self.process.returncode}) before printing {pattern!r}:\n{self.stderr}"
        return found[0]

    async def send_line(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def exit_code(self, timeout: float = 15.0) -> int:
        async with asyncio.timeout(timeout):
            code = await self.process.wait()
            await asyncio.gather(*self._readers)
        return code

    def terminate(self) -> float:
        """SIGTERM, as the host sends it; returns when (monotonic)."""
        self.process.terminate()
        return time.monotonic()

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for reader in self._readers:
            reader.cancel()


async def launch(env: dict[str, str], cwd: Path, *args: str, discord=None, gateway=None) -> BotProcess:
    """Start the bot; with `discord`/`gateway` fakes, through the launcher below."""
    if discord is not None:
        env = {**env, FAKE_DISCORD_API: discord.api_base, FAKE_DISCORD_GATEWAY: gateway.url if gateway else ""}
        command = [sys.executable, "-m", "tests.bot_process", *args]
    else:
        command = [sys.executable, "-m", "bot", *args]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    return BotProcess(process)


def env_for(kie, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The bot's environment: fake KIE, a fresh database, the web server on loopback."""
    return bot_env(kie, tmp_path, WEB_HOST="127.0.0.1", PORT="0", CODEX_MAX_RETRIES="0", **extra)


def _run_against_fake_discord() -> int:
    import discord
    import yarl

    discord.http.Route.BASE = os.environ[FAKE_DISCORD_API]
    if os.environ.get(FAKE_DISCORD_GATEWAY):
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ[FAKE_DISCORD_GATEWAY])
    from bot.__main__ import main

    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(_run_against_fake_discord())
