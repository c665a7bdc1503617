"""`/config`: an admin's per-channel settings (system prompt, model, effort).

Discord shows the command only to members with Manage Server (`default_member_permissions`;
a server's admins can change who sees it in Server Settings > Integrations), and only in
servers. A thread's settings are its parent channel's. Answers are ephemeral.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.config import REASONING_EFFORTS
from bot.errors import UsageError
from bot.runtime import Core

from .refs import PLATFORM, destination_for

MAX_INSTRUCTIONS = 6000  # Discord's limit for a string option


class ConfigCommand:
    def __init__(self, core: Core) -> None:
        self._core = core

    def install(self, tree: app_commands.CommandTree) -> None:
        tree.add_command(self._command())

    def _command(self) -> app_commands.Command:
        async def config(
            interaction: discord.Interaction,
            instructions: app_commands.Range[str, 1, MAX_INSTRUCTIONS] | None = None,
            model: str | None = None,
            effort: str | None = None,
            reset: bool | None = None,
        ) -> None:
            text = await self._apply(interaction, instructions=instructions, model=model, effort=effort, reset=bool(reset))
            await interaction.response.send_message(text, ephemeral=True)

        config = app_commands.describe(
            instructions="The system prompt for this channel",
            model="The Codex model for this channel",
            effort="The reasoning effort for this channel",
            reset="Forget this channel's settings first",
        )(config)
        models = self._core.settings.codex_models()
        if models:
            config = app_commands.choices(model=[app_commands.Choice(name=m, value=m) for m in models])(config)
        config = app_commands.choices(effort=[app_commands.Choice(name=e, value=e) for e in REASONING_EFFORTS])(config)
        config = app_commands.default_permissions(manage_guild=True)(config)
        config = app_commands.guild_only()(config)
        return app_commands.Command(
            name="config", description="Show or change this channel's Codex settings (admins)", callback=config
        )

    async def _apply(self, interaction: discord.Interaction, **changes: object) -> str:
        channels = self._core.channels
        assert channels is not None
        channel = interaction.channel or discord.Object(id=interaction.channel_id or 0)
        channel_id = destination_for(channel, interaction.guild_id).channel_id  # a thread's parent
        said: list[str] = []
        try:
            if changes.pop("reset"):
                said.append(await channels.command(PLATFORM, channel_id, "reset"))
            for name, value in changes.items():
                if value is not None:
                    said.append(await channels.command(PLATFORM, channel_id, f"{name} {value}"))
            if not said:
                said.append(await channels.command(PLATFORM, channel_id, ""))
        except UsageError as exc:
            said.append(exc.message)
        return "\n".join(said)[:2000]
