"""Rendering a streamed reply onto a platform: pacing, splitting, the renderer."""

from __future__ import annotations

from ..model import Destination, MessageRef
from ..ports import Controls, Outbound
from .pacing import EditPacer
from .stream import StreamRenderer


def make_renderer(
    out: Outbound,
    where: Destination,
    *,
    pacer: EditPacer,
    placeholder: MessageRef | None = None,
    controls: Controls | None = None,
) -> StreamRenderer:
    """The renderer for this adapter (post-and-edit; native streams plug in here)."""
    return StreamRenderer(out, where, pacer=pacer, placeholder=placeholder, controls=controls)
