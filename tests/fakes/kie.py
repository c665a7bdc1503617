"""A fake KIE API on loopback that speaks KIE's documented wire format.

It is as strict as KIE about what it is sent: a missing or wrong bearer key gets KIE's
401 envelope, and a Responses body with an unknown model, a bad effort, both web search
and function tools, or a malformed input gets a 422 envelope. Every request is recorded.

Image endpoints (createTask, recordInfo, 4o, results, callbacks) are in `kie_images.py`,
reached as `FakeKie.images`.

Codex replies are scripted per request (`FakeKie.codex_replies`), as a list of steps:
bytes to write, a `Gate` to wait on (so tests synchronise on events, never on sleeps), a
`Delay`, a `Cut` (drop the connection), a `Stall` (hold it open, silent) or `KeepAlive`
(hold it open, sending only SSE comments). The steps also serve a JSON or error body
(`status`, `content_type`), so a body can stall after its headers; `headers` adds
response headers such as `Retry-After`. `FakeKie.disconnected` is set whenever a client
leaves a response before it ended.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.loopback import serve

from .kie_images import FakeImages

KIE_MODELS = {"gpt-5-codex", "gpt-5.1-codex", "gpt-5.2-codex", "gpt-5.3-codex"}
EFFORTS = {"minimal", "low", "medium", "high", "xhigh"}
API_KEY = "test-kie-key"


@dataclass
class Gate:
    """The fake waits for this event before writing further."""

    event: asyncio.Event = field(default_factory=asyncio.Event)

    def open(self) -> None:
        self.event.set()


@dataclass
class Delay:
    seconds: float


@dataclass
class Cut:
    """Drop the connection without finishing the response."""


@dataclass
class Stall:
    """Say nothing more and keep the connection open until the client leaves."""


@dataclass
class KeepAlive:
    """Send nothing but a `: keep-alive` comment every `every` seconds, until the client leaves."""

    every: float


Step = bytes | Gate | Delay | Cut | Stall | KeepAlive


@dataclass
class CodexScript:
    steps: list[Step] = field(default_factory=list)
    status: int = 200
    content_type: str = "text/event-stream"
    json_body: object | None = None  # reply with this JSON instead of a stream
    headers: dict[str, str] = field(default_factory=dict)


def frame(payload: dict | str, *, event: str | None = None) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def text_delta(text: str, seq: int = 1, *, data_only: bool = False) -> bytes:
    payload = {
        "content_index": 0,
        "delta": text,
        "item_id": "msg_xxx",
        "output_index": 1,
        "sequence_number": seq,
        "type": "response.output_text.delta",
    }
    return frame(payload, event=None if data_only else "response.output_text.delta")


def completed(*, credits: float | None = 0.49, total_tokens: int = 4564, data_only: bool = False) -> bytes:
    payload: dict = {
        "response": {"usage": {"input_tokens": 4427, "output_tokens": 137, "total_tokens": total_tokens}},
        "type": "response.completed",
    }
    if credits is not None:
        payload["credits_consumed"] = credits
    return frame(payload, event=None if data_only else "response.completed")


DONE = b"data: [DONE]\n\n"


def reply(*texts: str, credits: float | None = 0.49, done: bool = True, data_only: bool = False) -> CodexScript:
    """A whole successful stream, as KIE's docs show it."""
    steps: list[Step] = [text_delta(t, i + 1, data_only=data_only) for i, t in enumerate(texts)]
    steps.append(completed(credits=credits, data_only=data_only))
    if done:
        steps.append(DONE)
    return CodexScript(steps)


def envelope(code: int, msg: str) -> CodexScript:
    """KIE's error envelope sent with HTTP 200 instead of a stream."""
    return CodexScript(json_body={"code": code, "msg": msg}, content_type="application/json")


def http_error(status: int, msg: str = "error", *, retry_after: str | None = None) -> CodexScript:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return CodexScript(status=status, json_body={"code": status, "msg": msg}, content_type="application/json", headers=headers)


def stalled_body(status: int = 200) -> CodexScript:
    """Headers of a JSON reply, the start of its body, then silence."""
    return CodexScript([b'{"code": ', Stall()], status=status, content_type="application/json")


