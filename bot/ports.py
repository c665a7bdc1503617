"""What an adapter must do for the core: the outbound protocol and its declared limits.

An adapter implements `Outbound`. The core decides what to say, when to edit, and how
to split; the adapter only carries out one platform call per method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .model import Destination, MessageRef


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """Limits an adapter declares; the core's stream and image policy reads them.

    - `max_chars`: longest text one message may carry.
    - `can_edit`: whether a posted message can be replaced (console output cannot).
    - `min_edit_interval`: shortest gap between two edits of one message, in seconds.
    - `shared_edit_budget`: `(writes, seconds)` shared by every message in one scope
      (a Discord channel or interaction token), or None; see `Outbound.write_pace`.
    - `max_file_bytes`: largest file `post_images` may send.
    - `native_stream`: the adapter implements `NativeStreaming` (Slack's chat streams).
    - `cursor`: show a typing cursor at the end of in-progress text.
    - `stream_interval`: with `native_stream`, the shortest gap between two appends to
      one streaming message, in seconds (pending text is flushed on this clock).
    """

    max_chars: int
    can_edit: bool = True
    min_edit_interval: float = 1.0
    shared_edit_budget: tuple[int, float] | None = None
    max_file_bytes: int = 8 * 1024 * 1024
    native_stream: bool = False
    cursor: bool = True
    stream_interval: float = 1.0


Budget = tuple[int, float]  # (writes, seconds)


@dataclass(frozen=True)
class Pace:
    """The shared limit one write draws on: a scope key and its budget (None = unpaced).

    `burst`, when set, is a second, shorter window the same writes must also fit (Slack's
    per-minute tiers allow only small bursts)."""

    scope: str
    budget: Budget | None
    burst: Budget | None = None


@dataclass(frozen=True, kw_only=True)
class Controls:
    """Interactive controls on a message. `stop_id` adds a Stop button.

    When the requester presses it the adapter calls `Bot.stop(stop_id, user_id)`.
    """

    stop_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ImageFile:
    filename: str
    content_type: str
    data: bytes


@runtime_checkable
class Outbound(Protocol):
    capabilities: Capabilities

    def write_pace(self, where: Destination, ref: MessageRef | None = None) -> Pace:
        """The shared limit a post to `where` (`ref` None) or an edit of `ref` draws on.
        Limits may depend on the route (Discord: interaction token vs channel; Slack:
        chat.postMessage per channel vs chat.update per workspace)."""
        ...

    async def post(self, where: Destination, text: str, *, controls: Controls | None = None) -> MessageRef:
        """Post a new message and return a handle on it."""
        ...

    async def edit(self, ref: MessageRef, text: str, *, controls: Controls | None = None) -> None:
        """Replace the text of a message this adapter posted. `controls=None` removes them."""
        ...

    async def post_images(
        self, where: Destination, files: Sequence[ImageFile], caption: str, *, key: str | None = None
    ) -> MessageRef:
        """Upload image files with a caption.

        `key` identifies the delivery: posting again with the same key (after a crash
        between the post and the record of it) should not show the images twice, as far
        as the platform allows (Discord nonces, a look at the Slack thread, the console's
        file names). Raise `AdapterError(retryable=True)` when nothing was posted and a
        later attempt may work (a full disk).
        """
        ...

    async def status(self, where: Destination, text: str) -> None:
        """Show a transient status such as "thinking" ("" clears it). May do nothing."""
        ...


class NativeStream(Protocol):
    """A platform-side streaming message (Slack `chat.startStream`).

    Every method raises `bot.errors.StreamRefused` when the platform refuses the call;
    the text of a refused call was not shown.
    """

    ref: MessageRef

    async def append(self, text: str) -> None: ...

    async def stop(self, *, text: str = "", controls: Controls | None = None) -> None:
        """End the stream, appending `text` last."""
        ...


@runtime_checkable
class NativeStreaming(Protocol):
    """Optional: adapters with `capabilities.native_stream` also implement this.

    `text` is the first text of the message; `recipient` is the id of the user the
    reply is for (Slack needs it to stream in channels).
    """

    def stream_pace(self, where: Destination, call: str) -> Pace:
        """The limit a stream call draws on; `call` is "start", "append" or "stop"."""
        ...

    async def start_stream(
        self,
        where: Destination,
        *,
        controls: Controls | None = None,
        text: str = "",
        recipient: str | None = None,
    ) -> NativeStream: ...


@runtime_checkable
class PlatformAdapter(Protocol):
    """A chat platform plugged into the core (console, Discord, Slack).

    Each `adapters/<name>/` package exposes `create(core) -> PlatformAdapter`. `start()`
    connects and returns once the adapter is running (long-lived loops go through
    `core.runner`); `stop()` disconnects. The adapter registers its `Outbound` with
    `core.bot.register_outbound(name, ...)` in `start()`.

    Optionally, an adapter with a lasting connection has a `connection` attribute whose
    `up()` says (as a bool, or an awaitable one) whether it is connected; `/readyz` uses it
    (see `bot.health`).
    """

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
