"""The console end to end: `python -m bot console` as a subprocess against the fake KIE."""

from __future__ import annotations

import asyncio

from tests.console_process import bot_env, start_bot
from tests.fakes.kie import API_KEY, CodexScript, Cut, envelope, reply, text_delta

FOOTER = "_gpt-5.1-codex · 4,564 tokens · 0.49 credits_"


async def console(kie, tmp_path, stdin: str, *args: str) -> tuple[int, str, str]:
    env = bot_env(kie, tmp_path, BOT_IMAGE_DIR=str(tmp_path / "images"), CODEX_MAX_RETRIES="0")
    process = await start_bot(env, tmp_path, *args)
    async with asyncio.timeout(60):
        out, err = await process.communicate(stdin.encode())
    return process.returncode, out.decode(), err.decode()


async def test_console_session(kie, tmp_path):
    kie.codex_replies.extend([
        reply("Hi", " there"),
        reply("Paris."),
        CodexScript([text_delta("Half an ans"), Cut()]),
        envelope(402, "Insufficient credits"),
    ])
    lines = [
        "/codex --effort high Say hi",
        "/codex --effort extreme Say hi",
        "What is the capital of France?",
        "/nope",
        "/codex tell me more",
        "/codex one more",
    ]
    code, out, err = await console(kie, tmp_path, "\n".join(lines) + "\n", "console")
    assert code == 0, err
    assert out.split("\n") == [
        "Hi there",
        "",
        FOOTER,
        "Unknown effort 'extreme'. Choose one of: minimal, low, medium, high, xhigh.",
        "Paris.",
        "",
        FOOTER,
        "Unknown command /nope. Commands: /codex [--model MODEL] [--effort EFFORT] [--web-search] PROMPT; "
        "/image [--ratio RATIO] [--quality QUALITY] [--engine ENGINE] [--ref REF]... PROMPT; "
        "/config [instructions TEXT | model M | effort E | reset]; /reset (a new conversation); /usage [all]; /help. "
        "Any other line is a chat message.",
        "Half an ans",
        "",
        "⚠️ The reply was interrupted: the connection to KIE closed before the reply finished",
        "The bot's KIE account is out of credits. Ask the bot's operator to top it up.",
        "",
    ]
    assert "Traceback" not in err
    assert API_KEY not in out + err
    assert kie.codex_bodies[0]["reasoning"] == {"effort": "high"}


async def test_console_remembers_the_chat_after_a_restart(kie, tmp_path):
    kie.codex_replies.extend([reply("Hello Ada."), reply("Your name is Ada.")])
    await console(kie, tmp_path, "I am Ada\n", "console")
    code, out, _ = await console(kie, tmp_path, "Who am I?\n")  # no mode: console by default
    assert code == 0
    assert out.startswith("Your name is Ada.")
    assert [m["role"] for m in kie.codex_bodies[1]["input"]] == ["user", "assistant", "user"]


async def test_console_usage_shows_todays_spend(kie, tmp_path):
    kie.codex_replies.append(reply("Hello"))
    code, out, err = await console(kie, tmp_path, "/codex hi\n/usage\n/usage all\n", "console")
    assert code == 0, err
    lines = out.split("\n")
    mine = lines.index("📊 Your usage")
    assert lines[mine + 1].endswith(" UTC): 0.49 credits · 1 reply · 0 images")
    # Whoever runs the console is its admin: `all` shows the whole bot.
    assert "📊 Usage of the whole bot, last 7 days (UTC)" in lines
    assert "1. console-user: 0.49 credits · 1 reply · 0 images" in lines
async def test_reset_starts_a_new_conversation(kie, core):
    import io

    from adapters.console import RESET_DONE, ConsoleAdapter

    kie.codex_replies.extend([reply("Hello Ada."), reply("I don't know your name.")])
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO("I am Ada\n/reset\nWho am I?\n"), stdout=out)
    await console.start()
    await console.run()
    assert RESET_DONE in out.getvalue().splitlines()
    assert [m["role"] for m in kie.codex_bodies[1]["input"]] == ["user"]  # the history is gone


async def test_config_in_the_console_sets_the_instructions_of_its_channel(kie, core):
    import io

    from adapters.console import ConsoleAdapter

    kie.codex_replies.append(reply("Brief."))
    out = io.StringIO()
    lines = "/config instructions Be brief.\n/config effort extreme\n/codex hi\n/config reset\n"
    console = ConsoleAdapter(core, stdin=io.StringIO(lines), stdout=out)
    await console.start()
    await console.run()
    printed = out.getvalue().splitlines()
    assert printed[0] == "This channel's instructions are now: Be brief."
    assert printed[1].startswith("Unknown effort 'extreme'.")
    assert printed[-1] == "This channel's settings are reset to the bot's defaults."
    assert kie.codex_bodies[0]["instructions"] == "Be brief."
