"""The `/codex`, `/image` and `/usage` slash commands.

Each one answers Discord first (a refusal, or a public deferral: long work is never
ephemeral, so a channel message can finish it after the 15-minute token), then hands the
neutral request to the core with the deferred response as its placeholder. `/usage` is
the exception: it only reads the bot's database, so it answers at once, privately.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import discord
from discord import app_commands

from bot import messages as core_messages
from bot.config import REASONING_EFFORTS
from bot.model import MessageRef, Request
from bot.runtime import Core

from . import messages, translate
from .access import Allowlists, role_ids
from .links import ConversationLinks
from .refs import make_ref

log = logging.getLogger(__name__)

RATIOS = ("1:1", "2:3", "3:2")
QUALITIES = ("medium", "high")
ENGINES = ("gpt-image-1.5", "4o")
MAX_PROMPT = 6000  # Discord's limit for a string option


def _choices(values: tuple[str, ...]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=v, value=v) for v in values]


class SlashCommands:
    def __init__(self, core: Core, *, allow: Allowlists, links: ConversationLinks) -> None:
        self._core = core
        self._allow = allow
        self._links = links

    def install(self, tree: app_commands.CommandTree) -> None:
        tree.add_command(self._codex_command())
        tree.add_command(self._image_command())
        tree.add_command(self._usage_command())
        tree.on_error = self._on_error  # type: ignore[method-assign]

    # -- definitions ------------------------------------------------------------------
    def _codex_command(self) -> app_commands.Command:
        async def codex(
            interaction: discord.Interaction,
            prompt: app_commands.Range[str, 1, MAX_PROMPT],
            model: str | None = None,
            effort: str | None = None,
            web_search: bool | None = None,
        ) -> None:
            await self._run(
                interaction,
                lambda placeholder, key: translate.codex_request(
                    interaction, prompt=prompt, model=model, effort=effort, web_search=web_search,
                    placeholder=placeholder, conversation_key=key,
                ),
            )

        codex = app_commands.describe(
            prompt=messages.CODEX_PROMPT, model=messages.CODEX_MODEL, effort=messages.CODEX_EFFORT,
            web_search=messages.CODEX_WEB_SEARCH,
        )(codex)
        models = self._core.settings.codex_models()
        if models:  # a non-KIE endpoint takes any model name, so the option stays free text
            codex = app_commands.choices(model=_choices(models))(codex)
        codex = app_commands.choices(effort=_choices(REASONING_EFFORTS))(codex)
        return app_commands.Command(name="codex", description=messages.CODEX_DESCRIPTION, callback=codex)

    def _image_command(self) -> app_commands.Command:
        @app_commands.describe(
            prompt=messages.IMAGE_PROMPT, ratio=messages.IMAGE_RATIO, quality=messages.IMAGE_QUALITY,
            engine=messages.IMAGE_ENGINE, reference=messages.IMAGE_REFERENCE,
        )
        @app_commands.choices(ratio=_choices(RATIOS), quality=_choices(QUALITIES), engine=_choices(ENGINES))
        async def image(
            interaction: discord.Interaction,
            prompt: app_commands.Range[str, 1, MAX_PROMPT],
            ratio: str | None = None,
            quality: str | None = None,
            engine: str | None = None,
            reference: discord.Attachment | None = None,
        ) -> None:
            await self._run(
                interaction,
                lambda placeholder, _key: translate.image_request(
                    interaction, prompt=prompt, ratio=ratio, quality=quality, engine=engine,
                    reference=reference, placeholder=placeholder,
                ),
            )

        return app_commands.Command(name="image", description=messages.IMAGE_DESCRIPTION, callback=image)

    def _usage_command(self) -> app_commands.Command:
        @app_commands.describe(scope=messages.USAGE_SCOPE)
        @app_commands.choices(scope=_choices(("me", "all")))
        async def usage(interaction: discord.Interaction, scope: str | None = None) -> None:
            refusal = self._refusal(interaction)
            if refusal is None:
                report = self._core.usage
                assert report is not None
                request = translate.usage_request(interaction, scope=scope)
                refusal = (await report.answer(request, mention=lambda user_id: f"<@{user_id}>"))[:2000]
            # Private, and answered at once: it reads only the bot's own database.
            await interaction.response.send_message(refusal, ephemeral=True)

        return app_commands.Command(name="usage", description=messages.USAGE_DESCRIPTION, callback=usage)

    # -- handling ---------------------------------------------------------------------
    def _refusal(self, interaction: discord.Interaction) -> str | None:
        return self._allow.refusal(
            guild_id=interaction.guild_id,
            channel_ids=(interaction.channel_id, getattr(interaction.channel, "parent_id", None)),
            user_id=interaction.user.id,
            role_ids=role_ids(interaction.user),
        )

    async def _run(self, interaction: discord.Interaction, build: Callable[[MessageRef, str], Request]) -> None:
        refusal = self._refusal(interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        # Nothing slow may come before this: Discord drops the interaction after 3 s.
        callback = await interaction.response.defer(thinking=True)
        message_id = callback.message_id if callback is not None else None
        if message_id is None:  # older API answers: ask for the deferred message itself
            message_id = (await interaction.original_response()).id
        channel_id = interaction.channel_id or 0
        placeholder = make_ref(channel_id, message_id, interaction)
        # A reply to this message continues the exchange (see `chat.MessageRouter`).
        key = f"discord:message:{message_id}"
        await self._links.link(message_id, key)
        await self._core.bot.handle(build(placeholder, key))

    async def _on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("slash command /%s failed", interaction.command.name if interaction.command else "?", exc_info=error)
        try:
            if interaction.response.is_done():
                await interaction.edit_original_response(content=core_messages.INTERNAL_ERROR)
            else:
                await interaction.response.send_message(core_messages.INTERNAL_ERROR, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the user that /%s failed", interaction.command.name if interaction.command else "?")
