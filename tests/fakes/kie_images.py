"""KIE's image endpoints for the fake KIE: Market jobs (`createTask`, `recordInfo`), the
4o Image API (`generate`, `record-info`), result downloads (real PNG bytes) and callbacks.

Strict like KIE: a missing or wrong key gets the 401 envelope; an unknown model, field
or value gets a 422 envelope; more than `create_limit` new tasks per window or
`query_limit` status queries per second get a 429 envelope (all with HTTP 200).

Each create request takes the next `ImageJob` script from `FakeImages.jobs` (a default
success when empty). Tests synchronise on `Gate`s and on `wait_for`, never on sleeps.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections import deque

import aiohttp
from aiohttp import web

from .kie_image_model import I2I, RATIOS, T2I, CallbackSent, FakeTask, ImageJob, fouro_problem, job_problem, png

__all__ = ["I2I", "T2I", "FakeImages", "ImageJob", "png", "RATIOS"]


class FakeImages:
    def __init__(self, kie) -> None:
        self.kie = kie
        router = kie.app.router
        router.add_post("/api/v1/jobs/createTask", self._create_job)
        router.add_get("/api/v1/jobs/recordInfo", self._record_info)
        router.add_post("/api/v1/gpt4o-image/generate", self._create_4o)
        router.add_get("/api/v1/gpt4o-image/record-info", self._record_info_4o)
        router.add_get("/results/{task_id}/{n}", self._result)
        router.add_post("/api/v1/common/download-url", self._download_url)
        self.jobs: deque[ImageJob] = deque()
        self.tasks: dict[str, FakeTask] = {}
        self.create_bodies: list[dict] = []  # every create request that created a task
        self.create_requests = 0  # every create request, refused or not
        self.create_times: list[float] = []  # monotonic time of every create request
        self.queries: list[tuple[float, str]] = []  # (time, task id) of every status query
        self.callbacks: list[CallbackSent] = []
        self.downloads = 0
        self.download_url_requests: list[str] = []  # the `url` of every common/download-url call
        self.status_padding = 0  # bytes of padding added to every status reply (a huge reply)
        self.held_queries = 0  # status queries waiting on a `hold_status` gate
        self.webhook_key: str | None = None
        self.create_limit: tuple[int, float] = (20, 10.0)
        self.query_limit: tuple[int, float] = (10, 1.0)
        self.last_callback_reply = ""
        self.callback_sent_at: dict[str, float] = {}  # task id -> monotonic time of the last callback
        self.changed = asyncio.Condition()
        self._create_times: deque[float] = deque()
        self._query_times: deque[float] = deque()
        self._ids = itertools.count(1)
        self._background: set[asyncio.Task] = set()
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # -- helpers for tests -------------------------------------------------------------
    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            async with self.changed:
                await self.changed.wait_for(lambda: predicate(self))

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def queries_for(self, task_id: str) -> int:
        return sum(1 for _, t in self.queries if t == task_id)

    def callbacks_for(self, task_id: str) -> list[int]:
        return [c.status for c in self.callbacks if c.task_id == task_id]

    # -- strictness --------------------------------------------------------------------
    @staticmethod
    def _over(times: deque[float], limit: tuple[int, float]) -> bool:
        count, window = limit
        now = time.monotonic()
        while times and now - times[0] >= window:
            times.popleft()
        if len(times) >= count:
            return True
        times.append(now)
        return False

    # -- create ------------------------------------------------------------------------
    async def _create_job(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "jobs")

    async def _create_4o(self, request: web.Request) -> web.StreamResponse:
        return await self._create(request, "4o")

    async def _create(self, request: web.Request, engine: str) -> web.StreamResponse:
        self.create_requests += 1
        self.create_times.append(time.monotonic())
        refused = self.kie._unauthorized(request)
        body = await self.kie._json(request)
        self.kie.requests.append((request.path, body if isinstance(body, dict) else None))
        if refused is not None:
            return refused
        if not isinstance(body, dict):
            return body
        problem = job_problem(body) if engine == "jobs" else fouro_problem(body)
        if problem is not None:
            return web.json_response({"code": 422, "msg": problem})
        if self._over(self._create_times, self.create_limit):
            return web.json_response({"code": 429, "msg": "Rate limited: request limit exceeded"})
        job = self.jobs.popleft() if self.jobs else ImageJob()
        if job.create_code != 200:
            return web.json_response({"code": job.create_code, "msg": job.create_msg})
        prefix = "task_4o_" if engine == "4o" else "task_gpt-image_"
        task = FakeTask(f"{prefix}{next(self._ids)}", engine, body, job, created_ms=int(time.time() * 1000))
        self.tasks[task.task_id] = task
        self.create_bodies.append(body)
        if job.finish is None:
            self._finish(task)
        else:
            self._spawn(self._finish_later(task))
        await self._notify()
        if job.hold_create is not None:
            await job.hold_create.event.wait()
        if job.drop_create:
            request.transport.close()
            return web.Response()
        return web.json_response({"code": 200, "msg": "success", "data": {"taskId": task.task_id}})

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _finish_later(self, task: FakeTask) -> None:
        await task.job.finish.event.wait()
        self._finish(task)
        await self._notify()

    def _finish(self, task: FakeTask) -> None:
        task.state = task.job.outcome
        mode = task.job.callback
        if mode == "none" or "callBackUrl" not in task.body:
            return
        if mode == "twice":
            self._spawn(self._send_twice(task.task_id))
        else:
            self._spawn(self.send_callback(task.task_id, mode="good" if mode == "on_time" else mode))

    async def _send_twice(self, task_id: str) -> None:
        await self.send_callback(task_id)
        await self.send_callback(task_id)

    # -- status ------------------------------------------------------------------------
    def _visible_state(self, task: FakeTask) -> str:
        if task.job.visible is not None and not task.job.visible.event.is_set():
            return "generating"
        return task.state

    def _result_urls(self, task: FakeTask) -> list[str]:
        if task.job.result_urls is not None:
            return list(task.job.result_urls)
        return [f"{self.kie.url}/results/{task.task_id}/{n}.png" for n in range(1, task.job.images + 1)]

    async def _status_request(self, request: web.Request, engine: str) -> FakeTask | web.Response:
        refused = self.kie._unauthorized(request)
        task_id = request.query.get("taskId", "")
        self.queries.append((time.monotonic(), task_id))
        await self._notify()
        if refused is not None:
            return refused
        if self._over(self._query_times, self.query_limit):
            return web.json_response({"code": 429, "msg": "Rate limit exceeded"})
        if not task_id:
            return web.json_response({"code": 400, "msg": "taskId parameter is required"})
        task = self.tasks.get(task_id)
        if task is None or task.engine != engine:
            return web.json_response({"code": 404, "msg": "Task not found"})
        if task.job.hold_status is not None and not task.job.hold_status.event.is_set():
            self.held_queries += 1
            await self._notify()
            await task.job.hold_status.event.wait()
        task.queries += 1
        return task

    async def _reply(self, task: FakeTask, body: dict) -> web.Response:
        """Send a status reply: held first when the job says so, padded when asked to."""
        if task.job.hold_first_reply is not None and task.queries == 1:
            self.held_queries += 1
            await self._notify()
            await task.job.hold_first_reply.event.wait()
        if self.status_padding:
            body = {**body, "padding": "x" * self.status_padding}
        return web.json_response(body)

    async def _record_info(self, request: web.Request) -> web.Response:
        task = await self._status_request(request, "jobs")
        if isinstance(task, web.Response):
            return task
        return await self._reply(task, {"code": 200, "msg": "success", "data": self.job_data(task, self._visible_state(task))})

    def job_data(self, task: FakeTask, state: str) -> dict:
        done = state != "generating"
        return {
            "taskId": task.task_id,
            "model": task.body["model"],
            "state": state,
            "param": json.dumps(task.body),
            "resultJson": json.dumps({"resultUrls": self._result_urls(task)}) if state == "success" else "",
            "failCode": task.job.fail_code if state == "fail" else "",
            "failMsg": task.job.fail_msg if state == "fail" else "",
            "costTime": 12 if done else None,
            "completeTime": int(time.time() * 1000) if done else None,
            "createTime": task.created_ms,
            "updateTime": int(time.time() * 1000),
        }

    async def _record_info_4o(self, request: web.Request) -> web.Response:
        task = await self._status_request(request, "4o")
        if isinstance(task, web.Response):
            return task
        state = self._visible_state(task)
        data: dict = {
            "taskId": task.task_id,
            "paramJson": json.dumps(task.body),
            "createTime": task.created_ms,
            "errorCode": None,
            "errorMessage": "",
            "response": None,
        }
        if state == "generating":
            steps = task.job.progress
            value = steps[min(task.queries, len(steps)) - 1] if steps else "0.00"
            data.update(successFlag=0, status="GENERATING", progress=value)
        elif state == "success":
            key = "result_urls" if task.job.snake_case_urls else "resultUrls"
            data.update(successFlag=1, status="SUCCESS", progress="1.00", response={key: self._result_urls(task)})
        else:
            data.update(successFlag=2, status="GENERATE_FAILED", progress="0.00",
                        errorCode=int(task.job.fail_code), errorMessage=task.job.fail_msg)
        return await self._reply(task, {"code": 200, "msg": "success", "data": data})

    async def _result(self, request: web.Request) -> web.Response:
        task = self.tasks.get(request.match_info["task_id"])
        if task is None or task.state != "success":
            return web.Response(status=404, text="not found")
        if task.job.redirect_to is not None:
            raise web.HTTPFound(task.job.redirect_to)
        if task.job.expired_links and request.query.get("fresh") != "1":
            return web.Response(status=403, text="<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
        self.downloads += 1
        await self._notify()
        data = task.job.result if task.job.result is not None else png()
        return web.Response(body=data, content_type="image/png")

    async def _download_url(self, request: web.Request) -> web.Response:
        """KIE's Common API: a fresh (20-minute) link for a file KIE generated."""
        refused = self.kie._unauthorized(request)
        if refused is not None:
            return refused
        body = await self.kie._json(request)
        if not isinstance(body, dict):
            return body
        url = str(body.get("url") or "")
        self.download_url_requests.append(url)
        await self._notify()
        prefix = f"{self.kie.url}/results/"
        task = self.tasks.get(url[len(prefix):].split("/")[0]) if url.startswith(prefix) else None
        if task is None:
            return web.json_response({"code": 422, "msg": "The URL is not a file generated by kie.ai"})
        if not task.job.fresh_links or task.state != "success":
            return web.json_response({"code": 404, "msg": "File not found"})
        return web.json_response({"code": 200, "msg": "success", "data": url.split("?")[0] + "?fresh=1"})

    # -- callbacks ---------------------------------------------------------------------
    def callback_body(self, task: FakeTask) -> dict:
        if task.engine == "4o":
            if task.state == "success":
                return {"code": 200, "msg": "success",
                        "data": {"taskId": task.task_id, "info": {"result_urls": self._result_urls(task)}}}
            return {"code": int(task.job.fail_code), "msg": task.job.fail_msg, "data": {"taskId": task.task_id, "info": None}}
        ok = task.state == "success"
        return {
            "code": 200 if ok else 501,
            "msg": "Playground task completed successfully." if ok else "Playground task failed.",
            "data": {**self.job_data(task, task.state), "creditsConsumed": self._credits(task, ok)},
        }

    @staticmethod
    def _credits(task: FakeTask, ok: bool) -> float:
        return task.job.credits if task.job.credits is not None else 8 if ok else 0

    def signed_headers(self, task_id: str, *, mode: str = "good") -> dict[str, str]:
        if self.webhook_key is None or mode == "no_signature":
            return {}
        stamp = str(int(time.time()) - (3600 if mode == "stale" else 0))
        key = self.webhook_key if mode != "bad_signature" else self.webhook_key + "-wrong"
        digest = hmac.new(key.encode(), f"{task_id}.{stamp}".encode(), hashlib.sha256).digest()
        return {"X-Webhook-Timestamp": stamp, "X-Webhook-Signature": base64.b64encode(digest).decode()}

    async def send_callback(
        self, task_id: str, *, mode: str = "good", body: dict | None = None, base_url: str | None = None,
        headers: dict | None = None,
    ) -> int:
        """POST the task's callback the way KIE does. `mode`: good, bad_signature,
        no_signature, stale or wrong_token. `base_url` replaces the scheme, host and port
        (a restarted bot in a test listens on a new port); `headers` replaces the signed
        headers (to replay them). Returns the bot's HTTP status."""
        task = self.tasks[task_id]
        url = task.body["callBackUrl"]
        if base_url is not None:
            url = base_url + url[url.index("/kie/callback/"):]
        if mode == "wrong_token":
            url = url.rsplit("/", 1)[0] + "/not-a-real-token"
        if self._session is None:
            self._session = aiohttp.ClientSession()
        payload = body if body is not None else self.callback_body(task)
        self.callback_sent_at[task_id] = time.monotonic()
        sent_headers = headers if headers is not None else self.signed_headers(task_id, mode=mode)
        async with self._session.post(url, json=payload, headers=sent_headers) as response:
            status = response.status
            self.last_callback_reply = await response.text()
        self.callbacks.append(CallbackSent(task_id, mode, status))
        await self._notify()
        return status
