"""The data side of the fake KIE image endpoints: the per-task script (`ImageJob`), the
task the fake keeps, real PNG bytes, and KIE's validation rules for create requests."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

T2I = "gpt-image/1.5-text-to-image"
I2I = "gpt-image/1.5-image-to-image"
RATIOS = {"1:1", "2:3", "3:2"}
QUALITIES = {"medium", "high"}


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A real, valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@dataclass
class ImageJob:
    """How the fake plays one image task."""

    outcome: str = "success"  # or "fail"
    fail_code: str = "500"  # jobs failCode / 4o errorCode
    fail_msg: str = "Internal server error"
    images: int = 1
    finish: object | None = None  # a Gate: the task finishes when it opens (None: at creation)
    visible: object | None = None  # a Gate: status says "generating" until it opens (callback first)
    hold_status: object | None = None  # a Gate: status replies wait for it (to make two queries race)
    callback: str = "on_time"  # none | on_time | twice | bad_signature | no_signature | stale | wrong_token
    create_code: int = 200  # an error envelope code for the create request (402, 422, 500...)
    create_msg: str = "success"
    hold_create: object | None = None  # a Gate: the create reply waits (the task exists already)
    drop_create: bool = False  # create the task, then cut the connection before replying
    progress: tuple[str, ...] = ()  # 4o progress strings, one per status query while generating
    result: bytes | None = None  # bytes served as the result file (default: a PNG)
    snake_case_urls: bool = False  # 4o record-info `result_urls` instead of `resultUrls`
    credits: float | None = None  # the jobs callback's `creditsConsumed` (default: 8, 0 when failed)
    expired_links: bool = False  # the result links answer 403 (expired); download-url gives fresh ones
    fresh_links: bool = True  # whether `common/download-url` still has the file
    result_urls: tuple[str, ...] | None = None  # report these URLs instead of the fake's own
    redirect_to: str | None = None  # the result link answers 302 to this URL
    hold_first_reply: object | None = None  # a Gate: the first status reply is computed, then held


@dataclass
class FakeTask:
    task_id: str
    engine: str  # "jobs" or "4o"
    body: dict
    job: ImageJob
    state: str = "generating"  # generating | success | fail
    created_ms: int = 0
    queries: int = 0


@dataclass
class CallbackSent:
    task_id: str
    mode: str
    status: int


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def job_problem(body: dict) -> str | None:
    extra = set(body) - {"model", "input", "callBackUrl"}
    if extra:
        return f"unknown field {sorted(extra)[0]}"
    model = body.get("model")
    if model not in (T2I, I2I):
        return "model is not supported"
    if "callBackUrl" in body and not is_url(body["callBackUrl"]):
        return "callBackUrl must be a URL"
    data = body.get("input")
    if not isinstance(data, dict):
        return "input is required"
    allowed = {"prompt", "aspect_ratio", "quality"} | ({"input_urls"} if model == I2I else set())
    extra = set(data) - allowed
    if extra:
        return f"unknown input field {sorted(extra)[0]}"
    if not isinstance(data.get("prompt"), str) or not data["prompt"].strip():
        return "input.prompt is required"
    if data.get("aspect_ratio") not in RATIOS:
        return "input.aspect_ratio must be 1:1, 2:3 or 3:2"
    if data.get("quality") not in QUALITIES:
        return "input.quality must be medium or high"
    if model == I2I:
        urls = data.get("input_urls")
        if not isinstance(urls, list) or not 1 <= len(urls) <= 16 or not all(is_url(u) for u in urls):
            return "input.input_urls must hold 1 to 16 URLs"
    return None


def fouro_problem(body: dict) -> str | None:
    allowed = {"prompt", "filesUrl", "size", "callBackUrl", "isEnhance", "uploadCn", "enableFallback",
               "fallbackModel", "maskUrl", "nVariants", "fileUrl"}
    extra = set(body) - allowed
    if extra:
        return f"unknown field {sorted(extra)[0]}"
    if body.get("size") not in RATIOS:
        return "size must be 1:1, 3:2 or 2:3"
    files = body.get("filesUrl")
    if files is not None and (not isinstance(files, list) or len(files) > 5 or not all(is_url(u) for u in files)):
        return "filesUrl must hold at most 5 URLs"
    if not body.get("prompt") and not files:
        return "prompt or filesUrl is required"
    if "prompt" in body and not isinstance(body["prompt"], str):
        return "prompt must be a string"
    for flag in ("isEnhance", "uploadCn", "enableFallback"):
        if flag in body and not isinstance(body[flag], bool):
            return f"{flag} must be a boolean"
    if "fallbackModel" in body and body["fallbackModel"] not in ("GPT_IMAGE_1", "FLUX_MAX"):
        return "fallbackModel must be GPT_IMAGE_1 or FLUX_MAX"
    if "callBackUrl" in body and not is_url(body["callBackUrl"]):
        return "callBackUrl must be a URL"
    return None
