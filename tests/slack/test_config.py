"""`/config` on Slack: admins only (SLACK_ADMIN_USERS or workspace admins), privately."""

from __future__ import annotations

from adapters.slack.config import NOT_ADMIN
from tests.fakes.kie import reply



async def test_only_admins_may_configure_and_the_setting_reaches_kie(make_bot, slack, kie):
    bot = await make_bot(slack_admin_users="U9")
    slack.admins.add("U2")

    refused = await bot.send.command("effort high", command="/config", user="U1")
    assert refused.status == 200 and refused.body == NOT_ADMIN
    listed = await bot.send.command("instructions Reply in haiku.", command="/config", user="U9")
    assert listed.body == "This channel's instructions are now: Reply in haiku."
    admin = await bot.send.command("effort high", command="/config", user="U2")
    assert admin.body == "This channel's effort is now: high"
    bad = await bot.send.command("effort extreme", command="/config", user="U2")
    assert bad.body.startswith("Unknown effort 'extreme'.")

    kie.codex_replies.append(reply("Leaves fall."))
    await bot.send.command("write a poem", user="U1")
    await bot.settle(5)
    body = kie.codex_bodies[0]
    assert (body["instructions"], body["reasoning"]) == ("Reply in haiku.", {"effort": "high"})
