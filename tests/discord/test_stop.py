"""The Stop button: only the requester can stop; the text so far stays, marked as stopped."""

from __future__ import annotations

import copy

from bot import messages as core_messages
from tests.fakes import discord_payloads as p
from tests.fakes.kie import CodexScript, Gate, Stall, completed, text_delta, DONE

from .harness import stop_button_id


async def _streaming(h, steps):
    h.kie.codex_replies.append(CodexScript(steps))
    payload = await h.command("codex", {"prompt": "tell me a long story"})
    await h.api.wait_for(lambda api: any(stop_button_id(c) for c in h.original_edits(payload)))
    button = next(stop_button_id(c) for c in h.original_edits(payload) if stop_button_id(c))
    return payload, button


async def test_requester_stops_the_stream_and_keeps_the_text(h):
    payload, button = await _streaming(h, [text_delta("Once upon a time", 1), Stall()])

    answer = await h.press(button, h.original_id(payload))
    await h.settle()

    assert answer["type"] == 4  # answered at once, and only the presser sees it
    assert (answer["data"]["content"], answer["data"]["flags"]) == (core_messages.STOP_DONE, 64)
    final = h.original_edits(payload)[-1].json
    assert final["content"] == f"Once upon a time\n\n{core_messages.REPLY_STOPPED}"
    assert final["components"] == []


async def test_someone_else_cannot_stop_it(h):
    gate = Gate()
    payload, button = await _streaming(h, [text_delta("Once upon a time", 1), gate, text_delta(" the end.", 2), completed(), DONE])

    answer = await h.press(button, h.original_id(payload), invoker=p.OTHER_USER_ID)
    gate.open()
    await h.settle()

    assert (answer["data"]["content"], answer["data"]["flags"]) == (core_messages.STOP_NOT_YOURS, 64)
    final = h.original_edits(payload)[-1].json["content"]
    assert final.startswith("Once upon a time the end.") and core_messages.REPLY_STOPPED not in final


async def test_a_press_after_the_reply_finished_is_answered(h):
    gate = Gate()
    payload, button = await _streaming(h, [text_delta("Short.", 1), gate, completed(), DONE])
    with_button = copy.deepcopy(h.api.messages[h.original_id(payload)].data)
    gate.open()
    await h.settle()

    # Pressed just before the last edit removed the button: Discord still delivers it.
    answer = await h.press(button, h.original_id(payload), as_shown=with_button)

    assert (answer["data"]["content"], answer["data"]["flags"]) == (core_messages.STOP_NOTHING_RUNNING, 64)
