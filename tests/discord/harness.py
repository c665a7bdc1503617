"""Drive the adapter like Discord does: interactions through the command tree and views,
messages through the client's event handler; then wait on what the fake Discord saw."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from adapters.discord import DiscordAdapter
from bot.runtime import Core
from tests.fakes import discord_payloads as p
from tests.fakes.discord_api import Call, FakeDiscordApi
from tests.fakes.kie import FakeKie

NO_MENTIONS = {"parse": []}


@dataclass
class Harness:
    core: Core
    adapter: DiscordAdapter
    api: FakeDiscordApi
    kie: FakeKie

    @property
    def client(self) -> discord.Client:
        return self.adapter.client

    async def command(self, name: str, options: dict, **kw) -> dict:
        """Run `/name` as Discord would deliver it; returns the interaction payload."""
        payload = self.api.register_interaction(p.slash_command(name, options, **kw))
        interaction = discord.Interaction(data=payload, state=self.client._connection)
        await self.client.tree._call(interaction)
        return payload

    async def message(self, data: dict) -> None:
        """Deliver a MESSAGE_CREATE to the bot and let its handler run to the end."""
        state = self.client._connection
        channel, _ = state._get_guild_channel(data)
        await self.client.on_message(discord.Message(state=state, channel=channel, data=data))

    async def press(self, custom_id: str, message_id: int, *, invoker: int = p.USER_ID, as_shown: dict | None = None) -> dict:
        """Press a button on a message (as it is now, or `as_shown`); returns the bot's callback."""
        shown = as_shown or self.api.messages[message_id].data
        payload = self.api.register_interaction(p.button_press(custom_id, shown, invoker=invoker))
        self.client._connection.parse_interaction_create(payload)
        await self.api.wait_for(lambda api: any(payload["token"] in c.path for c in api.calls))
        return next(c for c in self.api.calls if payload["token"] in c.path).json

    async def settle(self) -> None:
        await self.core.drain()

    # -- reading what was sent ------------------------------------------------------------
    def original_edits(self, payload: dict) -> list[Call]:
        return self.api.of("PATCH", f"/webhooks/{p.APP_ID}/{payload['token']}/messages/@original")

    def writes(self) -> list[Call]:
        return self.api.message_writes()

    def original_id(self, payload: dict) -> int:
        return self.api.interactions[payload["token"]].message_id  # type: ignore[return-value]


def stop_button_id(call: Call) -> str | None:
    for row in (call.json or {}).get("components") or []:
        for item in row.get("components", []):
            if str(item.get("custom_id", "")).startswith("kiebot:stop:"):
                return item["custom_id"]
    return None
