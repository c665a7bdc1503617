"""Stop presses that reach the process running the reply, through Redis pub/sub.

A Stop click may land on any process (Slack hands each interaction to one connection or
one web process). The process that got it, if it does not run the reply itself, asks the
others on one channel; the process holding the switch presses it and answers on the
asker's own reply channel, so the presser hears "stopped" or "not yours" as usual. A
press is a signal, not state: if nobody answers within `answer_within` seconds, the
reply has already ended ("nothing running").
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import TYPE_CHECKING

import redis.asyncio as redis
from redis.exceptions import RedisError

from .. import messages

if TYPE_CHECKING:
    from ..app import Bot
    from ..tasks import TaskRunner

log = logging.getLogger(__name__)

RECONNECT_AFTER_S = 2.0


class StopRelay:
    def __init__(self, client: redis.Redis, prefix: str, bot: Bot, runner: TaskRunner, *, answer_within: float = 1.5) -> None:
        self._client = client
        self._channel = f"{prefix}stop"
        self._prefix = prefix
        self._bot = bot
        self._runner = runner
        self._answer_within = answer_within
        self._listener: asyncio.Task | None = None
        self.listening = asyncio.Event()  # set once subscribed (tests wait on it)

    async def start(self) -> None:
        self._bot.stop_relay = self
        self._listener = self._runner.spawn(self._listen(), name="stop-relay", daemon=True)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None

    async def ask(self, stop_id: str, user_id: str) -> str | None:
        """Press `stop_id` in whichever process runs it; its answer, or None if none did."""
        reply_to = f"{self._prefix}stop-reply:{uuid.uuid4().hex}"
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(reply_to)
            request = json.dumps({"stop_id": stop_id, "user_id": user_id, "reply_to": reply_to})
            if not await self._client.publish(self._channel, request):
                return None
            async with asyncio.timeout(self._answer_within):
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        return message["data"].decode()
        except (TimeoutError, RedisError, OSError) as exc:
            if not isinstance(exc, TimeoutError):
                log.warning("could not pass a Stop press on through Redis: %s", type(exc).__name__)
            return None
        finally:
            await pubsub.aclose()
        return None

    async def _listen(self) -> None:
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self.listening.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        await self._answer(message["data"])
            except (RedisError, OSError) as exc:
                self.listening.clear()
                log.warning("Stop presses from other processes are not heard (%s); retrying", type(exc).__name__)
                await asyncio.sleep(RECONNECT_AFTER_S)
            finally:
                await pubsub.aclose()

    async def _answer(self, data: bytes) -> None:
        try:
            request = json.loads(data)
            stop_id, user_id, reply_to = str(request["stop_id"]), str(request["user_id"]), str(request["reply_to"])
        except (ValueError, KeyError, TypeError):
            return
        if not reply_to.startswith(f"{self._prefix}stop-reply:"):
            return
        answer = self._bot.stop(stop_id, user_id)
        if answer != messages.STOP_NOTHING_RUNNING:  # only the process running it answers
            await self._client.publish(reply_to, answer)
