"""The Stop button on a streaming reply.

It is a `DynamicItem`: the stop id travels in the button's custom_id, so a press is
understood without keeping a View per message in memory (and after a restart the core
simply answers that the reply has finished). Only the requester may stop a reply; the
core decides that, and the answer is shown only to the person who pressed.
"""

from __future__ import annotations

import logging
import re

import discord

from bot.ports import Controls

log = logging.getLogger(__name__)

STOP_PREFIX = "kiebot:stop:"
STOP_LABEL = "Stop"


class StopButton(discord.ui.DynamicItem[discord.ui.Button], template=re.escape(STOP_PREFIX) + r"(?P<stop_id>[A-Za-z0-9_-]{1,80})"):
    def __init__(self, stop_id: str) -> None:
        super().__init__(
            discord.ui.Button(label=STOP_LABEL, style=discord.ButtonStyle.secondary, emoji="⏹️", custom_id=STOP_PREFIX + stop_id)
        )
        self.stop_id = stop_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]) -> StopButton:
        return cls(match["stop_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = interaction.client.core.bot  # type: ignore[attr-defined]  # our DiscordClient carries the core
        answer = await bot.stop_anywhere(self.stop_id, str(interaction.user.id))
        await interaction.response.send_message(answer, ephemeral=True)


def controls_view(controls: Controls | None) -> discord.ui.View | None:
    """The components for `controls`; None (no components) when there is nothing to show."""
    if controls is None or controls.stop_id is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(StopButton(controls.stop_id))
    return view
