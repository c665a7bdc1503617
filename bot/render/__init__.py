"""Rendering a streamed reply onto a platform: pacing, splitting, the renderer."""

from __future__ import annotations

from ..model import Destination, MessageRef
from ..ports import Controls, NativeStreaming, Outbound
from .native import NativeRenderer
from .pacing import EditPacer
from .stream import StreamRenderer


def make_renderer(
    out: Outbound,
    where: Destination,
    *,
    pacer: EditPacer,
    placeholder: MessageRef | None = None,
    controls: Controls | None = None,
    recipient: str | None = None,
) -> StreamRenderer | NativeRenderer:
    """The renderer for this adapter: native streaming where the adapter offers it,
    post-and-edit otherwise. A placeholder is a message to fill by editing, so a reply
    that has one uses post-and-edit. `recipient` is the id of the user the reply is for.
    """
    if out.capabilities.native_stream and placeholder is None and isinstance(out, NativeStreaming):
        return NativeRenderer(out, where, pacer=pacer, controls=controls, recipient=recipient)
    return StreamRenderer(out, where, pacer=pacer, placeholder=placeholder, controls=controls)
