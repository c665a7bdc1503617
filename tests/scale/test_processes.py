"""Several bot processes on one PostgreSQL: each image is delivered exactly once whichever
process gets its callback, a killed process's tasks are finished by another, Slack's
retries to other processes are answered once, and a conversation keeps its memory from
one process to the next. Real processes, real servers, the project's fakes."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from tests.fakes.kie import CodexScript, Gate, reply, text_delta
from tests.fakes.kie_images import ImageJob, png
from tests.slack.conftest import CHANNEL

from .conftest import FAST_POLLING, NO_POLLING


async def until(condition, timeout: float = 15.0, what: str = "") -> None:
    """Wait for a condition on state another process changes (checked every 20 ms)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def image_posts(slack) -> list:
    return [m for m in slack.bot_messages(CHANNEL) if m.files]


def generating(slack) -> int:
    return sum(1 for m in slack.bot_messages(CHANNEL) if m.shown.startswith("🎨 Generating"))


async def test_a_task_created_by_one_process_is_delivered_once_by_the_process_its_callback_reaches(cluster, kie, slack):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish, callback="none"))  # the test sends the callback itself
    a, b = await cluster.start(2, PUBLIC_BASE_URL="http://127.0.0.1:9", **NO_POLLING)
    await a.send.command("a lighthouse at dusk", command="/image")
    await slack.wait_for(lambda s: generating(s) == 1, timeout=15)  # A has read KIE's answer: running
    [task_id] = kie.images.tasks
    finish.open()

    await kie.images.wait_for(lambda k: k.tasks[task_id].state == "success")

    assert await kie.images.send_callback(task_id, base_url=b.url) == 200
    await slack.wait_for(lambda s: len(image_posts(s)) == 1, timeout=15)
    await slack.wait_for(lambda s: any(m.shown == "✅ Your image is ready." for m in s.bot_messages(CHANNEL)))

    [posted] = image_posts(slack)
    assert [f["data"] for f in posted.files] == [png()]
    assert kie.images.queries_for(task_id) == 1  # B confirmed with KIE once; A never polled
    # The same callback again, now at A: the task is delivered, so nothing happens.
    assert await kie.images.send_callback(task_id, base_url=a.url) == 404
    assert len(image_posts(slack)) == 1
    assert slack.count("files.completeUploadExternal") == 1


async def test_tasks_of_a_killed_process_are_delivered_once_by_the_survivor(cluster, kie, slack):
    gates = [Gate() for _ in range(3)]
    kie.images.jobs.extend(ImageJob(finish=gate, callback="none") for gate in gates)
    lease = 1.5
    a, b = await cluster.start(2, IMAGE_LEASE_S=str(lease), **FAST_POLLING)
    for n in range(3):
        await a.send.command(f"picture number {n}", command="/image", user=f"U{n}")  # one each: per-user limits
    await slack.wait_for(lambda s: generating(s) == 3, timeout=15)

    await a.process.kill()  # SIGKILL: no clean stop, the leases are simply not renewed any more
    killed = time.monotonic()
    for gate in gates:
        gate.open()

    await slack.wait_for(lambda s: len(image_posts(s)) == 3, timeout=15)
    took = time.monotonic() - killed
    # Adopted within a lease plus one adoption pass (a third of a lease), then the first check.
    assert took < lease + lease / 3 + 2.0, took
    posted = image_posts(slack)
    assert sorted(m.text for m in posted) == [f"picture number {n}" for n in range(3)]
    assert len({m.thread_ts for m in posted}) == 3  # each into its own command's thread
    assert slack.count("files.completeUploadExternal") == 3
    assert b.process.process.returncode is None


