"""The ledger records what KIE reported (or an estimate, marked as such); `/usage` shows
exact sums; everything survives a restart."""

from __future__ import annotations

import json

from bot import messages, metrics
from bot.model import Destination, User
from tests.fakes.kie import DONE, CodexScript, Gate, envelope, frame, reply, text_delta
from tests.fakes.kie_images import ImageJob
from tests.images.conftest import SLOW_POLL

from .conftest import ANN, BOB, codex, image, run, usage

NO_LIMITS = "No limits are set."


def completed_with_details(credits: float) -> bytes:
    """KIE's documented `response.completed`, token details included."""
    return frame(
        {
            "credits_consumed": credits,
            "response": {"usage": {
                "input_tokens": 4427, "input_tokens_details": {"cached_tokens": 3584},
                "output_tokens": 137, "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 4564,
            }},
            "type": "response.completed",
        },
        event="response.completed",
    )


async def test_a_reply_records_kies_credits_and_tokens(budgeted, kie):
    core, _ = await budgeted.start()
    kie.codex_replies.append(CodexScript([text_delta("Hello"), completed_with_details(0.49), DONE]))
    await run(core, codex())
    [row] = await core.budget.ledger.rows()
    assert (row.state, row.kind, row.user_id, row.command, row.engine) == ("settled", "reply", "ann", "codex", "gpt-5.1-codex")
    assert (row.millicredits, row.estimated, row.tokens) == (490, False, (4427, 3584, 137, 64))


async def test_a_reply_without_credits_is_estimated_from_its_tokens(budgeted, kie):
    core, _ = await budgeted.start()
    kie.codex_replies.append(reply("Hello", credits=None))
    await run(core, codex())
    [row] = await core.budget.ledger.rows()
    # 4,427 input and 137 output tokens at the price table's rates.
    assert (row.millicredits, row.estimated, row.tokens[:3]) == (1174, True, (4427, None, 137))


async def test_a_stopped_reply_is_estimated_from_its_length(budgeted, kie):
    core, out = await budgeted.start()
    kie.codex_replies.append(CodexScript([text_delta("Partial"), Gate(), DONE]))
    task = await core.bot.handle(codex("stop me"))
    await out.wait_for(lambda o: o.of_kind("post"))
    assert core.bot.stop(out.of_kind("post")[0].controls.stop_id, ANN.id) == "Stopping."
    await task
    [row] = await core.budget.ledger.rows()
    # 74 characters of input (19 tokens) and 7 of output (2 tokens).
    assert (row.millicredits, row.estimated, row.note, row.tokens) == (7, True, "stopped", (19, None, 2, None))
    # The text of the request really is that long: the estimate is not a constant.
    assert len(json.dumps(kie.codex_bodies[0]["input"], ensure_ascii=False)) == 74


async def test_a_reply_refused_by_kie_costs_nothing(budgeted, kie):
    core, _ = await budgeted.start()
    kie.codex_replies.append(envelope(422, "bad input"))
    await run(core, codex())
    [row] = await core.budget.ledger.rows()
    assert (row.millicredits, row.estimated) == (0, False)


async def test_usage_shows_exact_sums_after_replies_images_a_stopped_reply_and_a_failed_image(budgeted, kie):
    # Images are delivered by their callbacks; no limits, not even on requests at once.
    core, out = await budgeted.start(web=True, limit_user_concurrent=0, **SLOW_POLL)
    kie.codex_replies.append(reply("Hello", credits=0.49))
    await run(core, codex())
    image_credits = metrics.REGISTRY.get_sample_value("bot_credits_spent_total", {"service": "image"}) or 0.0
    kie.images.jobs.append(ImageJob(credits=7.5))
    await run(core, image("made"))
    assert metrics.REGISTRY.get_sample_value("bot_credits_spent_total", {"service": "image"}) == image_credits + 7.5
    kie.codex_replies.append(CodexScript([text_delta("Partial"), Gate(), DONE]))
    task = await core.bot.handle(codex("stop me"))
    await out.wait_for(lambda o: any("Partial" in c.text and c.controls for c in o.calls))
    stop_id = next(c.controls.stop_id for c in out.calls if "Partial" in c.text and c.controls)
    assert core.bot.stop(stop_id, ANN.id) == messages.STOP_DONE
    await task
    kie.images.jobs.append(ImageJob(outcome="fail", fail_msg="Internal server error"))
    await run(core, image("fails"))
    kie.codex_replies.append(reply("Hi Bob", credits=1.25))
    await run(core, codex(user=BOB))

    assert await core.usage.answer(usage()) == "\n".join([
        "📊 Your usage",
        "Today (2026-11-30 UTC): 7.997 credits · 2 replies · 1 image",
        "This month (since 2026-11-01): 7.997 credits · 2 replies · 1 image",
        NO_LIMITS,
    ])
    rows = await core.budget.ledger.rows(kind="image")
    assert sorted((r.millicredits, r.estimated, r.state) for r in rows) == [(0, False, "settled"), (7500, False, "settled")]


