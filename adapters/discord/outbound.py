"""`DiscordOutbound`: the core's outbound calls carried out on Discord, one REST call each.

- Limits are declared, not enforced here: the core's renderer paces writes and splits at
  2000 characters. `write_pace` names the window a write draws on: the channel's for
  channel messages, the interaction token's for edits through it once Discord has shown
  the two are separate (see `routes`).
- An edit of an interaction response uses the interaction token while it lives (with a
  minute of margin), then the bot token on the channel message. If that message is gone
  (deleted by someone), the text is posted as a new message and later edits follow it.
- Images are uploaded as files to the channel with the bot token, so they arrive even
  when the work outlived the 15-minute interaction token.
- `AllowedMentions.none()` is set on the client, and discord.py adds it to every send and
  every edit, so model output never pings anyone.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
from collections.abc import Callable, Sequence

import discord

from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, ImageFile, Pace
from bot.render.pacing import WritePacer

from .controls import controls_view
from .errors import discord_errors, message_gone, to_adapter_error, token_gone
from .refs import LiveMessage, live, make_ref, target_channel
from .routes import RouteLimits

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 * 1024 * 1024  # Discord's per-file limit in servers without boosts (D12)
MAX_REQUEST_BYTES = 24 * 1024 * 1024  # below Discord's 25 MiB request cap, leaving room for the form
MAX_FILES_PER_MESSAGE = 10
MAX_CHARS = 2000
TOKEN_MARGIN = datetime.timedelta(minutes=1)

CAPABILITIES = Capabilities(
    max_chars=MAX_CHARS,
    # One stream edits a message at most every 1.5 s, so a single stream uses about two
    # thirds of a window of ~5 writes / 5 s, and the shared budget below divides that
    # allowance between every stream writing in the same window.
    min_edit_interval=1.5,
    # The window of one channel, or of one interaction token (see `routes`). Discord's
    # window opens when the first write *arrives*; the pacer books writes when they are
    # *sent*. Counting it half a second longer absorbs the difference in travel time
    # between two writes (bench/bench_discord.py drew 429s at exactly 5.0 s).
    shared_edit_budget=(5, 5.5),
    max_file_bytes=MAX_FILE_BYTES,
)


class DiscordOutbound:
    capabilities = CAPABILITIES

    def __init__(
        self,
        client: discord.Client,
        *,
        routes: RouteLimits | None = None,
        now: Callable[[], datetime.datetime] = discord.utils.utcnow,
    ) -> None:
        self._client = client
        self._now = now
        self.routes = routes or RouteLimits(WritePacer())

    def write_pace(self, where: Destination, ref: MessageRef | None = None) -> Pace:
        # A thread is a channel of its own; see `routes` for interaction tokens.
        budget = self.capabilities.shared_edit_budget
        if ref is None:
            return self.routes.channel_pace(target_channel(where), budget)
        target = live(ref)
        if target.interaction is not None and self._token_usable(target.interaction):
            interaction = target.interaction
            return self.routes.token_pace(target.channel_id, interaction.id, interaction.token, budget)
        return self.routes.channel_pace(target.channel_id, budget)

    async def post(self, where: Destination, text: str, *, controls: Controls | None = None) -> MessageRef:
        channel = self._client.get_partial_messageable(target_channel(where))
        with discord_errors("post my reply"):
            message = await channel.send(text[:MAX_CHARS], view=controls_view(controls))
        return make_ref(message.channel.id, message.id)

    async def edit(self, ref: MessageRef, text: str, *, controls: Controls | None = None) -> None:
        target = live(ref)
        view = controls_view(controls)
        if target.interaction is not None and self._token_usable(target.interaction):
            try:
                await target.interaction.edit_original_response(content=text[:MAX_CHARS], view=view)
                return
            except discord.RateLimited as exc:  # longer than max_ratelimit_timeout: give up now
                raise to_adapter_error(exc, "update my reply") from exc
            except discord.HTTPException as exc:
                if not token_gone(exc):
                    raise to_adapter_error(exc, "update my reply") from exc
                log.info("interaction token no longer works (HTTP %s, code %s); editing through the channel", exc.status, exc.code)
        target.interaction = None  # from now on the bot token does the work
        await self._edit_in_channel(target, text, view)

    async def post_images(
        self, where: Destination, files: Sequence[ImageFile], caption: str, *, key: str | None = None
    ) -> MessageRef:
        channel = self._client.get_partial_messageable(target_channel(where))
        first: MessageRef | None = None
        for index, batch in enumerate(_batches(files) or [[]]):
            attachments = [discord.File(io.BytesIO(f.data), filename=f.filename) for f in batch]
            # discord.py sends a nonce with enforce_nonce: Discord returns the message it
            # already created for the same nonce (for a few minutes) instead of a second one.
            nonce = delivery_nonce(key, index) if key else None
            with discord_errors("upload the image"):
                message = await channel.send(
                    caption[:MAX_CHARS] if index == 0 and caption else None, files=attachments, nonce=nonce
                )
            first = first or make_ref(message.channel.id, message.id)
        assert first is not None
        return first

    async def status(self, where: Destination, text: str) -> None:
        """Nothing to do: every Discord request already shows a visible "thinking" placeholder,
        and Discord asks bots not to use the typing route for anything else (D23)."""

    # -- internals -------------------------------------------------------------------
    def _token_usable(self, interaction: discord.Interaction) -> bool:
        return self._now() < interaction.expires_at - TOKEN_MARGIN

    async def _edit_in_channel(self, target: LiveMessage, text: str, view: discord.ui.View | None) -> None:
        channel = self._client.get_partial_messageable(target.channel_id)
        try:
            await channel.get_partial_message(target.message_id).edit(content=text[:MAX_CHARS], view=view)
            return
        except discord.RateLimited as exc:
            raise to_adapter_error(exc, "update my reply") from exc
        except discord.HTTPException as exc:
            if not message_gone(exc):
                raise to_adapter_error(exc, "update my reply") from exc
            log.warning("message %s in channel %s is gone; posting the reply anew", target.message_id, target.channel_id)
        with discord_errors("post my reply"):
            message = await channel.send(text[:MAX_CHARS], view=view)
        target.message_id = message.id


def delivery_nonce(key: str, index: int) -> str:
    """A stable nonce for one message of one delivery (Discord allows at most 25 characters)."""
    return str(int.from_bytes(hashlib.sha256(f"{key}:{index}".encode()).digest()[:8], "big"))


def _batches(files: Sequence[ImageFile]) -> list[list[ImageFile]]:
    """Group files into messages within Discord's 10 files and 25 MiB per request."""
    batches: list[list[ImageFile]] = []
    size = 0
    for file in files:
        if not batches or len(batches[-1]) == MAX_FILES_PER_MESSAGE or size + len(file.data) > MAX_REQUEST_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(file)
        size += len(file.data)
    return batches
