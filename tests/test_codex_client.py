"""The real Codex client against the fake KIE over loopback, in each documented case."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from pydantic import SecretStr

from bot import messages
from bot.codex.client import CodexClient, Timeouts
from bot.codex.events import Completed, TextDelta, Usage, WebSearch
from bot.errors import (
    Busy,
    Maintenance,
    OutOfCredits,
    Rejected,
    StreamInterrupted,
    Unauthorized,
    UpstreamError,
)
from tests.fakes.kie import (
    API_KEY,
    DONE,
    CodexScript,
    Cut,
    Gate,
    Stall,
    completed,
    envelope,
    frame,
    http_error,
    reply,
    text_delta,
)

BODY = {"model": "gpt-5.1-codex", "input": [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]}


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


def client_for(kie, http, *, key=API_KEY, path="/api/v1/responses", **kwargs) -> CodexClient:
    kwargs.setdefault("backoff", 0.001)
    kwargs.setdefault("timeouts", Timeouts(connect=2, first_event=2, idle=2))
    return CodexClient(http, url=kie.url + path, api_key=SecretStr(key), **kwargs)


async def collect(client: CodexClient, body=BODY) -> list:
    return [event async for event in client.stream(body)]


async def test_documented_stream(kie, http):
    kie.codex_replies.append(reply("Hello", "!"))
    events = await collect(client_for(kie, http))
    assert events == [
        TextDelta("Hello"),
        TextDelta("!"),
        Completed(Usage(4427, 137, 4564), 0.49),
    ]
    sent = kie.codex_bodies[0]
    assert sent["stream"] is True and sent["model"] == "gpt-5.1-codex"


async def test_data_only_stream_from_an_openai_compatible_endpoint(kie, http):
    kie.codex_replies.append(reply("a", "b", data_only=True))
    client = client_for(kie, http, path="/v1/responses")
    events = await collect(client, {**BODY, "model": "gpt-4.1"})
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["a", "b"]
    assert kie.requests[-1][0] == "/v1/responses"


async def test_completed_without_done_is_complete(kie, http):
    kie.codex_replies.append(reply("x", done=False))
    events = await collect(client_for(kie, http))
    assert isinstance(events[-1], Completed)


async def test_unknown_events_and_non_json_payloads_are_ignored(kie, http):
    steps = [
        frame({"type": "response.created", "response": {}}, event="response.created"),
        frame("not json"),
        frame({"type": "response.web_search_call.searching", "item_id": "ws"}),
        text_delta("t"),
        frame({"type": "response.output_text.annotation.added"}),
        completed(),
        DONE,
    ]
    kie.codex_replies.append(CodexScript(steps))
    events = await collect(client_for(kie, http))
    assert events[:2] == [WebSearch("searching"), TextDelta("t")]
    assert isinstance(events[2], Completed)


@pytest.mark.parametrize(
    ("code", "kind", "expected"),
    [
        (401, Unauthorized, messages.ERR_UNAUTHORIZED),
        (402, OutOfCredits, messages.ERR_NO_CREDITS),
        (455, Maintenance, messages.ERR_MAINTENANCE),
        (422, Rejected, messages.ERR_REJECTED.format(detail="input is required")),
    ],
)
async def test_error_envelope_with_http_200(kie, http, code, kind, expected):
    kie.codex_replies.append(envelope(code, "input is required"))
    with pytest.raises(kind) as caught:
        await collect(client_for(kie, http))
    assert caught.value.message == expected
    assert len(kie.codex_bodies) == 1  # not retried


async def test_wrong_key_is_refused_like_kie_does(kie, http):
    with pytest.raises(UpstreamError) as caught:
        await collect(client_for(kie, http, key="wrong"))
    assert caught.value.message == messages.ERR_UNAUTHORIZED
    assert "wrong" not in caught.value.message


@pytest.mark.parametrize("status", [401, 402, 500, 503])
async def test_http_error_status(kie, http, status):
    for _ in range(4):
        kie.codex_replies.append(http_error(status))
    with pytest.raises(UpstreamError) as caught:
        await collect(client_for(kie, http, max_retries=2))
    assert caught.value.status == status
    # 5xx is retried (1 + 2 retries), 4xx is not.
    assert len(kie.codex_bodies) == (3 if status >= 500 else 1)


async def test_busy_and_server_errors_are_retried_before_anything_is_shown(kie, http):
    kie.codex_replies.extend([envelope(429, "Rate limited"), http_error(500), reply("fine")])
    events = await collect(client_for(kie, http, max_retries=3))
    assert events[0] == TextDelta("fine")
    assert len(kie.codex_bodies) == 3


async def test_busy_after_retries_tells_the_user(kie, http):
    kie.codex_replies.extend([envelope(429, "Rate limited")] * 3)
    with pytest.raises(Busy) as caught:
        await collect(client_for(kie, http, max_retries=2))
    assert caught.value.message == messages.ERR_BUSY


async def test_a_stream_cut_after_text_is_not_retried_and_keeps_the_text(kie, http):
    kie.codex_replies.extend([CodexScript([text_delta("partial "), Cut()]), reply("should not be used")])
    seen = []
    with pytest.raises(StreamInterrupted) as caught:
        async for event in client_for(kie, http).stream(BODY):
            seen.append(event)
    assert seen == [TextDelta("partial ")]
    assert caught.value.message == messages.ERR_CLOSED_EARLY
    assert len(kie.codex_bodies) == 1


async def test_a_stream_cut_before_any_text_is_retried(kie, http):
    kie.codex_replies.extend([CodexScript([Cut()]), reply("second try")])
    events = await collect(client_for(kie, http))
    assert events[0] == TextDelta("second try")


async def test_a_stall_after_text_hits_the_idle_timeout(kie, http):
    kie.codex_replies.append(CodexScript([text_delta("so far"), Stall()]))
    client = client_for(kie, http, timeouts=Timeouts(connect=2, first_event=2, idle=0.2))
    seen = []
    with pytest.raises(StreamInterrupted) as caught:
        async for event in client.stream(BODY):
            seen.append(event)
    assert seen == [TextDelta("so far")]
    assert caught.value.message == messages.ERR_TIMEOUT.format(what="the reply stalled")


async def test_no_first_event_hits_the_first_event_timeout(kie, http):
    kie.codex_replies.append(CodexScript([Stall()]))
    client = client_for(kie, http, max_retries=0, timeouts=Timeouts(connect=2, first_event=0.2, idle=5))
    with pytest.raises(StreamInterrupted) as caught:
        await collect(client)
    assert caught.value.message == messages.ERR_TIMEOUT.format(what="no reply started")


async def test_connection_refused_is_a_clear_error(http):
    client = CodexClient(
        http, url="http://127.0.0.1:9/api/v1/responses", api_key=SecretStr("k"), max_retries=1, backoff=0.001
    )
    with pytest.raises(UpstreamError) as caught:
        await collect(client)
    assert caught.value.message == messages.ERR_CONNECT


async def test_error_event_inside_the_stream(kie, http):
    steps = [
        text_delta("before "),
        frame({"type": "error", "code": "server_error", "message": "The model crashed"}, event="error"),
    ]
    kie.codex_replies.append(CodexScript(steps))
    seen = []
    with pytest.raises(UpstreamError) as caught:
        async for event in client_for(kie, http).stream(BODY):
            seen.append(event)
    assert seen == [TextDelta("before ")]
    assert caught.value.status == 500


async def test_response_failed_event(kie, http):
    failed = {"type": "response.failed", "response": {"error": {"code": "invalid_prompt", "message": "Nope"}}}
    kie.codex_replies.append(CodexScript([frame(failed, event="response.failed")]))
    with pytest.raises(UpstreamError) as caught:
        await collect(client_for(kie, http))
    assert caught.value.message == messages.ERR_FAILED.format(detail="Nope")


async def test_a_plain_json_responses_body_is_accepted(kie, http):
    body = {
        "output": [
            {"type": "reasoning", "id": "rs_xxx", "summary": []},
            {"type": "message", "content": [{"type": "output_text", "text": "Hello! How can I help?"}]},
        ],
        "usage": {"total_tokens": 4490, "output_tokens": 47, "input_tokens": 4443},
        "credits_consumed": 0.48,
        "status": "completed",
    }
    kie.codex_replies.append(CodexScript(json_body=body, content_type="application/json"))
    events = await collect(client_for(kie, http))
    assert events == [TextDelta("Hello! How can I help?"), Completed(Usage(4443, 47, 4490), 0.48)]


async def test_the_caller_leaving_releases_the_upstream_connection(kie):
    """Stopping a reply must free its HTTP connection at once, not when it is garbage-collected.

    With a pool of one connection, the next request can only go through if the abandoned
    stream's connection was released.
    """
    gate = Gate()
    kie.codex_replies.append(CodexScript([text_delta("first"), gate, text_delta("never read")]))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as http:
        stream = client_for(kie, http).stream(BODY)
        assert await anext(stream) == TextDelta("first")
        await stream.aclose()
        kie.codex_replies.append(reply("next"))
        async with asyncio.timeout(5):
            events = await collect(client_for(kie, http))
        assert events[0] == TextDelta("next")
        gate.open()
