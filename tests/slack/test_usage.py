"""`/usage` on Slack: answered privately in the command's ack, user ids as mentions."""

from __future__ import annotations

from tests.fakes.kie import reply


async def test_usage_is_answered_in_the_ack(make_bot, kie, slack):
    bot = await make_bot(limit_user_daily_credits=10, bot_admin_users="U1")
    kie.codex_replies.append(reply("Hello.", credits=0.49))
    await bot.send.command("hi")
    await bot.settle(1)
    ack = await bot.send.command("", command="/usage", user="U2")
    assert ack.status == 200
    lines = ack.body.splitlines()
    assert lines[0] == "📊 Your usage" and lines[1].endswith(" UTC): 0 credits · 0 replies · 0 images")
    assert "• your daily credit limit: 10 credits, 10 left" in lines
    ack = await bot.send.command("all", command="/usage", user="U1")
    lines = ack.body.splitlines()
    assert lines[0] == "📊 Usage of this workspace, last 7 days (UTC)"
    assert "1. <@U1>: 0.49 credits · 1 reply · 0 images" in lines
    assert not [m for m in slack.bot_messages() if "Usage" in m.text]  # nothing was posted in the channel


async def test_usage_all_is_for_the_config_admins(make_bot, kie, slack):
    bot = await make_bot(slack_admin_users="U9", limit_user_daily_credits=0)
    slack.admins.add("U2")  # a workspace admin, as users.info says
    for user in ("U2", "U9"):
        ack = await bot.send.command("all", command="/usage", user=user)
        assert ack.body.splitlines()[0] == "📊 Usage of this workspace, last 7 days (UTC)"
    ack = await bot.send.command("all", command="/usage", user="U3")
    assert ack.body.startswith("Only the bot's admins can see everyone's usage.")
    # SLACK_ADMIN_USERS are exempt from the limits; everyone else is held to them.
    kie.codex_replies.append(reply("Hello.", credits=0.49))
    await bot.send.command("hi", user="U9")
    await bot.send.command("hi", user="U3")
    await bot.settle(5)
    assert len(kie.codex_bodies) == 1
