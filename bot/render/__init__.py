"""Rendering a streamed reply onto a platform: pacing, splitting, the renderer."""

from __future__ import annotations

from ..model import Destination, MessageRef
from ..ports import Controls, NativeStreaming, Outbound
from .native import NativeRenderer
from .pacing import WritePacer
from .stream import StreamRenderer

# When a platform's streaming budget is spent, a reply shows nothing for this long: a
# reply that ends sooner costs one post, instead of a post and edits the budget lacks.
OVERFLOW_HOLD_S = 6.0

__all__ = ["NativeRenderer", "StreamRenderer", "WritePacer", "make_renderer"]


def make_renderer(
    out: Outbound,
    where: Destination,
    *,
    pacer: WritePacer,
    placeholder: MessageRef | None = None,
    controls: Controls | None = None,
    recipient: str | None = None,
) -> StreamRenderer | NativeRenderer:
    """The renderer for this reply. `recipient` is the id of the user the reply is for.

    - A placeholder is a message to fill by editing: post-and-edit.
    - Native streaming where the adapter offers it and its start and stop budgets both
      have a slot now (held for this reply, so a stream that starts can always stop).
    - Otherwise, when the adapter streams natively but has no slot or refuses streams
      here, post-and-edit that holds its text for `OVERFLOW_HOLD_S`: no reply waits
      for a stream slot, and none is lost to a 429.
    """
    if placeholder is not None or not (out.capabilities.native_stream and isinstance(out, NativeStreaming)):
        return StreamRenderer(out, where, pacer=pacer, placeholder=placeholder, controls=controls)
    can_stream = getattr(out, "can_stream", None)
    if can_stream is None or can_stream(where):
        start = pacer.reserve(out.stream_pace(where, "start"))
        stop = pacer.reserve(out.stream_pace(where, "stop")) if start is not None else None
        if start is not None and stop is not None:
            reserved = {"start": start, "stop": stop}
            return NativeRenderer(out, where, pacer=pacer, controls=controls, recipient=recipient, reserved=reserved)
        if start is not None:
            start.release()
    return StreamRenderer(out, where, pacer=pacer, controls=controls, hold_s=OVERFLOW_HOLD_S)
