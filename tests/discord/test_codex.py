"""`/codex` end to end: discord.py's HTTP layer against the fake Discord, Codex from the fake KIE."""

from __future__ import annotations

from tests.fakes import discord_payloads as p
from tests.fakes.kie import CodexScript, Gate, completed, text_delta, DONE

from .conftest import DISCORD_BUCKET, FAST
from .harness import NO_MENTIONS, stop_button_id

FOOTER = "_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"


async def test_defers_first_then_streams_the_exact_reply(h):
    gate = Gate()
    h.kie.codex_replies.append(CodexScript([text_delta("Hello @everyone and <@123>", 1), gate, text_delta(", world.", 2), completed(), DONE]))

    payload = await h.command("codex", {"prompt": "say hi", "effort": "low", "web_search": True})
    await h.api.wait_for(lambda api: len(h.original_edits(payload)) >= 1)
    gate.open()
    await h.settle()

    token_calls = [c for c in h.api.calls if payload["token"] in c.path]
    assert token_calls[0].path.endswith("/callback")  # the first thing Discord hears: the deferral
    assert token_calls[0].json == {"type": 5}  # public "thinking", never ephemeral
    edits = h.original_edits(payload)
    assert edits[0].json["content"].startswith("Hello @everyone and <@123>")
    assert stop_button_id(edits[0]) is not None  # a Stop button while it streams
    final = edits[-1].json
    assert final["content"] == f"Hello @everyone and <@123>, world.\n\n{FOOTER}"
    assert final["components"] == []  # the button goes with the last edit
    assert h.api.text_of(h.original_id(payload)) == final["content"]
    assert all(c.json["allowed_mentions"] == NO_MENTIONS for c in h.writes())  # model output pings no one
    body = h.kie.codex_bodies[0]
    assert body["reasoning"] == {"effort": "low"} and body["tools"] == [{"type": "web_search"}]


async def test_edits_keep_the_pace_of_the_message_and_the_channel(h):
    gates = [Gate() for _ in range(12)]
    steps: list = []
    for i, gate in enumerate(gates):
        steps += [text_delta(f"part {i}. ", i + 1), gate]
    h.kie.codex_replies.append(CodexScript(steps + [completed(), DONE]))

    payload = await h.command("codex", {"prompt": "count"})
    for gate in gates:  # each delta is released only after the previous one was shown
        seen = len(h.original_edits(payload))
        await h.api.wait_for(lambda api: len(h.original_edits(payload)) > seen)
        gate.open()
    await h.settle()

    edits = h.original_edits(payload)
    assert len(edits) >= 6
    gaps = [b.at - a.at for a, b in zip(edits, edits[1:-1])]  # the final edit may skip the wait
    # Each delta is released as soon as the previous edit arrives, so without pacing the gaps
    # would be a few ms. The gaps are measured on arrival at the fake, and two requests'
    # travel times differ on a loaded machine: half the interval is the robust bound.
    assert min(gaps) >= FAST.min_edit_interval * 0.5
    count, period = DISCORD_BUCKET  # never more writes in a channel than Discord allows
    times = [c.at for c in h.writes()]
    assert all(len([t for t in times if start <= t < start + period]) <= count for start in times)
    assert h.api.rate_limited == 0
    assert edits[-1].json["content"].startswith("part 0. part 1.") and "part 11." in edits[-1].json["content"]


def _fences_balanced(text: str) -> bool:
    return sum(1 for line in text.splitlines() if line.strip().startswith("```")) % 2 == 0


async def test_long_reply_continues_in_new_messages_with_balanced_fences(h):
    code = "\n".join(f"    print('line {i:03d} of the example')" for i in range(120))
    text = "Here is the script:\n\n```python\n" + code + "\n```\n\nThat is all.\n" + "Closing words. " * 40
    chunks = [text[i : i + 400] for i in range(0, len(text), 400)]
    h.kie.codex_replies.append(CodexScript([text_delta(c, n + 1) for n, c in enumerate(chunks)] + [completed(), DONE]))

    payload = await h.command("codex", {"prompt": "write a long script"})
    await h.settle()

    posts = h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages")
    assert len(posts) >= 2  # 5,000+ characters cannot fit in one Discord message
    shown = [h.api.text_of(h.original_id(payload))]
    shown += [m.data["content"] for m in h.api.messages.values() if m.data["author"]["id"] == str(p.BOT_ID)
              and int(m.data["id"]) != h.original_id(payload)]
    assert all(len(s) <= 2000 for s in shown)
    assert all(_fences_balanced(s) for s in shown)
    assert shown[1].startswith("```python")  # the block reopens where it was cut
    assert shown[-1].endswith(FOOTER)
    assert all(c.json["allowed_mentions"] == NO_MENTIONS for c in posts)
    joined = "".join(s.replace("```python\n", "").replace("\n```", "") for s in shown)
    for i in (0, 60, 119):
        assert f"line {i:03d} of the example" in joined
    assert h.api.rate_limited == 0
