"""Run `python -m bot ...` as a real subprocess against a fake KIE on loopback."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.kie import API_KEY

ROOT = Path(__file__).resolve().parents[1]
_OWN_SETTINGS = (
    "KIE_", "DISCORD_", "SLACK_", "CODEX_", "RESPONSES_", "IMAGE_", "BOT_", "PUBLIC_BASE_URL", "LIMIT_", "DATABASE_URL",
    "REDIS_",
)


def bot_env(kie, tmp_path: Path, **extra: str) -> dict[str, str]:
    """This machine's environment without any bot setting, pointed at the fake KIE."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_SETTINGS)}
    env.update(
        KIE_API_KEY=API_KEY,
        KIE_BASE_URL=kie.url,
        KIE_UPLOAD_BASE_URL=kie.url,
        BOT_DB_PATH=str(tmp_path / "bot.sqlite3"),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


async def start_bot(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        cwd=cwd, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
