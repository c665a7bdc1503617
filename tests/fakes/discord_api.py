"""A fake Discord REST API (v10) on loopback, as strict as Discord where it matters.

- Responses carry `Content-Type: application/json` exactly (discord.py parses nothing else).
- Bot routes need `Authorization: Bot <token>`; interaction routes are authorised by
  their token, which expires (401, code 50027) when a test says so.
- An interaction must be answered within 3 s, once (10062 / 40060 otherwise).
- Message content over 2000 characters, more than 10 files or a file over the limit are
  refused as Discord refuses them.
- Message creates and edits share a per-channel bucket of 5 per 5 s. Writes through an
  interaction's webhook token (edits of `@original`, followups) are limited per token
  (`webhook_model="token"`: Discord's observed behaviour, D17/D20) or, stricter, also
  count against the channel's bucket (`webhook_model="shared"`, the default). Every
  write answers with Discord's rate-limit headers; going over draws a 429 with
  `retry_after` and a `Via` header, as Discord sends them; 429s are counted.
- Tests can deny a channel (403, 50013), delete a message (404, 10008) or script 429s.

Every request is recorded (`calls`), with its JSON body (or a multipart `payload_json`)
and the names and sizes of uploaded files; `wait_for` waits on a condition over them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.loopback import serve

from . import discord_payloads as p
from .discord_rules import ChannelBuckets, Reject, application, check_content, error, json_response, too_many

NONCE_WINDOW = 180.0  # "a few minutes"


@dataclass
class Call:
    method: str
    path: str
    json: object = None
    files: list[tuple[str, int]] = field(default_factory=list)
    status: int = 0
    at: float = 0.0
    query: dict = field(default_factory=dict)


@dataclass
class Interaction:
    payload: dict
    registered: float
    channel_id: int
    acknowledged: bool = False
    expired: bool = False
    message_id: int | None = None


@dataclass
class Message:
    data: dict
    deleted: bool = False


class FakeDiscordApi:
    def __init__(
        self, *, token: str = p.BOT_TOKEN, bucket: tuple[int, float] = (5, 5.0), webhook_model: str = "shared"
    ) -> None:
        assert webhook_model in ("shared", "token")
        self.token = token
        self.webhook_model = webhook_model
        self.calls: list[Call] = []
        self.interactions: dict[str, Interaction] = {}
        self.messages: dict[int, Message] = {}
        self.threads: dict[int, dict] = {}
        self.commands: dict[str, list[dict]] = defaultdict(list)  # "global" or guild id -> definitions
        self.cdn: dict[str, bytes] = {}
        self.denied: set[int] = set()  # channels where the bot lacks permissions
        self.scripted_429: dict[tuple[str, str], int] = {}  # (method, path prefix) -> how many
        self.scripted_retry_after = 0.01
        self.interaction_deadline = 3.0
        self._nonces: dict[tuple[str, str], tuple[int, float]] = {}  # (author, nonce) -> (message id, when)
        self.nonce_hits = 0  # creates answered with an existing message
        self._buckets = ChannelBuckets(*bucket)
        self.changed = asyncio.Condition()
        self.app = web.Application(client_max_size=30 * 1024 * 1024)
        self.app.router.add_route("*", "/api/v10/{tail:.*}", self._dispatch)
        self.app.router.add_get("/cdn/{tail:.*}", self._cdn)
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.gateway_url = ""  # set by a fake gateway, if any

    # -- lifecycle --------------------------------------------------------------------
    async def start(self) -> str:
        self._runner, port = await serve(self.app)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v10"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- test controls ------------------------------------------------------------------
    def register_interaction(self, payload: dict) -> dict:
        self.interactions[payload["token"]] = Interaction(payload, time.monotonic(), int(payload["channel_id"]))
        return payload

    def expire(self, payload: dict) -> None:
        self.interactions[payload["token"]].expired = True

    def add_message(self, data: dict) -> dict:
        self.messages[int(data["id"])] = Message(data)
        return data

    def delete_message(self, message_id: int) -> None:
        self.messages[message_id].deleted = True

    def cdn_file(self, name: str, data: bytes) -> str:
        self.cdn[name] = data
        return f"{self.url}/cdn/attachments/{name}"

    def of(self, method: str, path_part: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and path_part in c.path and c.status < 300]

    @property
    def rate_limited(self) -> int:
        """429s sent because a channel's bucket was exceeded (scripted ones not counted)."""
        return self._buckets.rejected

    def message_writes(self) -> list[Call]:
        """Successful creates and edits of messages (channel and interaction routes)."""
        return [
            c for c in self.calls
            if c.status < 300 and (
                (c.method in ("POST", "PATCH") and "/messages" in c.path and "/threads" not in c.path)
                or (c.method == "POST" and c.path.startswith("/webhooks/"))
            )
        ]

    def text_of(self, message_id: int) -> str:
        return self.messages[message_id].data["content"]

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            async with self.changed:
                await self.changed.wait_for(lambda: predicate(self))

    # -- dispatch ---------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        call = Call(request.method, path, at=time.monotonic(), query=dict(request.query))
        try:
            response = await self._handle(request, path, call)
        except Reject as reject:
            response = reject.response
        call.status = response.status
        self.calls.append(call)
        async with self.changed:
            self.changed.notify_all()
        return response

    async def _handle(self, request: web.Request, path: str, call: Call) -> web.Response:
        parts = path.strip("/").split("/")
        await self._read_body(request, call)
        if parts[0] == "interactions":  # /interactions/{id}/{token}/callback
            return self._callback(parts[2], call)
        if parts[0] == "webhooks":  # /webhooks/{app}/{token}[/messages/@original]
            return self._webhook(request.method, parts[2], parts[3:], call)
        self._check_bot_auth(request)
        for (method, prefix), left in list(self.scripted_429.items()):
            if request.method == method and path.startswith(prefix) and left > 0:
                self.scripted_429[(method, prefix)] = left - 1
                return too_many(self.scripted_retry_after)
        if path == "/users/@me":
            return json_response(p.BOT_USER)
        if path == "/oauth2/applications/@me":
            return json_response(application())
        if path in ("/gateway/bot", "/gateway"):
            return json_response({"url": self.gateway_url or "ws://127.0.0.1:9/", "shards": 1,
                          "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
        if parts[0] == "applications":
            return self._commands(request.method, parts, call)
        if parts[0] == "channels":
            return self._channel(request.method, int(parts[1]), parts[2:], call)
        return error(404, 0, "404: Not Found")

    async def _read_body(self, request: web.Request, call: Call) -> None:
        if not request.can_read_body:
            return
        if request.content_type == "application/json":
            call.json = await request.json()
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    call.json = json.loads(await part.text())
                else:
                    call.files.append((part.filename or "", len(await part.read())))
        else:
            raise Reject(error(400, 50006, f"unsupported content type {request.content_type}"))

    def _check_bot_auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise Reject(error(401, 0, "401: Unauthorized"))

    # -- interactions -------------------------------------------------------------------
    def _interaction(self, token: str) -> Interaction:
        found = self.interactions.get(token)
        if found is None:
            raise Reject(error(404, 10015, "Unknown Webhook"))
        return found

    def _callback(self, token: str, call: Call) -> web.Response:
        found = self.interactions.get(token)
        if found is None or time.monotonic() - found.registered > self.interaction_deadline:
            return error(404, 10062, "Unknown interaction")
        if found.acknowledged:
            return error(400, 40060, "Interaction has already been acknowledged.")
        body = call.json or {}
        kind = body.get("type")
        found.acknowledged = True
        data = body.get("data") or {}
        ephemeral = bool(data.get("flags", 0) & 64)
        msg = p.message(channel_id=found.channel_id, guild_id=None, author=p.BOT_USER,
                        content=data.get("content", ""), components=data.get("components"))
        msg["flags"] = (128 if kind == 5 else 0) | (64 if ephemeral else 0)  # 128: LOADING
        msg["interaction_metadata"] = {"id": found.payload["id"], "type": found.payload["type"], "user": p.user()}
        self.add_message(msg)
        found.message_id = int(msg["id"])
        interaction = {"id": found.payload["id"], "type": found.payload["type"], "response_message_id": msg["id"],
                       "response_message_loading": kind == 5, "response_message_ephemeral": ephemeral}
        resource: dict = {"type": kind}
        if kind == 4:
            resource["message"] = msg
        return json_response({"interaction": interaction, "resource": resource})

    def _webhook(self, method: str, token: str, rest: list[str], call: Call) -> web.Response:
        found = self._interaction(token)
        if found.expired:
            return error(401, 50027, "Invalid Webhook Token")
        if rest == ["messages", "@original"]:
            if found.message_id is None:
                return error(404, 10008, "Unknown Message")
            if method == "GET":
                return json_response(self._live(found.message_id).data)
            if method == "PATCH":
                headers = self._take_webhook(found, token)
                return json_response(self._edit(found.message_id, call), headers=headers)
        if method == "POST" and not rest:  # a followup message
            headers = self._take_webhook(found, token)
            return json_response(self._create(found.channel_id, call), headers=headers)
        return error(405, 0, "405: Method Not Allowed")

    def _take_webhook(self, found: Interaction, token: str) -> dict[str, str]:
        if self.webhook_model == "token":
            return self._buckets.take(("token", token), route="webhook")
        return self._buckets.take(found.channel_id, route="webhook")

    # -- channels -----------------------------------------------------------------------
    def _channel(self, method: str, channel_id: int, rest: list[str], call: Call) -> web.Response:
        if channel_id in self.denied:
            return error(403, 50013, "Missing Permissions")
        if rest == ["typing"] and method == "POST":
            return web.Response(status=204)
        if rest == ["messages"] and method == "POST":
            headers = self._buckets.take(channel_id)
            again = self._nonce_match(call)
            if again is not None:
                return json_response(again, headers=headers)
            return self._remember_nonce(call, self._create(channel_id, call), headers)
        if len(rest) == 2 and rest[0] == "messages":
            message_id = int(rest[1])
            if method == "GET":
                return json_response(self._live(message_id).data)
            if method == "PATCH":
                self._live(message_id)
                headers = self._buckets.take(channel_id)
                return json_response(self._edit(message_id, call), headers=headers)
        if len(rest) == 3 and rest[0] == "messages" and rest[2] == "threads" and method == "POST":
            return self._start_thread(channel_id, int(rest[1]), call)
        return error(404, 0, "404: Not Found")

    # Discord: with `enforce_nonce`, a message created by the same author with the same
    # nonce in the past few minutes is returned instead of a new one being created.
    def _nonce_match(self, call: Call) -> dict | None:
        body = call.json if isinstance(call.json, dict) else {}
        if not body.get("enforce_nonce") or body.get("nonce") is None:
            return None
        found = self._nonces.get((p.BOT_USER["id"], str(body["nonce"])))
        if found is None or time.monotonic() - found[1] > NONCE_WINDOW:
            return None
        self.nonce_hits += 1
        return self.messages[found[0]].data

    def _remember_nonce(self, call: Call, data: dict, headers: dict | None = None) -> web.Response:
        body = call.json if isinstance(call.json, dict) else {}
        if body.get("nonce") is not None:
            data["nonce"] = str(body["nonce"])
            self._nonces[(p.BOT_USER["id"], str(body["nonce"]))] = (int(data["id"]), time.monotonic())
        return json_response(data, headers=headers)

    def _live(self, message_id: int) -> Message:
        found = self.messages.get(message_id)
        if found is None or found.deleted:
            raise Reject(error(404, 10008, "Unknown Message"))
        return found

    def _create(self, channel_id: int, call: Call) -> dict:
        body = call.json if isinstance(call.json, dict) else {}
        check_content(body, call.files)
        if not body.get("content") and not call.files and not body.get("embeds"):
            raise Reject(error(400, 50006, "Cannot send an empty message"))
        referenced = None
        if body.get("message_reference"):
            target = self.messages.get(int(body["message_reference"]["message_id"]))
            referenced = target.data if target else None
        msg = p.message(channel_id=channel_id, guild_id=None, author=p.BOT_USER, content=body.get("content") or "",
                        components=body.get("components"), referenced=referenced,
                        attachments=[p.attachment(f"{self.url}/cdn/attachments/{n}", filename=n, size=s) for n, s in call.files])
        return self.add_message(msg)

    def _edit(self, message_id: int, call: Call) -> dict:
        body = call.json if isinstance(call.json, dict) else {}
        check_content(body, call.files)
        data = self._live(message_id).data
        if "content" in body:
            data["content"] = body["content"] or ""
        if "components" in body:
            data["components"] = body["components"] or []
        data["flags"] = data.get("flags", 0) & ~128
        data["edited_timestamp"] = p.now_iso()
        return data

    def _start_thread(self, channel_id: int, message_id: int, call: Call) -> web.Response:
        self._live(message_id)
        if message_id in self.threads:
            return error(400, 160004, "A thread has already been created for this message")
        name = (call.json or {}).get("name", "")
        if not 1 <= len(name) <= 100:
            return error(400, 50035, "Invalid Form Body")
        thread = p.thread_channel(message_id, channel_id, name=name)  # a thread has its message's id
        self.threads[message_id] = thread
        return json_response(thread, 201)

    # -- commands -----------------------------------------------------------------------
    def _commands(self, method: str, parts: list[str], call: Call) -> web.Response:
        scope = parts[3] if len(parts) > 3 and parts[2] == "guilds" else "global"
        if method == "GET":
            return json_response(self.commands[scope])
        if method == "PUT":
            self.commands[scope] = [
                {**c, "id": str(p.snowflake()), "application_id": str(p.APP_ID), "version": str(p.snowflake())}
                for c in call.json or []
            ]
            return json_response(self.commands[scope])
        return error(405, 0, "405: Method Not Allowed")

    async def _cdn(self, request: web.Request) -> web.Response:
        name = request.match_info["tail"].rsplit("/", 1)[-1]
        if name not in self.cdn:
            return web.Response(status=404)
        return web.Response(body=self.cdn[name], content_type="image/png")
