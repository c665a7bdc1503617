"""Conversation memory: what history a turn resends, and how old turns are forgotten."""

from __future__ import annotations

import json

import pytest

from bot.conversations import Conversations, Turn
from bot.store import Store


def user(text: str) -> Turn:
    return Turn("user", [{"type": "input_text", "text": text}])


def assistant(text: str) -> Turn:
    return Turn("assistant", [{"type": "output_text", "text": text}])


@pytest.fixture
async def store(any_store):
    return any_store


async def conversations(store: Store, budget: int = 60_000) -> Conversations:
    made = Conversations(store, budget_chars=budget)
    await made.start()
    return made


async def test_one_oversized_turn_is_shortened_instead_of_erasing_the_history(store):
    memory = await conversations(store)
    await memory.append("k", user("My name is Ada."), assistant("Hello Ada."))
    inlined_file = "line of a big log\n" * 7_000  # ~126 KB, twice the whole budget
    await memory.append("k", user("What is wrong here?\n" + inlined_file), assistant("Line 3 fails."))

    history = await memory.history("k")

    assert [t.content[0]["text"] for t in history[:2]] == ["My name is Ada.", "Hello Ada."]
    big = history[2]
    assert big.role == "user"
    assert big.content[0]["text"].startswith("What is wrong here?\nline of a big log\n")
    assert big.content[-1]["text"].startswith("[… shortened: ")
    assert big.content[-1]["text"].endswith(" more characters of this message were left out of the history]")
    assert big.size() <= 60_000 // 4
    assert history[3] == assistant("Line 3 fails.")
    assert sum(t.size() for t in history) <= 60_000


async def test_the_newest_turns_that_fit_are_kept(store):
    memory = await conversations(store, budget=1_000)
    for n in range(6):
        await memory.append("k", user(f"question {n} " + "q" * 150), assistant(f"answer {n} " + "a" * 150))

    history = await memory.history("k")

    texts = [t.content[0]["text"].split(" ")[:2] for t in history]
    assert texts[-2:] == [["question", "5"], ["answer", "5"]]
    assert history[0].role == "user"  # never opens on an answer whose question was trimmed
    assert ["question", "0"] not in texts
    assert sum(t.size() for t in history) <= 1_000


def test_shortening_counts_json_escapes():
    quotes = user('"' * 10_000)  # each quote takes two characters in JSON
    short = quotes.shortened(2_000)
    assert short.size() <= 2_000
    assert json.loads(json.dumps(short.content))[-1]["text"].startswith("[… shortened: ")
    assert user("small").shortened(2_000) == user("small")
