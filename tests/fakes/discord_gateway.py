"""A fake Discord gateway (websocket, API v10, JSON text frames).

HELLO on connect; IDENTIFY is answered with READY and a GUILD_CREATE describing one
server and its text channel, unless the client asks for a privileged intent the test
did not allow (then it closes with 4014, as Discord does). Heartbeats are acknowledged.
Tests push events with `dispatch(name, data)` and end a session with `close_with(code)`
(4004: the token was rejected).
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import WSMsgType, web

from . import discord_payloads as p
from .loopback import serve

MESSAGE_CONTENT_INTENT = 1 << 15


def guild_create() -> dict:
    everyone = {"id": str(p.GUILD_ID), "name": "@everyone", "permissions": "2248473465835073", "position": 0,
                "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
    return {
        "id": str(p.GUILD_ID), "name": "Test server", "icon": None, "owner_id": str(p.OTHER_USER_ID),
        "unavailable": False, "member_count": 2, "large": False, "features": [], "emojis": [], "stickers": [],
        "roles": [everyone], "channels": [p.text_channel()], "threads": [], "members": [p.member(p.BOT_ID, "kiebot")],
        "voice_states": [], "presences": [], "stage_instances": [], "guild_scheduled_events": [],
        "joined_at": "2024-01-01T00:00:00+00:00", "premium_tier": 0, "preferred_locale": "en-US",
        "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
        "nsfw_level": 0, "system_channel_flags": 0, "afk_timeout": 300,
    }


class FakeGateway:
    def __init__(self, *, allow_privileged: bool = True) -> None:
        self.allow_privileged = allow_privileged
        self.identify: dict | None = None
        self.ready = asyncio.Event()
        self.closed = asyncio.Event()
        self._ws: web.WebSocketResponse | None = None
        self._seq = 0
        self.app = web.Application()
        self.app.router.add_get("/", self._connect)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        self._runner, port = await serve(self.app)
        self.url = f"ws://127.0.0.1:{port}/"
        return self.url

    async def stop(self) -> None:
        """Close the connection and refuse new ones (safe to call twice)."""
        if self._runner is not None:
            # Close the open connection first, as Discord would: aiohttp's cleanup would
            # otherwise wait its whole shutdown timeout (60 s) for the client to leave.
            if self._ws is not None and not self._ws.closed:
                await self._ws.close(code=1001, message=b"going away")
            await self._runner.cleanup()
            self._runner = None

    async def dispatch(self, name: str, data: dict) -> None:
        assert self._ws is not None, "no client is connected"
        self._seq += 1
        await self._ws.send_str(json.dumps({"op": 0, "t": name, "s": self._seq, "d": data}))

    async def close_with(self, code: int) -> None:
        assert self._ws is not None, "no client is connected"
        await self._ws.close(code=code, message=b"Authentication failed." if code == 4004 else b"")

    async def _connect(self, request: web.Request) -> web.WebSocketResponse:
        assert request.query.get("v") == "10" and request.query.get("encoding") == "json"
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            if message["op"] == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif message["op"] == 2:
                self.identify = message["d"]
                if self.identify["intents"] & MESSAGE_CONTENT_INTENT and not self.allow_privileged:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                    break
                ready = {
                    "v": 10, "user": p.BOT_USER, "guilds": [{"id": str(p.GUILD_ID), "unavailable": True}],
                    "session_id": "fake-session", "resume_gateway_url": self.url,
                    "application": {"id": str(p.APP_ID), "flags": 0}, "private_channels": [],
                }
                if "shard" in self.identify:  # Discord echoes the shard a sharded IDENTIFY asked for
                    ready["shard"] = self.identify["shard"]
                await self.dispatch("READY", ready)
                await self.dispatch("GUILD_CREATE", guild_create())
                self.ready.set()
        self.closed.set()
        return ws
