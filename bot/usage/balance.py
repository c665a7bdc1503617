"""The KIE account's balance (`GET /api/v1/chat/credit`, which costs nothing), read at
start and every KIE_BALANCE_POLL_S.

Below KIE_LOW_CREDITS a warning is logged once (again only after a top-up brought it back
above); at 0 the budget refuses new work with the "out of credits" message before any
KIE call. A balance that cannot be read changes nothing: the bot never refuses work on
a guess.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import aiohttp

from ..config import Settings
from ..tasks import TaskRunner

log = logging.getLogger(__name__)

CREDIT_PATH = "/api/v1/chat/credit"
TIMEOUT_S = 20.0


class Balance:
    def __init__(self, http: aiohttp.ClientSession, settings: Settings, runner: TaskRunner) -> None:
        self._http = http
        self._url = f"{settings.kie_base_url}{CREDIT_PATH}"
        self._key = settings.kie_api_key
        self._low = settings.kie_low_credits
        self._every = settings.kie_balance_poll_s
        self._runner = runner
        self._loop: asyncio.Task | None = None
        self.remaining: float | None = None  # None until read once
        self._warned = False

    @property
    def empty(self) -> bool:
        return self.remaining is not None and self.remaining <= 0

    @property
    def low(self) -> bool:
        return self.remaining is not None and self.remaining < self._low

    async def refresh(self) -> float | None:
        """Read the balance once; keep the last known value if KIE does not say."""
        headers = {"Authorization": f"Bearer {self._key.get_secret_value()}"}
        try:
            async with self._http.get(
                self._url, headers=headers, timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)
            ) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("could not read the KIE balance (%s)", type(exc).__name__)
            return self.remaining
        data = body.get("data") if isinstance(body, dict) and body.get("code") == 200 else None
        if not isinstance(data, (int, float)) or isinstance(data, bool):
            code = body.get("code") if isinstance(body, dict) else None
            log.warning("KIE did not report a balance (code %s)", code)
            return self.remaining
        self._update(float(data))
        return self.remaining

    def _update(self, remaining: float) -> None:
        self.remaining = remaining
        if self.low and not self._warned:
            self._warned = True
            log.warning("the KIE account is low on credits: %g left (KIE_LOW_CREDITS is %g)", remaining, self._low)
        elif not self.low:
            self._warned = False

    async def start(self) -> None:
        await self.refresh()
        # A daemon: a drain at shutdown must not wait for this endless loop.
        self._loop = self._runner.spawn(self._poll(), name="kie-balance", daemon=True)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.refresh()
            except Exception:  # a surprise here must not end the bot (daemons do)
                log.exception("reading the KIE balance failed")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
