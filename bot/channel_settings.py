"""Per-channel settings (`/config`): the system prompt, the model and the effort.

A channel is a Discord channel (a thread uses its parent's), a Slack channel or the
console's terminal. What a request asks for itself (`--model`, `--effort`) wins over the
channel's setting, which wins over the process-wide one (`CODEX_MODEL`, `CODEX_EFFORT`,
`CODEX_INSTRUCTIONS`). Who may change them is the adapters' business (Discord: Manage
Server; Slack: admins); this module only stores, validates and describes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .config import REASONING_EFFORTS, Settings
from .errors import UsageError
from .store import Store

MAX_INSTRUCTIONS_CHARS = 8_000
USAGE = "Usage: /config (show), /config instructions TEXT, /config model M, /config effort E, /config reset."


@dataclass(frozen=True)
class ChannelConfig:
    instructions: str | None = None
    model: str | None = None
    effort: str | None = None


class ChannelSettings:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    async def start(self) -> None:
        """Nothing to prepare: the table comes with the store's migrations."""

    async def get(self, platform: str, channel: str) -> ChannelConfig:
        row = await self._store.fetchone(
            "SELECT instructions, model, effort FROM channel_settings WHERE platform = ? AND channel = ?",
            platform, channel,
        )
        return ChannelConfig(row["instructions"], row["model"], row["effort"]) if row else ChannelConfig()

    async def _set(self, platform: str, channel: str, field: str, value: str) -> None:
        assert field in ("instructions", "model", "effort")  # a column name, never user input
        await self._store.execute(
            f"INSERT INTO channel_settings (platform, channel, {field}, updated) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT (platform, channel) DO UPDATE SET {field} = excluded.{field}, updated = excluded.updated",
            platform, channel, value, time.time(),
        )

    async def reset(self, platform: str, channel: str) -> None:
        await self._store.execute("DELETE FROM channel_settings WHERE platform = ? AND channel = ?", platform, channel)

    async def command(self, platform: str, channel: str, text: str) -> str:
        """Carry out `/config TEXT` for a channel; return what to tell the admin.

        Raises `UsageError` for a bad setting or value."""
        name, _, value = text.strip().partition(" ")
        value = value.strip()
        if not name:
            return self.describe(await self.get(platform, channel))
        if name == "reset":
            await self.reset(platform, channel)
            return "This channel's settings are reset to the bot's defaults."
        if name not in ("instructions", "model", "effort"):
            raise UsageError(f"Unknown setting {name[:40]!r}. {USAGE}")
        if not value:
            raise UsageError(f"/config {name} needs a value. {USAGE}")
        value = self._validate(name, value)
        await self._set(platform, channel, name, value)
        return f"This channel's {name} {'are' if name == 'instructions' else 'is'} now: {value}"

    def _validate(self, name: str, value: str) -> str:
        if name == "model":
            allowed = self._settings.codex_models()
            if (allowed is not None and value not in allowed) or len(value) > 100:
                raise UsageError(f"Unknown model {value[:60]!r}. Choose one of: {', '.join(allowed or ())}.")
        elif name == "effort":
            value = value.lower()
            if value not in REASONING_EFFORTS:
                raise UsageError(f"Unknown effort {value[:40]!r}. Choose one of: {', '.join(REASONING_EFFORTS)}.")
        elif len(value) > MAX_INSTRUCTIONS_CHARS:
            raise UsageError(f"The instructions are {len(value):,} characters; the limit is {MAX_INSTRUCTIONS_CHARS:,}.")
        return value

    def describe(self, config: ChannelConfig) -> str:
        def line(name: str, own: str | None, default: str | None) -> str:
            if own:
                return f"{name}: {own} (this channel)"
            return f"{name}: {default} (the bot's default)" if default else f"{name}: none"

        settings = self._settings
        return "\n".join([
            "Settings for this channel:",
            line("instructions", config.instructions, settings.codex_instructions),
            line("model", config.model, settings.codex_model),
            line("effort", config.effort, settings.codex_effort),
            USAGE,
        ])
