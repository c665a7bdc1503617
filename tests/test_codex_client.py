"""The real Codex client against the fake KIE over loopback, in each documented case."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time

import aiohttp
import pytest
from pydantic import SecretStr

from bot import messages
from bot.codex.client import CodexClient, Timeouts
from bot.codex.events import Completed, EndedEarly, ReasoningDelta, TextDelta, Usage, WebSearch
from bot.errors import (
    Busy,
    Maintenance,
    OutOfCredits,
    Rejected,
    StreamInterrupted,
    Unauthorized,
    UpstreamError,
    UpstreamUnavailable,
)
from tests.fakes.kie import (
    API_KEY,
    DONE,
    CodexScript,
    Cut,
    Delay,
    Gate,
    KeepAlive,
    Stall,
    completed,
    envelope,
    frame,
    http_error,
    reply,
    stalled_body,
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


# -- issue 9: never hang, never freeze ---------------------------------------------------

CREATED = frame({"type": "response.created", "response": {}}, event="response.created")
THINKING = frame({"type": "response.reasoning_summary_text.delta", "delta": "Thinking…"})


async def collect_within(client: CodexClient, seconds: float = 3, body=BODY) -> list:
    """Collect the events, failing (instead of hanging the suite) if the reply never ends."""
    async with asyncio.timeout(seconds):
        return await collect(client, body)


async def events_until_error(client: CodexClient, seconds: float = 3) -> tuple[list, UpstreamError]:
    seen = []
    with pytest.raises(UpstreamError) as caught:
        async with asyncio.timeout(seconds):
            async for event in client.stream(BODY):
                seen.append(event)
    return seen, caught.value


async def test_a_json_body_that_stalls_after_its_headers_is_retried(kie, http):
    kie.codex_replies.extend([stalled_body(), reply("ok")])
    client = client_for(kie, http, max_retries=1, timeouts=Timeouts(connect=2, first_event=0.2, idle=5))
    events = await collect_within(client)
    assert events[0] == TextDelta("ok")
    assert len(kie.codex_bodies) == 2


async def test_a_json_body_cut_midway_is_retried(kie, http):
    kie.codex_replies.extend([CodexScript([b'{"code": ', Cut()], content_type="application/json"), reply("ok")])
    events = await collect_within(client_for(kie, http, max_retries=1))
    assert events[0] == TextDelta("ok")
    assert len(kie.codex_bodies) == 2


@pytest.mark.parametrize(("status", "kind", "requests"), [(500, UpstreamUnavailable, 2), (401, Unauthorized, 1)])
async def test_an_error_body_that_stalls_still_reports_its_status(kie, http, status, kind, requests):
    kie.codex_replies.extend([stalled_body(status), stalled_body(status)])
    client = client_for(kie, http, max_retries=1, timeouts=Timeouts(connect=0.2, first_event=5, idle=5))
    _, error = await events_until_error(client)
    assert type(error) is kind and error.status == status
    assert len(kie.codex_bodies) == requests  # 5xx retried once, 401 not


async def test_keep_alive_comments_do_not_hold_a_stalled_reply_open(kie, http):
    kie.codex_replies.append(CodexScript([text_delta("so far"), KeepAlive(every=0.02)]))
    client = client_for(kie, http, timeouts=Timeouts(connect=2, first_event=2, idle=0.2))
    seen, error = await events_until_error(client)
    assert seen == [TextDelta("so far")]
    assert error.message == messages.ERR_TIMEOUT.format(what="the reply stalled")
    assert len(kie.codex_bodies) == 1  # text was shown: not retried


async def test_keep_alive_comments_before_any_output_hit_the_first_event_timeout(kie, http):
    kie.codex_replies.append(CodexScript([KeepAlive(every=0.02)]))
    client = client_for(kie, http, max_retries=0, timeouts=Timeouts(connect=2, first_event=0.2, idle=5))
    _, error = await events_until_error(client)
    assert error.message == messages.ERR_TIMEOUT.format(what="no reply started")


def ticking(count: int, every: float) -> CodexScript:
    """A reply that never stalls but never ends in time: a delta every `every` seconds."""
    steps = [text_delta("tick ")]
    for i in range(count):
        steps += [Delay(every), text_delta("tick ", i + 2)]
    return CodexScript([*steps, completed(), DONE])


async def test_the_total_timeout_ends_the_reply_with_the_text_so_far_and_a_note(kie, http):
    kie.codex_replies.append(ticking(100, 0.05))  # 5 s of reply
    client = client_for(kie, http, timeouts=Timeouts(connect=2, first_event=2, idle=1, total=0.5))
    events = await collect_within(client)
    assert events[-1] == EndedEarly(messages.REPLY_CUT_TIME.format(duration="1 second"))
    assert set(events[:-1]) == {TextDelta("tick ")}
    async with asyncio.timeout(2):
        await kie.disconnected.wait()  # the upstream stream was closed, not left running


async def test_the_total_timeout_without_any_text_is_an_error(kie, http):
    steps = [THINKING]
    for _ in range(100):
        steps += [Delay(0.05), THINKING]
    kie.codex_replies.append(CodexScript(steps))
    client = client_for(kie, http, timeouts=Timeouts(connect=2, first_event=2, idle=1, total=0.3))
    seen, error = await events_until_error(client)
    assert set(seen) == {ReasoningDelta("Thinking…")}
    assert error.message == messages.ERR_NO_TEXT_IN_TIME.format(duration="1 second")
    assert len(kie.codex_bodies) == 1


async def test_response_created_is_not_the_first_output(kie, http):
    """Silent reasoning after `response.created` gets the first-event limit, then a retry."""
    kie.codex_replies.extend([CodexScript([CREATED, Stall()]), reply("ok")])
    client = client_for(kie, http, max_retries=1, timeouts=Timeouts(connect=2, first_event=0.3, idle=0.05))
    events = await collect_within(client)
    assert events[0] == TextDelta("ok")
    assert len(kie.codex_bodies) == 2


async def test_silent_reasoning_longer_than_the_idle_timeout_is_not_a_stall(kie, http):
    kie.codex_replies.append(CodexScript([CREATED, Delay(0.3), text_delta("ok"), completed(), DONE]))
    client = client_for(kie, http, timeouts=Timeouts(connect=2, first_event=2, idle=0.1))
    events = await collect_within(client)
    assert events[0] == TextDelta("ok")
    assert len(kie.codex_bodies) == 1


async def test_a_stall_after_reasoning_but_before_text_is_retried(kie, http):
    kie.codex_replies.extend([CodexScript([THINKING, Stall()]), reply("ok")])
    client = client_for(kie, http, max_retries=1, timeouts=Timeouts(connect=2, first_event=2, idle=0.1))
    events = await collect_within(client)
    assert events[:2] == [ReasoningDelta("Thinking…"), TextDelta("ok")]
    assert len(kie.codex_bodies) == 2


async def test_a_silent_stall_is_bounded_by_the_first_output_budget(kie, http):
    """A stall costs 2 paid requests, not 1 + CODEX_MAX_RETRIES, and the user hears back
    when the budget ends. The defaults (120 s per attempt, 180 s budget) allow one retry;
    here a budget of 2.5 waits does the same, with half a wait to spare for a slow machine."""
    kie.codex_replies.extend([CodexScript([Stall()]) for _ in range(4)])
    client = client_for(kie, http, max_retries=3, timeouts=Timeouts(connect=2, first_event=0.4, idle=5, first_output_budget=1.0))
    _, error = await events_until_error(client)
    assert error.message == messages.ERR_TIMEOUT.format(what="no reply started")
    assert len(kie.codex_bodies) == 2


async def test_each_retry_is_logged_as_a_new_paid_request(kie, http, caplog):
    kie.codex_replies.extend([http_error(500), reply("ok")])
    with caplog.at_level(logging.WARNING, logger="bot.codex.client"):
        await collect_within(client_for(kie, http, max_retries=3))
    [record] = [r for r in caplog.records if r.name == "bot.codex.client"]
    assert record.getMessage().startswith(
        "Codex attempt 1 of 4 failed (UpstreamUnavailable, status 500); attempt 2, a new paid request, in "
    )
    assert API_KEY not in caplog.text


async def test_completed_ends_the_reply_even_if_the_connection_stays_open(kie, http):
    kie.codex_replies.append(CodexScript([text_delta("x"), completed(), Stall()]))
    client = client_for(kie, http, timeouts=Timeouts(connect=2, first_event=30, idle=30))
    events = await collect_within(client, 2)
    assert events == [TextDelta("x"), Completed(Usage(4427, 137, 4564), 0.49)]
    async with asyncio.timeout(2):
        await kie.disconnected.wait()


@pytest.mark.parametrize("status", [429, 503])
async def test_a_retry_after_within_the_cap_is_waited_out(kie, http, status):
    kie.codex_replies.extend([http_error(status, retry_after="0.3"), reply("ok")])
    started = time.monotonic()
    events = await collect_within(client_for(kie, http, backoff=0.001))
    assert events[0] == TextDelta("ok")
    assert time.monotonic() - started >= 0.3  # Retry-After, not the 1 ms backoff
    assert len(kie.codex_bodies) == 2


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, "120", messages.ERR_BUSY_UNTIL.format(wait="2 minutes")),
        (429, "31", messages.ERR_BUSY_UNTIL.format(wait="31 seconds")),
        (503, http_date(2 * 3600), messages.ERR_UNAVAILABLE_UNTIL.format(status=503, wait="2 hours")),
    ],
    ids=["429-seconds", "429-just-past-the-cap", "503-http-date"],
)
async def test_a_retry_after_beyond_the_cap_tells_the_user_when_to_try_again(kie, http, status, retry_after, expected):
    kie.codex_replies.extend([http_error(status, retry_after=retry_after), reply("not asked for")])
    _, error = await events_until_error(client_for(kie, http, max_retries=3))
    assert error.message == expected
    assert len(kie.codex_bodies) == 1  # not retried: nobody waits minutes for a chat reply


async def test_retries_used_up_under_retry_after_name_the_wait(kie, http):
    kie.codex_replies.extend([http_error(429, retry_after="0.01")] * 2)
    _, error = await events_until_error(client_for(kie, http, max_retries=1))
    assert isinstance(error, Busy)
    assert error.message == messages.ERR_BUSY_UNTIL.format(wait="1 second")
    assert len(kie.codex_bodies) == 2


async def test_an_event_past_the_size_limit_is_a_clear_error_and_not_retried(kie, http):
    kie.codex_replies.extend([CodexScript([b"data: " + b"x" * 5000, Stall()]), reply("not asked for")])
    _, error = await events_until_error(client_for(kie, http, max_event_chars=1000))
    assert isinstance(error, StreamInterrupted)
    assert error.message == messages.ERR_EVENT_TOO_LARGE.format(limit=1000)
    assert len(kie.codex_bodies) == 1
    async with asyncio.timeout(2):
        await kie.disconnected.wait()


async def test_a_1_mib_delta_streams_whole(kie, http):
    kie.codex_replies.append(reply("y" * (1 << 20)))
    events = await collect_within(client_for(kie, http, max_reply_chars=2 << 20))
    assert events[0] == TextDelta("y" * (1 << 20))


async def test_a_reply_past_the_size_limit_is_cut_with_a_note_and_the_stream_closed(kie, http):
    gate = Gate()
    kie.codex_replies.append(CodexScript([text_delta("abcdef"), text_delta("ghijkl"), gate, text_delta("never")]))
    events = await collect_within(client_for(kie, http, max_reply_chars=10))
    assert events == [
        TextDelta("abcdef"),
        TextDelta("ghij"),
        EndedEarly(messages.REPLY_CUT_LENGTH.format(limit=10)),
    ]
    async with asyncio.timeout(2):
        await kie.disconnected.wait()
    gate.open()
