"""The Stop button: its blocks, and what happens when someone presses it.

Only the requester may stop a reply (the core decides, in `Bot.stop`); whoever pressed
gets the answer privately. When the button was itself in an ephemeral message (beside a
native stream), the answer replaces it, so the stale button goes away.
"""

from __future__ import annotations

import logging

from bot.app import Bot

from . import messages
from .mrkdwn import escape

log = logging.getLogger(__name__)

STOP_ACTION = "stop_reply"


def stop_blocks(stop_id: str, *, hint: str | None = None) -> list[dict]:
    blocks: list[dict] = []
    if hint:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(hint)}})
    blocks.append(
        {
            "type": "actions",
            "block_id": f"stop:{stop_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": STOP_ACTION,
                    "text": {"type": "plain_text", "text": messages.STOP_BUTTON},
                    "style": "danger",
                    "value": stop_id,
                }
            ],
        }
    )
    return blocks


async def on_stop(bot: Bot, ack, body: dict, respond) -> None:
    """Bolt listener for the Stop button."""
    await ack()
    action = (body.get("actions") or [{}])[0]
    user_id = (body.get("user") or {}).get("id", "")
    answer = await bot.stop_anywhere(str(action.get("value", "")), user_id)
    in_ephemeral = bool((body.get("container") or {}).get("is_ephemeral"))
    try:
        await respond(text=escape(answer), response_type="ephemeral", replace_original=in_ephemeral)
    except Exception:  # the answer is a courtesy; the stop itself has happened
        log.warning("could not tell %s the result of pressing Stop", user_id, exc_info=True)
