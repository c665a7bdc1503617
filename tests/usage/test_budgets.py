"""Budgets are checked before anything reaches KIE: a request over a limit makes no KIE
call and is refused with a sentence naming the limit, the spend and the reset time."""

from __future__ import annotations

import asyncio

import pytest

from bot import messages
from bot.model import Destination, User
from bot.usage.budget import BudgetRefused
from tests.fakes.kie import CodexScript, Gate, reply, text_delta
from tests.fakes.kie_images import ImageJob

from .conftest import ANN, BOB, RESETS, codex, image, run


def said(out) -> list[str]:
    return list(out.texts.values())


async def test_a_reply_is_refused_once_the_daily_budget_is_used_up_and_kie_is_not_called(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_credits=1)
    kie.codex_replies.extend([reply("one", credits=0.6), reply("two", credits=0.6)])
    await run(core, codex("first"))
    await run(core, codex("second"))  # 0.6 < 1: allowed, and it finishes although it crosses the limit
    await run(core, codex("third"))
    assert len(kie.codex_bodies) == 2
    assert said(out)[-1] == (
        f"⛔ Not sent: your daily credit limit is used up (1.2 of 1 credits spent today). {RESETS}"
    )


async def test_other_people_are_not_held_back_by_one_persons_limit(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_credits=0.5)
    kie.codex_replies.extend([reply("one", credits=0.6), reply("two", credits=0.6)])
    await run(core, codex(user=ANN))
    await run(core, codex(user=BOB))
    assert len(kie.codex_bodies) == 2


@pytest.mark.parametrize(
    ("limit", "phrase"),
    [
        ("limit_channel_daily_credits", "this channel's daily credit limit"),
        ("limit_server_daily_credits", "this server's daily credit limit"),
        ("limit_total_daily_credits", "the bot's daily credit limit"),
    ],
)
async def test_shared_limits_stop_everyone(budgeted, kie, limit, phrase):
    core, out = await budgeted.start(**{limit: 0.5})
    kie.codex_replies.append(reply("one", credits=0.6))
    await run(core, codex(user=ANN))
    await run(core, codex(user=BOB))
    assert len(kie.codex_bodies) == 1
    assert said(out)[-1] == f"⛔ Not sent: {phrase} is used up (0.6 of 0.5 credits spent today). {RESETS}"


async def test_a_reply_is_capped_by_what_the_budget_still_buys(budgeted, kie):
    core, _ = await budgeted.start(limit_user_daily_credits=1)
    kie.codex_replies.extend([reply("one", credits=0.49), reply("two")])
    await run(core, codex())
    await run(core, codex())
    assert "max_output_tokens" in kie.codex_bodies[0]
    # 0.51 credits left at 1.7 credits per million output tokens: 300 tokens.
    assert kie.codex_bodies[1]["max_output_tokens"] == 300


async def test_no_limit_means_no_cap(budgeted, kie):
    core, _ = await budgeted.start()
    await run(core, codex())
    assert "max_output_tokens" not in kie.codex_bodies[0]


async def test_an_image_that_does_not_fit_is_refused_before_any_kie_call(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_credits=10)
    await run(core, image("first"))  # reserves 8 (GPT Image 1.5, medium)
    uploads = len(kie.uploads)
    await run(core, image("second"))
    assert kie.images.create_requests == 1 and len(kie.uploads) == uploads
    assert said(out)[-1] == (
        "⛔ Not sent: this image costs 8 credits and your daily credit limit has 2 left "
        f"(8 of 10 credits spent today). {RESETS}"
    )


async def test_the_daily_image_limit(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_images=1)
    await run(core, image("first"))
    await run(core, image("second"))
    assert kie.images.create_requests == 1
    assert said(out)[-1] == f"⛔ Not sent: your daily image limit is used up (1 of 1 images today). {RESETS}"


async def test_a_failed_image_gives_its_place_back(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_images=1, limit_user_daily_credits=8)
    kie.images.jobs.append(ImageJob(outcome="fail", fail_msg="Internal server error"))
    await run(core, image("fails"))
    await run(core, image("works"))
    assert kie.images.create_requests == 2
    assert said(out)[-1] == messages.IMAGE_DONE


