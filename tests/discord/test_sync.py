"""Command sync: instant to one server with DISCORD_GUILD_ID, else global and only on change."""

from __future__ import annotations

from tests.fakes import discord_payloads as p

GLOBAL = f"/applications/{p.APP_ID}/commands"


async def test_definitions_have_the_options_and_choices_users_pick_from(h):
    (put,) = h.api.of("PUT", GLOBAL)
    commands = {c["name"]: c for c in put.json}
    codex = {o["name"]: o for o in commands["codex"]["options"]}
    assert codex["prompt"]["required"] is True and codex["prompt"]["max_length"] == 6000
    assert [c["value"] for c in codex["model"]["choices"]] == ["gpt-5-codex", "gpt-5.1-codex", "gpt-5.2-codex", "gpt-5.3-codex"]
    assert [c["value"] for c in codex["effort"]["choices"]] == ["minimal", "low", "medium", "high", "xhigh"]
    assert codex["web_search"]["type"] == 5
    image = {o["name"]: o for o in commands["image"]["options"]}
    assert [c["value"] for c in image["ratio"]["choices"]] == ["1:1", "2:3", "3:2"]
    assert [c["value"] for c in image["quality"]["choices"]] == ["medium", "high"]
    assert [c["value"] for c in image["engine"]["choices"]] == ["gpt-image-1.5", "4o"]
    assert image["reference"]["type"] == 11 and not image["reference"].get("required")


async def test_global_sync_happens_only_when_the_definitions_changed(make_harness, discord_api):
    first = await make_harness()
    assert first.client.sync_result == "global"

    second = await make_harness()  # a restart with the same commands: Discord's copy decides
    assert second.client.sync_result == "unchanged"
    assert len(discord_api.of("PUT", GLOBAL)) == 1

    discord_api.commands["global"][0]["description"] = "an older description"
    third = await make_harness()
    assert third.client.sync_result == "global"
    assert len(discord_api.of("PUT", GLOBAL)) == 2


async def test_a_guild_id_syncs_to_that_server_at_every_start(make_harness, discord_api):
    h = await make_harness(discord_guild_id=p.GUILD_ID)
    await make_harness(discord_guild_id=p.GUILD_ID)

    puts = discord_api.of("PUT", f"/applications/{p.APP_ID}/guilds/{p.GUILD_ID}/commands")
    assert len(puts) == 2 and {c["name"] for c in puts[0].json} == {"codex", "image", "config", "usage"}
    assert not discord_api.of("PUT", GLOBAL) and h.client.sync_result == "guild"
