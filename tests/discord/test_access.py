"""Allowlists: the rules, and the refusals a user sees."""

from __future__ import annotations

from adapters.discord import messages
from adapters.discord.access import Allowlists
from tests.fakes import discord_payloads as p
from tests.fakes.kie import reply

ROLE = 900000000000000555


def test_no_lists_allow_everyone_everywhere():
    allow = Allowlists()
    assert allow.refusal(guild_id=1, channel_ids=(2,), user_id=3) is None
    assert allow.refusal(guild_id=None, channel_ids=(2,), user_id=3) is None


def test_each_list_that_is_set_must_pass():
    allow = Allowlists(guilds=frozenset({"1"}), channels=frozenset({"2"}))
    assert allow.refusal(guild_id=1, channel_ids=(2,), user_id=3) is None
    assert allow.refusal(guild_id=9, channel_ids=(2,), user_id=3) == messages.REFUSED_GUILD
    assert allow.refusal(guild_id=1, channel_ids=(8,), user_id=3) == messages.REFUSED_CHANNEL
    assert allow.refusal(guild_id=1, channel_ids=(77, 2), user_id=3) is None  # a thread under an allowed channel


def test_users_or_roles_decide_who():
    allow = Allowlists(users=frozenset({"3"}), roles=frozenset({"5"}))
    assert allow.refusal(guild_id=1, channel_ids=(2,), user_id=3) is None
    assert allow.refusal(guild_id=1, channel_ids=(2,), user_id=4, role_ids=(5,)) is None
    assert allow.refusal(guild_id=1, channel_ids=(2,), user_id=4, role_ids=(6,)) == messages.REFUSED_USER


def test_dms_need_the_user_list_once_any_list_is_set():
    assert Allowlists(guilds=frozenset({"1"})).refusal(guild_id=None, channel_ids=(2,), user_id=3) == messages.REFUSED_DM
    assert Allowlists(guilds=frozenset({"1"}), users=frozenset({"3"})).refusal(guild_id=None, channel_ids=(2,), user_id=3) is None


async def test_a_refused_command_is_answered_privately_and_goes_nowhere(make_harness):
    h = await make_harness(discord_allowed_roles=str(ROLE))

    payload = await h.command("codex", {"prompt": "hi"})
    await h.settle()

    (callback,) = [c for c in h.api.calls if payload["token"] in c.path]
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] == 64
    assert callback.json["data"]["content"] == messages.REFUSED_USER
    assert not h.kie.codex_bodies


async def test_a_member_with_an_allowed_role_gets_an_answer(make_harness):
    h = await make_harness(discord_allowed_roles=str(ROLE), discord_allowed_guilds=str(p.GUILD_ID))
    h.kie.codex_replies.append(reply("Hello."))

    payload = await h.command("codex", {"prompt": "hi"}, roles=(ROLE,))
    await h.settle()

    assert h.original_edits(payload)[-1].json["content"].startswith("Hello.")


async def test_a_mention_outside_the_allowed_channels_is_refused_in_place(make_harness):
    h = await make_harness(discord_allowed_channels="123")
    data = h.api.add_message(p.message(content=f"<@{p.BOT_ID}> hi", mentions=[p.BOT_USER]))

    await h.message(data)
    await h.settle()

    (answer,) = h.api.of("POST", f"/channels/{p.CHANNEL_ID}/messages")
    assert answer.json["content"] == messages.REFUSED_CHANNEL
    assert int(answer.json["message_reference"]["message_id"]) == int(data["id"])
    assert not h.kie.codex_bodies and not h.api.threads