async def test_concurrent_requests_per_person(budgeted, kie):
    core, out = await budgeted.start(limit_user_concurrent=1)
    gate = Gate()
    kie.codex_replies.extend([CodexScript([text_delta("slow"), gate, *reply(" end").steps]), reply("later")])
    first = await core.bot.handle(codex("first"))
    await out.wait_for(lambda o: o.of_kind("post"))
    await run(core, codex("second"))
    await run(core, image("third"))
    assert said(out)[-2:] == [
        "⛔ Not sent: you already have 1 requests running, and the limit is 1 at once. "
        "Try again when one has finished."
    ] * 2
    assert len(kie.codex_bodies) == 1 and kie.images.create_requests == 0
    gate.open()
    await first
    await run(core, codex("fourth"))
    assert len(kie.codex_bodies) == 2


async def test_a_pending_image_counts_as_running_until_it_is_delivered(budgeted, kie):
    core, out = await budgeted.start(limit_user_concurrent=1)
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish))
    pending = await core.bot.handle(image("slow"))
    await kie.images.wait_for(lambda images: images.create_requests == 1)
    await run(core, codex())
    assert kie.codex_bodies == []
    finish.open()
    await pending
    await run(core, codex())
    assert len(kie.codex_bodies) == 1


async def test_admins_are_exempt(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_credits=0.1, bot_admin_users="boss")
    kie.codex_replies.extend([reply("one", credits=0.6), reply("two", credits=0.6)])
    boss = User(id="boss", name="Boss")
    await run(core, codex(user=boss))
    await run(core, codex(user=boss))
    await run(core, codex(user=User(id="mod", admin=True)))  # the platform says so (Manage Server)
    assert len(kie.codex_bodies) == 3


async def test_admins_are_held_to_the_limits_when_not_exempt(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_credits=0.1, bot_admin_users="boss", limit_admins_exempt=False)
    kie.codex_replies.append(reply("one", credits=0.6))
    boss = User(id="boss", name="Boss")
    await run(core, codex(user=boss))
    await run(core, codex(user=boss))
    assert len(kie.codex_bodies) == 1


async def test_two_requests_racing_for_the_last_of_a_budget_let_one_through(budgeted, kie):
    core, out = await budgeted.start(limit_user_daily_credits=8)
    first, second = await asyncio.gather(core.bot.handle(image("a")), core.bot.handle(image("b")))
    await asyncio.gather(first, second)
    assert kie.images.create_requests == 1
    refusals = [t for t in said(out) if t.startswith("⛔")]
    assert refusals == [f"⛔ Not sent: your daily credit limit is used up (8 of 8 credits spent today). {RESETS}"]


async def test_reservations_race_at_the_ledger(budgeted, kie):
    """Many reservations at once for room for exactly three: three pass, the rest are refused."""
    core, _ = await budgeted.start(limit_user_daily_credits=24, limit_user_concurrent=0)
    results = await asyncio.gather(
        *(core.budget.begin_image(image(str(i)), "gpt-image-1.5", "medium") for i in range(10)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    assert all(isinstance(r, BudgetRefused) for r in results if isinstance(r, BaseException))


async def test_an_empty_kie_account_refuses_new_work_without_calling_kie(budgeted, kie):
    kie.credits = 0
    core, out = await budgeted.start()
    await run(core, codex())
    await run(core, image())
    assert said(out) == [messages.ERR_NO_CREDITS] * 2
    assert kie.codex_bodies == [] and kie.images.create_requests == 0
    kie.credits = 50
    await core.budget.balance.refresh()
    await run(core, codex())
    assert len(kie.codex_bodies) == 1


async def test_a_low_balance_is_logged_once(budgeted, kie, caplog):
    kie.credits = 999
    core, _ = await budgeted.start()
    await core.budget.balance.refresh()
    await core.budget.balance.refresh()
    warnings = [r.getMessage() for r in caplog.records if "low on credits" in r.getMessage()]
    assert warnings == ["the KIE account is low on credits: 999 left (KIE_LOW_CREDITS is 1000)"]
    kie.credits = 5000
    await core.budget.balance.refresh()
    kie.credits = 10
    await core.budget.balance.refresh()
    assert len([r for r in caplog.records if "low on credits" in r.getMessage()]) == 2


async def test_refusals_name_the_workspace_on_slack(budgeted, kie):
    core, out = await budgeted.start(limit_server_daily_credits=0)
    slack_out = out.__class__(platform="slack")
    core.bot.register_outbound("slack", slack_out)
    where = Destination(platform="slack", channel_id="C1", team_id="T1")
    await run(core, codex(where=where))
    assert said(slack_out) == [
        f"⛔ Not sent: this workspace's daily credit limit is used up (0 of 0 credits spent today). {RESETS}"
    ]
