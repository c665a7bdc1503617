"""The message that tells the user how their image is doing: queued, generating (with
4o's percentage when KIE gives one), then done or what went wrong.

It is one message, edited in place. Its key is stored with the task, and adapters
guarantee that `MessageRef(platform, key)` can still be edited after a restart.
Progress is best effort: a failed edit is logged and never stops the delivery itself.

States only move forward: once a final text (ready, failed, gave up) is shown, a late
"generating" from a slow poll is dropped. Edits draw on the same pacer as replies, so an
image's progress never pushes the channel (or workspace) past its edit budget.
"""

from __future__ import annotations

import logging

from .. import messages
from ..model import Destination, MessageRef
from ..ports import Outbound
from ..render.pacing import WritePacer

log = logging.getLogger(__name__)

_SHORT_PROMPT = 80


def short_prompt(prompt: str) -> str:
    text = " ".join(prompt.split())
    return text if len(text) <= _SHORT_PROMPT else text[: _SHORT_PROMPT - 1] + "…"


def generating_text(prompt: str, progress: float | None) -> str:
    if progress is None or progress <= 0:
        return messages.IMAGE_GENERATING.format(prompt=short_prompt(prompt))
    return messages.IMAGE_GENERATING_PERCENT.format(percent=round(progress * 100), prompt=short_prompt(prompt))


class Progress:
    def __init__(
        self, out: Outbound, where: Destination, ref: MessageRef | None, shown: str = "", *, pacer: WritePacer | None = None
    ) -> None:
        self._out = out
        self._where = where
        self.ref = ref
        self._shown = shown
        self._pacer = pacer
        self._final = False

    @classmethod
    async def open(
        cls, out: Outbound, where: Destination, placeholder: MessageRef | None, text: str, *, pacer: WritePacer | None = None
    ) -> Progress:
        """Show the first text, in the adapter's placeholder when there is one."""
        progress = cls(out, where, placeholder if out.capabilities.can_edit else None, pacer=pacer)
        await progress.show(text)
        return progress

    async def _book(self, ref: MessageRef | None, *, final: bool) -> None:
        """Wait for a slot in the budget this post or edit draws on, the one replies share
        (the one place the pacer is called)."""
        if self._pacer is not None:
            pace = self._out.write_pace(self._where, ref)
            await self._pacer.take(pace, ref.key if ref is not None else None, urgent=final)

    @property
    def key(self) -> str | None:
        return self.ref.key if self.ref is not None else None

    async def show(self, text: str, *, minor: bool = False, final: bool = False) -> None:
        """Replace the progress text. `minor` updates (percentages) are skipped where edits are
        impossible; after a `final` text only another final text replaces it."""
        if text == self._shown or (self._final and not final):
            return
        can_edit = self._out.capabilities.can_edit
        if minor and not (can_edit and self.ref is not None):
            return
        if final:
            self._final = True  # set before any wait, so a late poll cannot slip in behind it
        try:
            if can_edit and self.ref is not None:
                await self._book(self.ref, final=final)
                if self._final and not final:
                    return  # a final text arrived while this edit waited for its slot
                await self._out.edit(self.ref, text)
            else:
                await self._book(None, final=final)
                ref = await self._out.post(self._where, text)
                if self.ref is None:
                    self.ref = ref
            self._shown = text
        except Exception:
            log.warning("could not update an image progress message", exc_info=True)