class FakeKie:
    def __init__(self, *, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.app = web.Application()
        self.app.router.add_post("/api/v1/responses", self._responses)
        self.app.router.add_post("/v1/responses", self._responses)  # an OpenAI-compatible path (kkiai)
        self.app.router.add_post("/api/file-base64-upload", self._upload_base64)
        self.app.router.add_post("/api/file-stream-upload", self._upload_stream)
        self.app.router.add_get("/api/v1/chat/credit", self._credit)
        self.credits = 100  # the account's balance, as GET /api/v1/chat/credit reports it
        self.requests: list[tuple[str, dict | None]] = []  # (path, JSON body) of every request
        self.codex_bodies: list[dict] = []
        self.codex_replies: deque[CodexScript] = deque()
        self.uploads: list[dict] = []
        self.disconnects = 0  # streams the client left before they ended
        self.disconnected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.images = FakeImages(self)  # the image endpoints live in their own module

    async def start(self) -> str:
        # handler_cancellation: a client that leaves ends its (possibly stalled) stream at
        # once, as a real server would notice; shutdown_timeout keeps teardown fast.
        self._runner, port = await serve(self.app, handler_cancellation=True, shutdown_timeout=0.5)
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        await self.images.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- strictness -------------------------------------------------------------------
    def _unauthorized(self, request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"code": 401, "msg": "You do not have access permissions"})
        return None

    async def _json(self, request: web.Request) -> dict | web.Response:
        if request.content_type != "application/json":
            return web.json_response({"code": 400, "msg": "Content-Type must be application/json"})
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"code": 400, "msg": "The parameter is not in a valid JSON format"})
        if not isinstance(body, dict):
            return web.json_response({"code": 400, "msg": "The body must be a JSON object"})
        return body

    @staticmethod
    def codex_problem(body: dict, *, kie: bool) -> str | None:
        """What KIE would reject in a Responses body, or None."""
        if kie and body.get("model") not in KIE_MODELS:
            return f"model must be one of {sorted(KIE_MODELS)}"
        if not isinstance(body.get("model"), str):
            return "model is required"
        effort = (body.get("reasoning") or {}).get("effort")
        if effort is not None and effort not in EFFORTS:
            return "reasoning.effort is invalid"
        if "instructions" in body and not isinstance(body["instructions"], str):
            return "instructions must be a string"
        tools = body.get("tools") or []
        kinds = {t.get("type") for t in tools}
        if "web_search" in kinds and "function" in kinds:
            return "Web Search and Function Calling are mutually exclusive"
        if "tool_choice" in body and "function" not in kinds:
            return "omit tool_choice when no function tools are configured"
        items = body.get("input")
        if isinstance(items, str):
            return None
        if not isinstance(items, list) or not items:
            return "input is required"
        for item in items:
            if item.get("role") not in ("user", "assistant", "system", "developer"):
                return "input role is invalid"
            content = item.get("content")
            if isinstance(content, str):
                continue
            if item["role"] != "user" or not isinstance(content, list) or not content:
                return "input content is invalid"
            for part in content:
                kind = part.get("type")
                if kind == "input_text" and isinstance(part.get("text"), str):
                    continue
                if kind == "input_image" and str(part.get("image_url", "")).startswith(("http://", "https://")):
                    continue
                if kind == "input_file" and str(part.get("file_url", "")).startswith(("http://", "https://")):
                    continue
                return f"input content part {kind!r} is invalid"
        return None

    async def _credit(self, request: web.Request) -> web.Response:
        self.requests.append((request.path, None))
        refused = self._unauthorized(request)
        return refused or web.json_response({"code": 200, "msg": "success", "data": self.credits})

    # -- Codex ----------------------------------------------------------------------
    async def _responses(self, request: web.Request) -> web.StreamResponse:
        refused = self._unauthorized(request)
        body = await self._json(request)
        self.requests.append((request.path, body if isinstance(body, dict) else None))
        if refused is not None:
            return refused
        if not isinstance(body, dict):
            return body
        problem = self.codex_problem(body, kie=request.path.startswith("/api/"))
        if problem is not None:
            return web.json_response({"code": 422, "msg": problem})
        self.codex_bodies.append(body)
        script = self.codex_replies.popleft() if self.codex_replies else reply("ok")
        if script.json_body is not None:
            return web.json_response(script.json_body, status=script.status, headers=script.headers)
        response = web.StreamResponse(
            status=script.status,
            headers={"Content-Type": script.content_type, "Cache-Control": "no-cache", **script.headers},
        )
        await response.prepare(request)
        try:
            for step in script.steps:
                if isinstance(step, bytes):
                    await response.write(step)
                elif isinstance(step, Gate):
                    await step.event.wait()
                elif isinstance(step, Delay):
                    await asyncio.sleep(step.seconds)
                elif isinstance(step, Cut):
                    request.transport.close()
                    return response
                elif isinstance(step, Stall):
                    await asyncio.Event().wait()
                elif isinstance(step, KeepAlive):
                    while True:
                        await response.write(b": keep-alive\n\n")
                        await asyncio.sleep(step.every)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.disconnects += 1
            self.disconnected.set()
            raise
        return response

    # -- File Upload API ----------------------------------------------------------------
    def _uploaded(self, name: str, size: int, mime: str, path: str) -> web.Response:
        record = {"fileName": name, "fileSize": size, "mimeType": mime, "uploadPath": path}
        self.uploads.append(record)
        url = f"{self.url}/files/{len(self.uploads)}/{name}"
        return web.json_response(
            {
                "success": True,
                "code": 200,
                "msg": "File uploaded successfully",
                "data": {**record, "filePath": f"{path}/{name}", "downloadUrl": url},
            }
        )

    async def _upload_base64(self, request: web.Request) -> web.Response:
        refused = self._unauthorized(request)
        if refused is not None:
            return web.json_response({"success": False, "code": 401, "msg": "Authentication failed: Invalid API Key"})
        body = await self._json(request)
        if not isinstance(body, dict):
            return body
        if not body.get("uploadPath"):
            return web.json_response({"success": False, "code": 400, "msg": "Missing required parameter: uploadPath"})
        data = str(body.get("base64Data", ""))
        mime = "application/octet-stream"
        if data.startswith("data:"):
            head, _, data = data.partition(",")
            mime = head[5:].split(";")[0]
        import base64
        import binascii

        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return web.json_response({"success": False, "code": 400, "msg": "Base64 decoding failed: Invalid Base64 format"})
        return self._uploaded(body.get("fileName") or "upload.bin", len(raw), mime, body["uploadPath"])

    async def _upload_stream(self, request: web.Request) -> web.Response:
        refused = self._unauthorized(request)
        if refused is not None:
            return web.json_response({"success": False, "code": 401, "msg": "Authentication failed: Invalid API Key"})
        form = await request.post()
        upload = form.get("file")
        if not form.get("uploadPath") or upload is None or isinstance(upload, str):
            return web.json_response({"success": False, "code": 400, "msg": "Missing required parameter: file or uploadPath"})
        raw = upload.file.read()
        return self._uploaded(str(form.get("fileName") or upload.filename), len(raw), upload.content_type, str(form["uploadPath"]))
