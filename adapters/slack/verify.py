"""Check Slack's request signature before Bolt sees the request (HTTP mode).

Bolt's own check logs every rejected request with its whole body at INFO and answers a
non-numeric `X-Slack-Request-Timestamp` with a 500 and a traceback. Here a request
without a valid signature, or with a timestamp that is not a number or is more than five
minutes off, gets a 401, is counted, and is logged as one line without its body.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


class RequestCheck:
    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self.rejected = 0

    def accepts(self, headers: Mapping[str, str], body: bytes) -> bool:
        timestamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if timestamp.isdigit() and signature and self._verifier.is_valid(body, timestamp, signature):
            return True
        self.rejected += 1
        log.info("refused a Slack request without a valid signature (%d refused so far)", self.rejected)
        return False


class _Clock:
    """slack_sdk's verifier takes an object with `now()`."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock()
