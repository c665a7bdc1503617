"""A fake Slack Web API on loopback, as strict as Slack about what it is sent.

Point `AsyncWebClient(base_url=fake.api_url)` at it. It answers the methods the bot uses,
keeps the messages it was asked to post (so tests assert what a reader sees), and can
refuse as Slack does:

- a wrong or missing bot token gets `invalid_auth` / `not_authed`;
- channels the bot is not in get `not_in_channel`; unknown messages `message_not_found`;
- `markdown_text` together with `text`/`blocks`, a markdown block over 12,000 chars or a
  `text` over 40,000 chars are refused;
- streams in channels need `recipient_user_id` and `recipient_team_id`;
- `refuse_streams = "feature_disabled"` refuses `chat.startStream`; `expire_streams()`
  moves every open stream to the state Slack's server-side timeout leaves it in
  (`message_not_in_streaming_state` on append and stop, while `chat.update` still works);
- every method has Slack's rate tier (`TIERS`, `tier_limits()`): the documented
  per-minute floor per workspace, plus a burst cap Slack does not document (UNCONFIRMED,
  so stricter than Slack may be); `chat.postMessage` and `assistant.threads.setStatus`
  are limited per channel (about one a second, bursts of five) and workspace-wide.
  Over a limit a call gets 429 with `Retry-After`. Tests that do not exercise limits
  turn them off with `tiers = False`; `limits = {"chat.update": (50, 60.0)}` adds one;
  `throttle_next = {"chat.postMessage": 1}` answers the next call with 429.

It also serves the upload URL of `files_upload_v2`, private file downloads (bot token
only, otherwise an HTML page as Slack serves), and slash-command `response_url`s.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.loopback import serve

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
TEAM = "T0TEAM"
CHANNEL = "C0CHAN"  # a channel the bot is a member of
BOT_USER = "UBOT"
MARKDOWN_LIMIT = 12_000
TEXT_LIMIT = 40_000
STREAM_LIMIT = 40_000

# Slack's published floors per method per workspace: Tier 1 1+/min, Tier 2 20+/min,
# Tier 3 50+/min, Tier 4 100+/min. Bursts are undocumented: at most a quarter of the
# minute's floor within any 10 s (UNCONFIRMED; deliberately strict).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
TIERS = {
    "auth.test": 4,  # "special" in Slack's table; rate limited like Tier 4 here
    "apps.connections.open": 1,
    "chat.startStream": 2,
    "chat.stopStream": 2,
    "chat.appendStream": 4,
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "conversations.replies": 3,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
PER_CHANNEL_METHODS = ("chat.postMessage", "assistant.threads.setStatus")
PER_CHANNEL = (5, 5.0)  # about one per second, bursts of five (UNCONFIRMED)
POST_WORKSPACE = (300, 60.0)  # "several hundred per minute" workspace-wide


def tier_limits(method: str) -> list[tuple[int, float]]:
    tier = TIERS.get(method)
    if tier is None:
        return [POST_WORKSPACE] if method in PER_CHANNEL_METHODS else []
    per_minute = TIER_PER_MINUTE[tier]
    return [(per_minute, 60.0), (max(1, per_minute // 4), 10.0)]


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    user: str
    text: str = ""
    blocks: list = field(default_factory=list)
    markdown: str = ""  # streamed or `markdown_text` content
    streaming: str | None = None  # "open", "expired", "stopped"
    files: list = field(default_factory=list)

    @property
    def shown(self) -> str:
        """What a reader sees: the Markdown (streamed or block), else the text."""
        if self.markdown:
            return self.markdown
        markdown = [b["text"] for b in self.blocks if b.get("type") == "markdown"]
        return "".join(markdown) if markdown else self.text

    def buttons(self) -> list[dict]:
        return [e for b in self.blocks if b.get("type") == "actions" for e in b.get("elements", [])]


class SlackError(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


class FakeSlack:
    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_post("/api/{method}", self._api)
        self.app.router.add_get("/api/{method}", self._api)  # slack_sdk GETs a few (conversations.replies, users.info)
        self.app.router.add_post("/upload/{file_id}", self._upload)
        self.app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        self.app.router.add_post("/response/{rid}", self._response_url)
        self.app.router.add_get("/socket", self._socket)
        self.app.router.add_get("/redirect/{n}", self._redirect)
        self._redirects: dict[str, str] = {}
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: list[dict] = []
        self.url = ""
        self.calls: list[tuple[str, dict]] = []
        self.log: list[tuple[float, str, dict, dict]] = []  # (monotonic time, method, params, result), once answered
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemeral: list[dict] = []
        self.responses: list[dict] = []  # posts to response_url
        self.statuses: list[dict] = []
        self.suggested_prompts: list[dict] = []  # assistant.threads.setSuggestedPrompts
        self.titles: list[dict] = []  # assistant.threads.setTitle
        self.uploads: dict[str, dict] = {}
        self.private_files: dict[str, bytes] = {}
        self.members: set[str] = {CHANNEL}  # channels the bot is in (DMs always)
        self.admins: set[str] = set()  # users.info says these users are workspace admins
        # The bot token's scopes, sent in auth.test's x-oauth-scopes header as Slack does.
        self.scopes = {
            "app_mentions:read", "assistant:write", "chat:write", "commands", "files:read", "files:write",
            "im:history", "users:read",
        }
        self.refuse_streams: str | None = None
        self.limits: dict[str, tuple[int, float]] = {}
        self.tiers = True
        self.rate_limited = 0
        self.rate_limited_by_method: dict[str, int] = {}
        self.retry_after = 1  # seconds, in the Retry-After header of a 429
        self.throttle_next: dict[str, int] = {}  # answer the next n calls of a method with 429
        self.gates: dict[str, asyncio.Event] = {}  # a method waits for its gate before answering
        self._sent: dict[str, deque[float]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> str:
        self._runner, port = await serve(self.app)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # -- test helpers ---------------------------------------------------------------
    def user_message(self, channel: str, text: str, *, user: str = "U1", thread_ts: str | None = None) -> str:
        """A message a person wrote (the parent of a thread); returns its ts."""
        ts = self._next_ts()
        self.messages[(channel, ts)] = Message(channel, ts, thread_ts, user, text=text)
        return ts

    def private_file(self, name: str, data: bytes) -> str:
        file_id = f"F{next(self._ids):04d}"
        self.private_files[file_id] = data
        return f"{self.url}/files-pri/{file_id}/{name}"

    def redirect(self, to: str) -> str:
        """A URL on the fake Slack host that redirects to `to`."""
        self._redirects[str(len(self._redirects))] = to
        return f"{self.url}/redirect/{len(self._redirects) - 1}"

    def response_url(self) -> str:
        return f"{self.url}/response/{next(self._ids)}"

    def expire_streams(self) -> None:
        for message in self.messages.values():
            if message.streaming == "open":
                message.streaming = "expired"

    def bot_messages(self, channel: str | None = None, thread_ts: str | None = None) -> list[Message]:
        return [
            m
            for m in self.messages.values()
            if m.user == BOT_USER
            and (channel is None or m.channel == channel)
            and (thread_ts is None or m.thread_ts == thread_ts)
        ]

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)

    async def wait_for(self, predicate, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            async with self.changed:
                await self.changed.wait_for(lambda: predicate(self))

    # -- the Web API ----------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        async with self.changed:
            self.changed.notify_all()
        gate = self.gates.get(method)
        if gate is not None:
            await gate.wait()
        try:
            self._authorize(request)
            if self._over_limit(method, params):
                self.rate_limited += 1
                self.rate_limited_by_method[method] = self.rate_limited_by_method.get(method, 0) + 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(self.retry_after)})
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                raise SlackError("unknown_method")
            body = handler(params)
            result = {"ok": True, **body}
        except SlackError as exc:
            result = {"ok": False, "error": exc.code}
        self.log.append((time.monotonic(), method, params, result))
        async with self.changed:
            self.changed.notify_all()
        headers = {"x-oauth-scopes": ",".join(sorted(self.scopes))} if method == "auth.test" and result["ok"] else None
        return web.json_response(result, headers=headers)

    async def _params(self, request: web.Request) -> dict:
        # slack_sdk sends some methods' arguments in the query string, others in the body.
        params: dict = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
            return params
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for key in ("blocks", "files"):
            if key in params:
                params[key] = json.loads(params[key])
        return params

    def _authorize(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header:
            raise SlackError("not_authed")
        wanted = APP_TOKEN if request.match_info["method"] == "apps.connections.open" else BOT_TOKEN
        if header != f"Bearer {wanted}":
            raise SlackError("invalid_auth")

    def _over_limit(self, method: str, params: dict) -> bool:
        if self.throttle_next.get(method):
            self.throttle_next[method] -= 1
            return True
        windows: list[tuple[str, int, float]] = []
        if method in self.limits:
            windows.append((f"{method}:test", *self.limits[method]))
        if self.tiers:
            windows += [(f"{method}:{count}/{period}", count, period) for count, period in tier_limits(method)]
            if method in PER_CHANNEL_METHODS:
                channel = params.get("channel") or params.get("channel_id") or "-"
                windows.append((f"{method}:{channel}", *PER_CHANNEL))
        now = time.monotonic()
        for key, count, period in windows:
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - period:
                sent.popleft()
            if len(sent) >= count:
                return True
        for key, _, _ in windows:
            self._sent[key].append(now)
        return False

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_700_000_000 + n}.{n:06d}"

    def _channel(self, channel: str | None) -> str:
        if not channel:
            raise SlackError("channel_not_found")
        if not channel.startswith("D") and channel not in self.members:
            raise SlackError("not_in_channel")
        return channel

    def _message(self, channel: str, ts: str | None) -> Message:
        message = self.messages.get((channel, ts or ""))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _thread(self, channel: str, thread_ts: str | None) -> str | None:
        if thread_ts is not None:
            self._message(channel, thread_ts)
        return thread_ts

    @staticmethod
    def _content(params: dict) -> tuple[str, list, str]:
        text, blocks, markdown = params.get("text") or "", params.get("blocks") or [], params.get("markdown_text") or ""
        if markdown and (text or blocks):
            raise SlackError("markdown_text_conflict")
        if not (text or blocks or markdown):
            raise SlackError("no_text")
        if len(text) > TEXT_LIMIT:
            raise SlackError("msg_too_long")
        if len(markdown) > MARKDOWN_LIMIT:
            raise SlackError("markdown_text_too_long")
        if len(blocks) > 50 or any(b.get("type") == "markdown" and len(b.get("text", "")) > MARKDOWN_LIMIT for b in blocks):
            raise SlackError("invalid_blocks")
        if blocks and not text:
            raise SlackError("missing_text_fallback")  # allowed by Slack, but the bot always sends one
        return text, blocks, markdown

    def _m_apps_connections_open(self, params: dict) -> dict:
        return {"url": self.url.replace("http://", "ws://") + "/socket"}

    def _m_users_info(self, params: dict) -> dict:
        user = params.get("user") or ""
        if not user.startswith("U"):
            raise SlackError("user_not_found")
        return {"user": {"id": user, "team_id": TEAM, "is_admin": user in self.admins, "is_owner": False}}

    def _m_auth_test(self, params: dict) -> dict:
        return {"url": "https://fake.slack.com/", "team": "Fake", "user": "codex", "team_id": TEAM, "user_id": BOT_USER, "bot_id": "BBOT"}

    def _m_chat_postMessage(self, params: dict) -> dict:
        channel = self._channel(params.get("channel"))
        thread_ts = self._thread(channel, params.get("thread_ts"))
        text, blocks, markdown = self._content(params)
        ts = self._next_ts()
        self.messages[(channel, ts)] = Message(channel, ts, thread_ts, BOT_USER, text, blocks, markdown)
        return {"channel": channel, "ts": ts, "message": {"text": text, "ts": ts}}

    def _m_chat_update(self, params: dict) -> dict:
        channel = self._channel(params.get("channel"))
        message = self._message(channel, params.get("ts"))
        if message.user != BOT_USER:
            raise SlackError("cant_update_message")
        message.text, message.blocks, message.markdown = self._content(params)
        if message.streaming in ("open", "expired"):
            message.streaming = "stopped"
        return {"channel": channel, "ts": message.ts, "text": message.text}

    def _m_chat_postEphemeral(self, params: dict) -> dict:
        channel = self._channel(params.get("channel"))
        if not params.get("user"):
            raise SlackError("user_not_found")
        text, blocks, markdown = self._content(params)
        self.ephemeral.append({**params, "channel": channel})
        return {"message_ts": self._next_ts()}

    def _m_chat_startStream(self, params: dict) -> dict:
        channel = self._channel(params.get("channel"))
        thread_ts = params.get("thread_ts")
        if not thread_ts:
            raise SlackError("invalid_arguments")
        self._thread(channel, thread_ts)
        if self.refuse_streams:
            raise SlackError(self.refuse_streams)
        if not channel.startswith("D"):
            if not params.get("recipient_user_id"):
                raise SlackError("missing_recipient_user_id")
            if not params.get("recipient_team_id"):
                raise SlackError("missing_recipient_team_id")
        markdown = self._stream_text(params)
        ts = self._next_ts()
        self.messages[(channel, ts)] = Message(channel, ts, thread_ts, BOT_USER, markdown=markdown, streaming="open")
        return {"channel": channel, "ts": ts}

    def _stream_text(self, params: dict, already: str = "") -> str:
        if params.get("text") or params.get("blocks"):
            raise SlackError("invalid_arguments")
        markdown = params.get("markdown_text") or ""
        if len(markdown) > MARKDOWN_LIMIT:
            raise SlackError("markdown_text_too_long")
        if len(already) + len(markdown) > STREAM_LIMIT:
            raise SlackError("msg_too_long")
        return markdown

    def _streaming(self, params: dict) -> Message:
        message = self._message(self._channel(params.get("channel")), params.get("ts"))
        if message.streaming != "open":
            raise SlackError("message_not_in_streaming_state")
        return message

    def _m_chat_appendStream(self, params: dict) -> dict:
        message = self._streaming(params)
        if not params.get("markdown_text"):
            raise SlackError("invalid_arguments")
        message.markdown += self._stream_text(params, message.markdown)
        return {"channel": message.channel, "ts": message.ts}

    def _m_chat_stopStream(self, params: dict) -> dict:
        message = self._streaming(params)
        message.markdown += self._stream_text(params, message.markdown)
        message.streaming = "stopped"
        return {"channel": message.channel, "ts": message.ts}

    def _m_assistant_threads_setStatus(self, params: dict) -> dict:
        channel = self._channel(params.get("channel_id"))
        if not params.get("thread_ts") or "status" not in params:
            raise SlackError("invalid_arguments")
        self.statuses.append({"channel": channel, "thread_ts": params["thread_ts"], "status": params["status"]})
        return {}

    # The assistant surface: suggested prompts and titles on an assistant thread.
    def _assistant_thread(self, params: dict) -> tuple[str, str]:
        channel = self._channel(params.get("channel_id"))
        thread_ts = params.get("thread_ts")
        if not thread_ts:
            raise SlackError("invalid_arguments")
        self._message(channel, thread_ts)
        return channel, thread_ts

    def _m_assistant_threads_setSuggestedPrompts(self, params: dict) -> dict:
        channel, thread_ts = self._assistant_thread(params)
        prompts = params.get("prompts")
        if isinstance(prompts, str):
            prompts = json.loads(prompts)
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4:
            raise SlackError("invalid_arguments")
        if any(not p.get("title") or not p.get("message") for p in prompts):
            raise SlackError("invalid_arguments")
        self.suggested_prompts.append({"channel": channel, "thread_ts": thread_ts, "prompts": prompts})
        return {}

    def _m_assistant_threads_setTitle(self, params: dict) -> dict:
        channel, thread_ts = self._assistant_thread(params)
        if not params.get("title"):
            raise SlackError("invalid_arguments")
        self.titles.append({"channel": channel, "thread_ts": thread_ts, "title": params["title"]})
        return {}

    def _m_files_getUploadURLExternal(self, params: dict) -> dict:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise SlackError("invalid_arguments")
        file_id = f"F{next(self._ids):04d}"
        self.uploads[file_id] = {"filename": params["filename"], "length": int(params["length"]), "data": None}
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict) -> dict:
        files = params.get("files") or []
        channel = self._channel(params.get("channel_id")) if params.get("channel_id") else None
        thread_ts = self._thread(channel, params.get("thread_ts")) if channel else None
        shared = []
        for item in files:
            upload = self.uploads.get(item.get("id"))
            if upload is None or upload["data"] is None:
                raise SlackError("file_not_found")
            shared.append({"id": item["id"], "title": item.get("title") or upload["filename"], "name": upload["filename"]})
        if channel is not None:
            ts = self._next_ts()
            self.messages[(channel, ts)] = Message(
                channel, ts, thread_ts, BOT_USER, text=params.get("initial_comment") or "",
                files=[{**f, "data": self.uploads[f["id"]]["data"]} for f in shared],
            )
        return {"files": shared}

    def _m_conversations_replies(self, params: dict) -> dict:
        channel = self._channel(params.get("channel"))
        parent = self._message(channel, params.get("ts"))
        thread = [m for m in self.messages.values() if m.channel == channel and m.thread_ts == parent.ts]
        return {
            "messages": [self._reply_entry(m) for m in [parent, *sorted(thread, key=lambda m: float(m.ts))]],
            "has_more": False,
        }

    @staticmethod
    def _reply_entry(m: Message) -> dict:
        entry = {"ts": m.ts, "user": m.user, "text": m.shown}
        if m.files:  # as Slack lists shared files: id, name, title (not the bytes)
            entry["files"] = [{"id": f["id"], "name": f["name"], "title": f["title"]} for f in m.files]
        return entry

    # -- side doors -------------------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        data = await request.read()
        if upload is None or len(data) != upload["length"]:
            return web.Response(status=400, text="bad upload")
        upload["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    async def _download(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            # Slack answers an unauthorised file download with its sign-in page, not a 401.
            return web.Response(text="<html>Sign in to Slack</html>", content_type="text/html")
        data = self.private_files.get(request.match_info["file_id"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self._redirects[request.match_info["n"]])

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        async with self.changed:
            self.changed.notify_all()
        return web.Response(text="ok")

    # -- Socket Mode ----------------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        async with self.changed:
            self.changed.notify_all()
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
                async with self.changed:
                    self.changed.notify_all()
        return ws

    async def socket_send(self, envelope_id: str, kind: str, payload: dict, *, retry_attempt: int = 0) -> None:
        """Deliver an envelope over the open Socket Mode connection, as Slack does."""
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": retry_attempt,
                "retry_reason": "timeout" if retry_attempt else "",
            }
        )
