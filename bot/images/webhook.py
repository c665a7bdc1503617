"""`POST /kie/callback/{token}`: KIE's callbacks, checked before anything is believed.

- With `KIE_WEBHOOK_HMAC_KEY` set, `X-Webhook-Signature` must be
  base64(HMAC-SHA256(key, taskId + "." + X-Webhook-Timestamp)), compared in constant
  time, with the timestamp inside a bounded clock window. Otherwise: 401, nothing changes.
- The token in the path must belong to a task that can still finish. Otherwise: 404,
  nothing changes (this is also the answer to a duplicate callback after delivery).
- The body is not signed, so it is only a hint: the handler answers 200 at once and
  hands the task to `on_callback`, which confirms with KIE's status endpoint in the
  background before anything is posted.
- The signature covers only the task id and timestamp, so the same signed headers can be
  sent again with any body. A signature seen before (within the clock window) is a
  replay: answered 200 as a duplicate, and nothing is queried.
- A body that is not JSON, or nested too deeply to parse, is a 400 and one log line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable

from aiohttp import web
from pydantic import SecretStr

from .records import CALLBACK_STATES, ImageTask, ImageTasks
from .status import TaskStatus, callback_hint, callback_task_id

log = logging.getLogger(__name__)

MAX_TOKEN_CHARS = 128
MAX_REMEMBERED_SIGNATURES = 10_000
OnCallback = Callable[[ImageTask, str, TaskStatus, str], None]  # task, KIE's task id, the body's claim, the token


def signature_for(key: str, task_id: str, timestamp: str) -> str:
    digest = hmac.new(key.encode(), f"{task_id}.{timestamp}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(
    key: str, task_id: str, timestamp: str | None, signature: str | None, *, now: float, max_skew: float
) -> bool:
    if not task_id or not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
        given = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return False
    if abs(now - sent) > max_skew:
        return False
    expected = base64.b64decode(signature_for(key, task_id, timestamp))
    return hmac.compare_digest(expected, given)


def _answer(status: int, msg: str) -> web.Response:
    return web.json_response({"code": status, "msg": msg}, status=status)


class CallbackEndpoint:
    def __init__(
        self,
        *,
        tasks: ImageTasks,
        hmac_key: SecretStr | None,
        max_skew: float,
        on_callback: OnCallback,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tasks = tasks
        self._key = hmac_key
        self._max_skew = max_skew
        self._on_callback = on_callback
        self._clock = clock
        self.accepting = True
        self._seen: dict[str, float] = {}  # signature -> its timestamp, while inside the window
        self.replays = 0

    def _replayed(self, signature: str, timestamp: str) -> bool:
        """Remember a verified signature; True if it was already seen inside the window."""
        now = self._clock()
        if len(self._seen) >= MAX_REMEMBERED_SIGNATURES:
            self._seen = {sig: t for sig, t in self._seen.items() if abs(now - t) <= self._max_skew}
        if signature in self._seen:
            return True
        self._seen[signature] = float(timestamp)
        return False

    async def handle(self, request: web.Request) -> web.Response:
        if not self.accepting:
            return _answer(503, "shutting down, retry later")
        token = request.match_info.get("token", "")
        try:
            body = json.loads(await request.text())
        except (ValueError, RecursionError) as exc:
            log.info("refused a KIE callback whose body is not usable JSON (%s)", type(exc).__name__)
            return _answer(400, "the body is not JSON")
        task_id = callback_task_id(body)
        if self._key is not None and not verify_signature(
            self._key.get_secret_value(),
            task_id,
            request.headers.get("X-Webhook-Timestamp"),
            request.headers.get("X-Webhook-Signature"),
            now=self._clock(),
            max_skew=self._max_skew,
        ):
            log.warning("refused a KIE callback with a missing or bad signature")
            return _answer(401, "invalid signature")
        task = await self._tasks.by_token(token) if 0 < len(token) <= MAX_TOKEN_CHARS else None
        if task is None or task.state not in CALLBACK_STATES:
            return _answer(404, "unknown or used callback")
        if task.task_id is not None and task_id and task_id != task.task_id:
            log.warning("refused a KIE callback whose task id does not match its token")
            return _answer(404, "unknown or used callback")
        if self._key is not None and self._replayed(
            request.headers["X-Webhook-Signature"], request.headers["X-Webhook-Timestamp"]
        ):
            self.replays += 1
            return web.json_response({"code": 200, "msg": "duplicate"})
        self._on_callback(task, task_id, callback_hint(body), token)
        return web.json_response({"code": 200, "msg": "success"})
