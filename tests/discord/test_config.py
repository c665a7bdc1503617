"""`/config` on Discord: registered for Manage Server only, answers privately, and a
thread's settings are its parent channel's."""

from __future__ import annotations

from tests.fakes import discord_payloads as p
from tests.fakes.kie import reply

MANAGE_GUILD = 1 << 5


async def test_config_is_registered_for_server_managers_only(h):
    (put,) = h.api.of("PUT", f"/applications/{p.APP_ID}/commands")
    config = next(c for c in put.json if c["name"] == "config")
    assert str(config["default_member_permissions"]) == str(MANAGE_GUILD)
    assert config["contexts"] == [0]  # servers only, no DMs
    assert {o["name"] for o in config["options"]} == {"instructions", "model", "effort", "reset"}


async def test_config_in_a_thread_sets_the_parent_channel_and_the_next_reply_uses_it(h):
    thread = p.thread_channel(900000000000000777)
    payload = await h.command("config", {"instructions": "Answer in French.", "effort": "high"}, channel=thread)
    answer = h.api.of("POST", f"/interactions/{payload['id']}/{payload['token']}/callback")[0].json
    assert answer["data"]["flags"] & 64  # ephemeral
    assert answer["data"]["content"] == (
        "This channel's instructions are now: Answer in French.\nThis channel's effort is now: high"
    )
    saved = await h.core.channels.get("discord", str(p.CHANNEL_ID))
    assert (saved.instructions, saved.effort) == ("Answer in French.", "high")

    h.kie.codex_replies.append(reply("Bonjour."))
    await h.command("codex", {"prompt": "hello"})
    await h.settle()
    assert h.kie.codex_bodies[0]["instructions"] == "Answer in French."
    assert h.kie.codex_bodies[0]["reasoning"] == {"effort": "high"}

    shown = await h.command("config", {})
    text = h.api.of("POST", f"/interactions/{shown['id']}/{shown['token']}/callback")[0].json["data"]["content"]
    assert "instructions: Answer in French. (this channel)" in text
