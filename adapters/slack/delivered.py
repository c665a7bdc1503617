"""Has this image delivery already reached the Slack thread? (Exactly once across a crash.)

Slack has no idempotency key for uploads, and `files.completeUploadExternal` takes no
message metadata, so the delivery key is written into each file's name, and before
uploading again the adapter reads the thread (`conversations.replies`) for a file with
that name. What this cannot close: Slack shares uploaded files asynchronously, so if the
process dies after the upload completes and restarts before Slack has shared the file
into the thread (usually well under a second), the look finds nothing and posts again.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

MARK_CHARS = 12


def marked_name(key: str, filename: str) -> str:
    return f"{key[:MARK_CHARS]}-{filename}"


async def already_posted(client: AsyncWebClient, channel: str, thread_ts: str | None, key: str) -> bool:
    """True when the thread holds a file named for this delivery. Only threads are read
    (every /image reply lives in one); a failed look counts as "not posted"."""
    if thread_ts is None:
        return False
    prefix = f"{key[:MARK_CHARS]}-"
    cursor = None
    try:
        while True:
            page = await client.conversations_replies(channel=channel, ts=thread_ts, limit=200, cursor=cursor)
            for message in page.get("messages") or []:
                if any(str(f.get("name", "")).startswith(prefix) for f in message.get("files") or []):
                    return True
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return False
    except SlackApiError as exc:
        data = exc.response.data if exc.response is not None else None
        code = data.get("error") if isinstance(data, dict) else "unknown_error"
        log.warning("could not read thread %s to check for an earlier upload: %s", thread_ts, code)
        return False