async def test_slack_retries_to_other_processes_get_one_reply(cluster, kie, slack):
    a, b = await cluster.start(2)
    kie.codex_replies.extend([reply("hello once"), reply("42, once")])

    envelope = a.send.envelope(a.send.mention("<@UBOT> hello"), event_id="Ev0ACROSS")
    assert (await a.send.event(envelope)).status == 200
    assert (await b.send.event(envelope, retry=1)).status == 200
    assert (await b.send.event(envelope, retry=2)).status == 200
    command = a.send.command_body("what is six times seven?", trigger_id="4242.4242.across")
    assert (await b.send.send(command, "application/x-www-form-urlencoded")).status == 200
    assert (await a.send.send(command, "application/x-www-form-urlencoded")).status == 200

    def dropped() -> int:
        return sum(node.process.stderr.count("dropping a repeated ") for node in (a, b))

    await until(lambda: dropped() == 3)

    def replies(s) -> list[str]:
        return sorted(m.shown.split("\n")[0] for m in s.bot_messages(CHANNEL) if m.thread_ts)

    await slack.wait_for(lambda s: replies(s) == ["42, once", "hello once"], timeout=15)  # both final
    assert len(kie.codex_bodies) == 2
    headers = [m for m in slack.bot_messages(CHANNEL) if m.thread_ts is None and "six times seven" in m.shown]
    assert len(headers) == 1


async def test_a_conversation_continued_on_another_process_keeps_its_memory(cluster, kie, slack, database_url):
    [a] = await cluster.start(1)
    [b] = await cluster.start(1)  # started once A is up: it sees A, and no REDIS_URL is set
    await b.process.wait_for("stderr", r"1 other bot process\(es\) share this database but REDIS_URL is not set")
    kie.codex_replies.extend([reply("Paris."), reply("About 2.1 million.")])
    first = a.send.mention("<@UBOT> what is the capital of France?")
    await a.send.event(a.send.envelope(first))

    db = await asyncpg.connect(database_url)
    try:
        turns = 0

        async def stored() -> int:
            return await db.fetchval("SELECT count(*) FROM conversation_turns")

        async with asyncio.timeout(15):
            while (turns := await stored()) < 2:
                await asyncio.sleep(0.02)
        assert turns == 2
    finally:
        await db.close()

    follow = b.send.mention("<@UBOT> and its population?", thread_ts=first["ts"])
    await b.send.event(b.send.envelope(follow, event_id="Ev0FOLLOW"))
    await slack.wait_for(lambda s: any("2.1 million" in m.shown for m in s.bot_messages(CHANNEL)), timeout=15)
    history = kie.codex_bodies[1]["input"]
    assert [item["role"] for item in history] == ["user", "assistant", "user"]
    assert history[0]["content"][0]["text"] == "what is the capital of France?"
    assert history[1]["content"] == "Paris."


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times)), default=0)


async def test_three_processes_share_one_kie_create_limit(cluster, kie, slack, redis_env):
    kie.images.create_limit = (2, 10.0)  # the fake refuses (429) a third create inside 10 s
    nodes = await cluster.start(3, IMAGE_CREATE_LIMIT="2", IMAGE_CREATE_WINDOW_S="10", **redis_env, **FAST_POLLING)
    for n, node in enumerate(nodes):
        await node.send.command(f"picture from process {n}", command="/image", user=f"U{n}")
    await slack.wait_for(lambda s: len(image_posts(s)) == 3, timeout=30)

    times = kie.images.create_times
    assert len(times) == 3  # no create was refused and sent again
    assert most_in_any_window(times, 10.0) == 2
    assert max(times) - min(times) >= 9.5  # the third waited for the shared window, not just its process's


async def test_a_stop_press_that_reaches_another_process_stops_the_reply(cluster, kie, slack, redis_env):
    held = Gate()
    kie.codex_replies.append(CodexScript([text_delta("Thinking out loud", 1), held]))
    a, b = await cluster.start(2, **redis_env)
    await a.send.command("think about it")
    await slack.wait_for(lambda s: any(m.buttons() for m in s.bot_messages()), timeout=15)
    [message] = [m for m in slack.bot_messages() if m.buttons()]
    stop_id = message.buttons()[0]["value"]

    await b.send.action(stop_id, user="U2", message_ts=message.ts)  # B does not run this reply
    await slack.wait_for(lambda s: len(s.responses) == 1)
    assert slack.responses[0]["text"] == "Only the person who asked can stop this reply."
    await b.send.action(stop_id, user="U1", message_ts=message.ts)
    await slack.wait_for(lambda s: len(s.responses) == 2)
    assert slack.responses[1]["text"] == "Stopping."
    await slack.wait_for(lambda s: message.shown == "Thinking out loud\n\n⏹️ Stopped by request.", timeout=10)
    assert not message.buttons()
    held.open()
