"""A recording `Outbound` that also streams natively, and can refuse as Slack does.

What each message shows is kept in `texts` (streamed text accumulates, an edit replaces),
so tests can assert on exactly what a reader sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import StreamRefused
from bot.model import Destination, MessageRef
from bot.ports import Capabilities, Controls, Pace
from tests.fakes.outbound import Call, RecordingOutbound


@dataclass
class RecordingStream:
    out: NativeOutbound
    ref: MessageRef
    stopped: bool = False

    async def append(self, text: str) -> None:
        await self.out._stream_call("append", self, text)

    async def stop(self, *, text: str = "", controls: Controls | None = None) -> None:
        await self.out._stream_call("stop", self, text)
        self.stopped = True


@dataclass
class NativeOutbound(RecordingOutbound):
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(
            max_chars=200, min_edit_interval=0.0, native_stream=True, stream_interval=0.0, cursor=False
        )
    )
    # Refuse the n-th call of a kind ("start", "append", "stop"; 1-based) with this code.
    refuse: dict[tuple[str, int], str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    recipients: list[str | None] = field(default_factory=list)

    stream_budgets: dict[str, tuple[int, float]] = field(default_factory=dict)  # by call

    def stream_pace(self, where: Destination, call: str) -> Pace:
        return Pace(f"{where.channel_id}:{call}", self.stream_budgets.get(call))

    def _refusal(self, kind: str) -> str | None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.refuse.get((kind, self.counts[kind]))

    async def start_stream(
        self, where: Destination, *, controls: Controls | None = None, text: str = "", recipient: str | None = None
    ) -> RecordingStream:
        code = self._refusal("start")
        if code is not None:
            raise StreamRefused(code)
        ref = MessageRef(platform=self.platform, key=f"m{next(self._ids)}")
        self.texts[ref.key] = text
        self.recipients.append(recipient)
        await self._record(Call("start", ref.key, text, controls))
        return RecordingStream(self, ref)

    async def _stream_call(self, kind: str, stream: RecordingStream, text: str) -> None:
        if stream.stopped:
            raise AssertionError(f"{kind} on a stopped stream")
        code = self._refusal(kind)
        if code is not None:
            raise StreamRefused(code)
        self.texts[stream.ref.key] += text
        await self._record(Call(kind, stream.ref.key, text))
