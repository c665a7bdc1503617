"""Slack's assistant surface (the split view opened from the app's icon), on Bolt's
`AsyncAssistant` middleware.

- A new assistant thread gets a greeting and suggested prompts
  (`assistant.threads.setSuggestedPrompts`).
- A message in it is a chat turn like a mention: the same streaming reply, "is thinking…"
  status and memory (the thread is the conversation). The first question becomes the
  thread's title (`assistant.threads.setTitle`).
- A context change (the user moved to another channel) needs nothing: the bot does not
  read channels it was not asked about, so Bolt's default (storing the context in message
  metadata) is replaced by a no-op.

The middleware also claims every threaded DM a person writes, so DM threads reach the
chat flow through here as well; that flow is the same one `message.im` used.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations import Conversations

from . import translate
from .inbound import SlackInbound
from .mrkdwn import to_plain

log = logging.getLogger(__name__)

GREETING = "Hi! Ask me about code, or pick a suggestion below. I remember what we said in this thread."
SUGGESTED_PROMPTS = [
    {"title": "Explain some code", "message": "Explain what this code does, step by step:"},
    {"title": "Write a function", "message": "Write a Python function that"},
    {"title": "Find the bug", "message": "Why does this code fail, and how do I fix it?"},
]
MAX_TITLE_CHARS = 80


def thread_title(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= MAX_TITLE_CHARS else line[: MAX_TITLE_CHARS - 1].rstrip() + "…"


def make_assistant(inbound: SlackInbound, client: AsyncWebClient, conversations: Conversations) -> AsyncAssistant:
    assistant = AsyncAssistant(logger=logging.getLogger("slack_bolt.assistant"))

    @assistant.thread_started
    async def greet(say, set_suggested_prompts, event: Mapping) -> None:
        await inbound.count()

        async def work() -> None:
            await say(GREETING)
            await set_suggested_prompts(prompts=SUGGESTED_PROMPTS)

        inbound.background(work(), name=f"slack:assistant:greet:{event['assistant_thread'].get('channel_id')}")

    @assistant.thread_context_changed
    async def context_changed(payload: Mapping) -> None:
        await inbound.count()
        log.debug("assistant thread context changed to channel %s", (payload.get("context") or {}).get("channel_id"))

    @assistant.user_message
    async def answer(body: Mapping, event: Mapping) -> None:
        await inbound.count()
        if not translate.is_user_dm(event):
            return

        async def work() -> None:
            team = translate.event_team(body, event)
            key = translate.conversation_key(team, str(event["channel"]), str(event["thread_ts"]))
            if not await conversations.exists(key):
                await _set_title(client, event)
            await inbound.run_chat(body, event)

        inbound.background(work(), name=f"slack:assistant:{event.get('channel')}")

    return assistant


async def _set_title(client: AsyncWebClient, event: Mapping) -> None:
    question = to_plain(str(event.get("text") or ""))
    if not question.strip():
        return
    try:
        await client.assistant_threads_setTitle(
            channel_id=str(event["channel"]), thread_ts=str(event["thread_ts"]), title=thread_title(question)
        )
    except SlackApiError as exc:  # a title is a courtesy; the answer matters
        log.info("assistant.threads.setTitle failed: %s", exc)
