"""Codex stream events, read from each SSE payload's JSON `type`.

KIE's payloads omit fields OpenAI's types require (`logprobs`, most of `response`), so
events are read leniently from the raw JSON rather than validated against OpenAI's models.
Unknown types are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import messages
from ..errors import UpstreamError
from ..kie.errors import error_for_status


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class FunctionCallDelta:
    item_id: str | None
    delta: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    name: str
    call_id: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class WebSearch:
    status: str  # "in_progress", "searching" or "completed"


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None  # input_tokens_details.cached_tokens (part of input_tokens)
    reasoning_tokens: int | None = None  # output_tokens_details.reasoning_tokens (part of output_tokens)


@dataclass(frozen=True, slots=True)
class Completed:
    usage: Usage | None = None
    credits: float | None = None
    incomplete_reason: str | None = None


@dataclass(frozen=True, slots=True)
class EndedEarly:
    """The client ended the reply itself (too long, or out of time); `note` says so to the user."""

    note: str


CodexEvent = TextDelta | ReasoningDelta | FunctionCallDelta | FunctionCall | WebSearch | Completed | EndedEarly

_WEB_SEARCH_PREFIX = "response.web_search_call."


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage(response: object) -> Usage | None:
    usage = response.get("usage") if isinstance(response, dict) else None
    if not isinstance(usage, dict):
        return None
    input_details = usage.get("input_tokens_details") if isinstance(usage.get("input_tokens_details"), dict) else {}
    output_details = usage.get("output_tokens_details") if isinstance(usage.get("output_tokens_details"), dict) else {}
    return Usage(
        _int(usage.get("input_tokens")),
        _int(usage.get("output_tokens")),
        _int(usage.get("total_tokens")),
        _int(input_details.get("cached_tokens")),
        _int(output_details.get("reasoning_tokens")),
    )


def _credits(payload: dict) -> float | None:
    """`credits_consumed` sits at the top level of KIE's event; look inside `response` too."""
    found = _number(payload.get("credits_consumed"))
    response = payload.get("response")
    if found is None and isinstance(response, dict):
        found = _number(response.get("credits_consumed"))
    return found


def _error(payload: dict) -> UpstreamError:
    error = payload.get("error") if isinstance(payload.get("error"), dict) else payload
    response = payload.get("response")
    if isinstance(response, dict) and isinstance(response.get("error"), dict):
        error = response["error"]
    code = error.get("code")
    detail = str(error.get("message") or code or "unknown error")
    status = code if isinstance(code, int) else None
    if status is None and isinstance(code, str):
        status = 429 if "rate" in code else 500 if "server" in code else None
    if status is not None and status != 200:
        return error_for_status(status, detail)
    return UpstreamError(messages.ERR_FAILED.format(detail=" ".join(detail.split())[:300]))


def interpret(payload: object) -> CodexEvent | None:
    """Turn one decoded SSE JSON payload into an event, None to ignore, or raise on error."""
    if not isinstance(payload, dict):
        return None
    kind = payload.get("type")
    if kind == "response.output_text.delta":
        delta = payload.get("delta")
        return TextDelta(delta) if isinstance(delta, str) and delta else None
    if kind == "response.completed":
        return Completed(_usage(payload.get("response")), _credits(payload))
    if kind == "response.incomplete":
        response = payload.get("response") if isinstance(payload.get("response"), dict) else {}
        details = response.get("incomplete_details") if isinstance(response.get("incomplete_details"), dict) else {}
        return Completed(_usage(response), _credits(payload), str(details.get("reason") or "incomplete"))
    if kind == "response.function_call_arguments.delta":
        delta = payload.get("delta")
        return FunctionCallDelta(payload.get("item_id"), delta) if isinstance(delta, str) else None
    if kind == "response.output_item.done":
        item = payload.get("item")
        if isinstance(item, dict) and item.get("type") == "function_call":
            return FunctionCall(str(item.get("name") or ""), item.get("call_id"), str(item.get("arguments") or ""))
        return None
    if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
        delta = payload.get("delta")
        return ReasoningDelta(delta) if isinstance(delta, str) else None
    if isinstance(kind, str) and kind.startswith(_WEB_SEARCH_PREFIX):
        return WebSearch(kind.removeprefix(_WEB_SEARCH_PREFIX))
    if kind in ("error", "response.failed"):
        raise _error(payload)
    return None


def events_from_response(body: dict) -> list[CodexEvent]:
    """A non-streamed Responses body (some endpoints ignore `stream: true`) as events."""
    events: list[CodexEvent] = []
    for item in body.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if isinstance(part, dict) and part.get("type") == "output_text" and part.get("text"):
                events.append(TextDelta(part["text"]))
    events.append(Completed(_usage(body), _credits(body)))
    return events