async def test_usage_lists_the_limits_and_what_remains(budgeted, kie):
    core, _ = await budgeted.start(
        limit_user_daily_credits=10, limit_user_daily_images=3, limit_channel_daily_credits=100,
        limit_server_daily_credits=500, limit_total_daily_credits=1000, limit_user_concurrent=2,
    )
    kie.codex_replies.append(reply("Hello", credits=0.49))
    await run(core, codex())
    await run(core, image())  # priced at 8 (no callback here: polling, so KIE gave no figure)
    assert await core.usage.answer(usage()) == "\n".join([
        "📊 Your usage",
        "Today (2026-11-30 UTC): 8.49 credits · 1 reply · 1 image",
        "This month (since 2026-11-01): 8.49 credits · 1 reply · 1 image",
        "Limits:",
        "• your daily credit limit: 10 credits, 1.51 left",
        "• this channel's daily credit limit: 100 credits, 91.51 left",
        "• this server's daily credit limit: 500 credits, 491.51 left",
        "• the bot's daily credit limit: 1,000 credits, 991.51 left",
        "• your daily image limit: 3 images, 2 left",
        "• requests running at once: at most 2",
        "Daily limits reset at 2026-12-01 00:00 UTC (in 2 h 5 min).",
    ])


async def test_usage_all_for_an_admin_shows_the_server_by_day_and_its_top_users(budgeted, kie):
    core, _ = await budgeted.start(bot_admin_users="boss")
    core.budget.balance.remaining = 600.0  # as last read from KIE
    kie.codex_replies.extend([reply("a", credits=0.49), reply("b", credits=2), reply("c", credits=0.25)])
    await run(core, codex(user=ANN))
    await run(core, codex(user=BOB))
    other_server = Destination(platform="fake", channel_id="c9", team_id="t2")
    await run(core, codex(user=BOB, where=other_server))
    boss = User(id="boss")
    assert await core.usage.answer(usage(boss, "all"), mention=lambda u: f"<@{u}>") == "\n".join([
        "📊 Usage of this server, last 7 days (UTC)",
        "2026-11-30: 2.49 credits · 2 replies · 0 images",
        *(f"2026-11-{day}: 0 credits · 0 replies · 0 images" for day in range(29, 23, -1)),
        "Top users this month (since 2026-11-01):",
        "1. <@bob>: 2 credits · 1 reply · 0 images",
        "2. <@ann>: 0.49 credits · 1 reply · 0 images",
        "KIE balance: 600 credits ⚠️ below KIE_LOW_CREDITS (1,000): top it up soon.",
    ])


async def test_usage_all_is_only_for_admins(budgeted, kie):
    core, _ = await budgeted.start()
    text = await core.usage.answer(usage(ANN, "all"))
    assert text.startswith("Only the bot's admins can see everyone's usage. Here is yours:\n📊 Your usage\n")


async def test_a_restart_keeps_the_ledger(budgeted, kie):
    core, _ = await budgeted.start(limit_user_daily_credits=1)
    kie.codex_replies.extend([reply("one", credits=0.6), reply("two", credits=0.6)])
    await run(core, codex())
    await run(core, codex())
    await budgeted.close(core)

    core, out = await budgeted.start(limit_user_daily_credits=1)
    await run(core, codex())
    assert len(kie.codex_bodies) == 2  # the spend before the restart still counts
    assert (await core.usage.answer(usage())).splitlines()[1] == "Today (2026-11-30 UTC): 1.2 credits · 2 replies · 0 images"


async def test_a_reservation_for_a_resumed_image_stays_held_until_the_task_ends(budgeted, kie):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none", credits=6.5))
    limits = dict(web=True, limit_user_daily_credits=10, limit_user_concurrent=1, **SLOW_POLL)
    core, out = await budgeted.start(**limits)
    await core.bot.handle(image("slow"))
    await out.wait_for(lambda o: any(c.text.startswith("🎨 Generating") for c in o.calls))
    await budgeted.close(core)  # the process stops while KIE is still generating

    core, _ = await budgeted.start(**limits)
    [row] = await core.budget.ledger.rows()
    assert (row.state, row.millicredits) == ("held", 8000)
    await run(core, codex())  # the resumed image is still running, and one at a time is the limit
    assert kie.codex_bodies == []
    [kie_id] = kie.images.tasks
    finish.open()
    await kie.images.wait_for(lambda f: f.tasks[kie_id].state == "success")
    assert await kie.images.send_callback(kie_id, base_url=core.images.public_base_url) == 200
    await core.drain()
    [row] = await core.budget.ledger.rows()
    assert (row.state, row.millicredits, row.estimated) == ("settled", 6500, False)
    await run(core, codex())
    assert len(kie.codex_bodies) == 1


async def test_a_reply_running_when_the_process_died_is_closed_at_the_next_start(budgeted, kie):
    core, out = await budgeted.start(limit_user_concurrent=1)
    kie.codex_replies.append(CodexScript([text_delta("Partial"), Gate()]))
    task = await core.bot.handle(codex())
    await out.wait_for(lambda o: o.of_kind("post"))
    # The process dies: nothing settles the reply (its task is simply never finished).
    core.budget.ledger.settle = _never  # type: ignore[method-assign]
    task.cancel()
    await budgeted.close(core)

    core, _ = await budgeted.start(limit_user_concurrent=1)
    [row] = await core.budget.ledger.rows()
    assert (row.state, row.millicredits, row.estimated) == ("settled", 0, True)
    await run(core, codex())
    assert len(kie.codex_bodies) == 2


async def _never(*_args, **_kw) -> bool:
    return False

