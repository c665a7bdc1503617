"""Read KIE's task status, in both of its dialects, into one neutral `TaskStatus`.

- Market jobs (`jobs/recordInfo` and their callbacks): `state` is waiting, queuing,
  generating, success or fail; `resultJson` is a JSON *string* holding `resultUrls`.
- The 4o Image API (`gpt4o-image/record-info`): `successFlag` 0/1/2 (some clients see 3)
  and `status` GENERATING, SUCCESS, CREATE_TASK_FAILED or GENERATE_FAILED; results in
  `response.resultUrls` or `response.result_urls`; `progress` is a string "0.00".."1.00".
  Its callback is `{code, msg, data: {taskId, info: {result_urls}}}`.

A callback is only a hint (its body is not signed); the bot confirms with the status
endpoint before it posts anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Literal

State = Literal["pending", "success", "fail"]

_PENDING_JOB_STATES = {"waiting", "queuing", "generating"}
_FAILED_4O = {"CREATE_TASK_FAILED", "GENERATE_FAILED"}


@dataclass(frozen=True)
class TaskStatus:
    state: State
    urls: tuple[str, ...] = ()
    error: str = ""
    error_code: str = ""
    progress: float | None = None  # 0..1, only when KIE reports one
    credits: float | None = None  # what KIE charged, when it says (`creditsConsumed`/`consumeCredits`)
    callback_url: str = ""  # the callBackUrl KIE recorded with the task (in its `param`), if shown

    @property
    def finished(self) -> bool:
        return self.state != "pending"


def _urls(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(u for u in value if isinstance(u, str) and u.startswith(("http://", "https://")))


def _json_object(value: object) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _text(value: object) -> str:
    return str(value).strip() if value not in (None, "") else ""


def recorded_callback_url(data: dict) -> str:
    """The callBackUrl of the create request, as KIE echoes it (`param` / `paramJson`)."""
    for key in ("param", "paramJson"):
        value = _json_object(data.get(key)).get("callBackUrl")
        if isinstance(value, str):
            return value
    return ""


def job_status(data: object) -> TaskStatus:
    """`data` of a jobs recordInfo reply (or of a jobs callback)."""
    if not isinstance(data, dict):
        return TaskStatus("pending")
    return replace(_job_status(data), callback_url=recorded_callback_url(data))


def _job_status(data: dict) -> TaskStatus:
    state = str(data.get("state") or "").lower()
    credits = _credits(data)
    if state == "success":
        result = _json_object(data.get("resultJson"))
        return TaskStatus(
            "success", urls=_urls(result.get("resultUrls") or result.get("result_urls")), credits=credits
        )
    if state == "fail":
        return TaskStatus(
            "fail", error=_text(data.get("failMsg")), error_code=_text(data.get("failCode")), credits=credits
        )
    if state in _PENDING_JOB_STATES or not state:
        return TaskStatus("pending", progress=_fraction(data.get("progress"), scale=100))
    return TaskStatus("pending")


def fouro_status(data: object) -> TaskStatus:
    """`data` of a 4o record-info reply."""
    if not isinstance(data, dict):
        return TaskStatus("pending")
    return replace(_fouro_status(data), callback_url=recorded_callback_url(data))


def _fouro_status(data: dict) -> TaskStatus:
    status = str(data.get("status") or "").upper()
    flag = data.get("successFlag")
    error = _text(data.get("errorMessage"))
    code = _text(data.get("errorCode"))
    if status in _FAILED_4O or flag in (2, 3):
        return TaskStatus("fail", error=error, error_code=code)
    if status == "SUCCESS" or flag == 1:
        response = data.get("response") if isinstance(data.get("response"), dict) else {}
        return TaskStatus("success", urls=_urls(response.get("resultUrls") or response.get("result_urls")))
    return TaskStatus("pending", progress=_fraction(data.get("progress"), scale=1))


def _credits(data: dict) -> float | None:
    """KIE's newer docs call it `creditsConsumed`, older ones `consumeCredits`: accept both."""
    for name in ("creditsConsumed", "consumeCredits"):
        value = data.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def _fraction(value: object, *, scale: float) -> float | None:
    try:
        number = float(value) / scale  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return min(max(number, 0.0), 1.0)


def callback_task_id(body: object) -> str:
    """The task id a callback is about: KIE's docs show `data.taskId`, `data.task_id` and `taskId`."""
    if not isinstance(body, dict):
        return ""
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    for value in (data.get("taskId"), data.get("task_id"), body.get("taskId")):
        if isinstance(value, str) and value:
            return value
    return ""


def callback_hint(body: object) -> TaskStatus:
    """What a callback claims (jobs or 4o shape). Never trusted on its own."""
    if not isinstance(body, dict):
        return TaskStatus("pending")
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    if "state" in data:
        return job_status(data)
    code = body.get("code")
    info = data.get("info") if isinstance(data.get("info"), dict) else {}
    if code == 200:
        return TaskStatus("success", urls=_urls(info.get("result_urls") or info.get("resultUrls")))
    if isinstance(code, int):
        return TaskStatus("fail", error=_text(body.get("msg")), error_code=str(code))
    return TaskStatus("pending")
