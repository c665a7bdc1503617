"""DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS split the gateway between processes."""

from __future__ import annotations

import pytest

from adapters.discord.client import ShardedDiscordClient, make_client
from bot.config import SettingsError, load_settings


class _Core:
    def __init__(self, settings) -> None:
        self.settings = settings


def settings(**values):
    return load_settings(kie_api_key="k", discord_token="t", _env_file=None, **values)


async def test_without_shard_settings_one_process_runs_as_many_shards_as_discord_recommends():
    client = make_client(_Core(settings()))
    try:
        # AutoShardedClient with no count asks GET /gateway/bot how many shards to run:
        # one for a small bot, more once it is in thousands of servers.
        assert isinstance(client, ShardedDiscordClient)
        assert client.shard_count is None and client.shard_ids is None
    finally:
        await client.close()


async def test_shard_ids_pick_this_process_share_of_the_gateway():
    client = make_client(_Core(settings(discord_shard_count=4, discord_shard_ids="1,3")))
    assert isinstance(client, ShardedDiscordClient)  # not connected: nothing to close
    assert client.shard_count == 4 and client.shard_ids == [1, 3]


def test_shard_ids_must_fit_the_count():
    with pytest.raises(SettingsError, match="DISCORD_SHARD_IDS must be between 0 and DISCORD_SHARD_COUNT-1"):
        settings(discord_shard_count=2, discord_shard_ids="0,2")
    with pytest.raises(SettingsError, match="needs DISCORD_SHARD_COUNT"):
        settings(discord_shard_ids="0")


async def test_a_rest_only_process_delivers_without_a_gateway(make_harness):
    from bot.model import Destination

    h = await make_harness(login=False, discord_gateway=False)
    await h.adapter.start()  # no fake gateway exists: a connection attempt would fail the start
    assert h.adapter.connection.up()  # /readyz counts it as ready
    out = h.core.bot.outbound_for("discord")
    assert out is not None
    await out.post(Destination(platform="discord", channel_id="100", team_id="1"), "delivered over REST")
    posted = [c for c in h.api.calls if c.method == "POST" and c.path.endswith("/messages")]
    assert [c.json["content"] for c in posted] == ["delivered over REST"]


def test_discord_asking_for_shards_names_the_setting_to_use():
    import discord

    from adapters.discord import _explain

    said = _explain(discord.ConnectionClosed(type("Socket", (), {"close_code": 4011})(), shard_id=None, code=4011))
    assert "close code 4011" in said and "DISCORD_SHARD_COUNT" in said
