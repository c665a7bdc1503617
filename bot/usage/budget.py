"""Budgets, enforced before anything is spent, and the settling of what was spent.

- A reply (`/codex`, a chat turn) costs what KIE reports afterwards, so it is refused only
  when a budget is already used up, and its output is capped (`max_output_tokens`) by what
  remains; the reply that crosses a limit finishes.
- An image has a known price: it is reserved at creation (refused if it does not fit) and
  settled to KIE's figure on delivery or failure.
- Every running reply and pending image is a `held` ledger row, which is also how
  `LIMIT_USER_CONCURRENT` is counted, across restarts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .. import messages, metrics
from ..config import Settings
from ..errors import OutOfCredits, UserFacingError
from ..model import Request
from . import prices
from .ledger import (
    IMAGE, REPLY, Entry, Ledger, Settlement, Snapshot, channel_scope, scopes_of, server_scope, user_scope, TOTAL,
)

log = logging.getLogger(__name__)

# OpenAI's smallest accepted `max_output_tokens`.
MIN_OUTPUT_TOKENS = 16
# Image task states (bot/images/records.py) as far as money goes.
_DELIVERED, _FAILED, _GAVE_UP, _UNKNOWN = "done", "failed", "gave_up", "unknown"
_FINISHED = (_DELIVERED, _FAILED, _GAVE_UP, _UNKNOWN)


class BudgetRefused(UserFacingError):
    """A limit would be passed: nothing was sent to KIE."""


@dataclass(frozen=True)
class Hold:
    """A running reply or a reserved image: settle it when it ends."""

    id: str
    model: str
    max_output_tokens: int | None = None  # the cap a reply is sent with, if any


@dataclass(frozen=True)
class ReportedCost:
    """What KIE said about a finished image task (from its status or callback)."""

    credits: float | None
    succeeded: bool


def utc_day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def reset_text(at: float) -> tuple[str, str]:
    """When the UTC day of `at` ends: ("2026-12-01 00:00", "3 h 5 min")."""
    now = datetime.fromtimestamp(at, UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = max(1, int((midnight - now).total_seconds() + 59) // 60)
    hours, minutes = divmod(minutes, 60)
    wait = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return midnight.strftime("%Y-%m-%d %H:%M"), wait


@dataclass(frozen=True)
class CreditLimit:
    scope: str
    allowed: int  # millicredits
    phrase: str  # "your daily credit limit"


class Budget:
    def __init__(
        self, ledger: Ledger, settings: Settings, *, balance=None, clock: Callable[[], float] = time.time
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.balance = balance  # a `Balance`, or None when the account balance is not watched
        self.clock = clock

    async def start(self) -> None:
        await self.ledger.start()

    # -- who ------------------------------------------------------------------------
    def is_admin(self, request: Request) -> bool:
        """The `/config` admins: whom the adapter marked (Discord's Manage Server, Slack's
        workspace admins where it asked), SLACK_ADMIN_USERS on Slack, and BOT_ADMIN_USERS."""
        user = request.user
        if user.admin or user.id in self.settings.bot_admin_users:
            return True
        return request.where.platform == "slack" and user.id in self.settings.slack_admin_users

    def exempt(self, request: Request) -> bool:
        return self.settings.limit_admins_exempt and self.is_admin(request)

    def credit_limits(self, request: Request) -> list[CreditLimit]:
        s, where = self.settings, request.where
        found: list[CreditLimit] = []
        if s.limit_user_daily_credits is not None:
            found.append(CreditLimit(user_scope(where.platform, request.user.id), _milli(s.limit_user_daily_credits),
                                     messages.LIMIT_USER_CREDITS))
        if s.limit_channel_daily_credits is not None:
            found.append(CreditLimit(channel_scope(where.platform, where.channel_id),
                                     _milli(s.limit_channel_daily_credits), messages.LIMIT_CHANNEL_CREDITS))
        if s.limit_server_daily_credits is not None and where.team_id:
            phrase = messages.LIMIT_WORKSPACE_CREDITS if where.platform == "slack" else messages.LIMIT_SERVER_CREDITS
            found.append(CreditLimit(server_scope(where.platform, where.team_id), _milli(s.limit_server_daily_credits),
                                     phrase))
        if s.limit_total_daily_credits is not None:
            found.append(CreditLimit(TOTAL, _milli(s.limit_total_daily_credits), messages.LIMIT_TOTAL_CREDITS))
        return found

    # -- before ---------------------------------------------------------------------
    def _entry(self, request: Request, kind: str, engine: str, millicredits: int) -> Entry:
        now = self.clock()
        where = request.where
        team = where.team_id or ""
        return Entry(
            kind=kind, platform=where.platform, team_id=team, channel_id=where.channel_id, user_id=request.user.id,
            command=request.command, engine=engine, millicredits=millicredits,
            scopes=scopes_of(where.platform, team, where.channel_id, request.user.id), at=now, day=utc_day(now),
        )

    def _refuse_if_broke(self) -> None:
        if self.balance is not None and self.balance.empty:
            raise OutOfCredits(messages.ERR_NO_CREDITS, status=402)

    async def begin_reply(self, request: Request, model: str) -> Hold:
        """Refuse (BudgetRefused) when a budget is used up; else mark the reply running."""
        self._refuse_if_broke()
        entry = self._entry(request, REPLY, model, 0)
        exempt = self.exempt(request)
        limits = [] if exempt else self.credit_limits(request)
        cap: list[int | None] = [None]

        def check(snapshot: Snapshot) -> str | None:
            refusal = None if exempt else self._concurrency(snapshot)
            if refusal:
                return refusal
            remaining: int | None = None
            for limit in limits:
                spent = snapshot.of(limit.scope).millicredits
                if spent >= limit.allowed:
                    return self._spent_text(limit, spent, entry.at)
                left = limit.allowed - spent
                remaining = left if remaining is None else min(remaining, left)
            if remaining is not None:
                tokens = prices.output_tokens_for(model, remaining)
                cap[0] = None if tokens is None else max(tokens, MIN_OUTPUT_TOKENS)
            return None

        entry_id, refusal = await self.ledger.reserve(entry, check)
        if entry_id is None:
            raise BudgetRefused(str(refusal))
        return Hold(entry_id, model, cap[0])

    async def begin_image(self, request: Request, engine: str, quality: str | None) -> Hold:
        """Reserve the image's price, or refuse (BudgetRefused) when it does not fit."""
        self._refuse_if_broke()
        price = prices.image_price(engine, quality)
        label = f"{engine} {quality}" if quality else engine
        entry = self._entry(request, IMAGE, label, price)
        exempt = self.exempt(request)
        limits = [] if exempt else self.credit_limits(request)
        image_limit = None if exempt else self.settings.limit_user_daily_images
        mine = user_scope(request.where.platform, request.user.id)

        def check(snapshot: Snapshot) -> str | None:
            refusal = None if exempt else self._concurrency(snapshot)
            if refusal:
                return refusal
            if image_limit is not None and snapshot.of(mine).images >= image_limit:
                reset, wait = reset_text(entry.at)
                return messages.LIMIT_IMAGES.format(
                    spent=snapshot.of(mine).images, allowed=image_limit, reset=reset, wait=wait
                )
            for limit in limits:
                spent = snapshot.of(limit.scope).millicredits
                if spent >= limit.allowed:
                    return self._spent_text(limit, spent, entry.at)
                if spent + price > limit.allowed:
                    reset, wait = reset_text(entry.at)
                    return messages.LIMIT_IMAGE_PRICE.format(
                        price=prices.credits_text(price), limit=limit.phrase,
                        left=prices.credits_text(limit.allowed - spent), spent=prices.credits_text(spent),
                        allowed=prices.credits_text(limit.allowed), reset=reset, wait=wait,
                    )
            return None

        entry_id, refusal = await self.ledger.reserve(entry, check)
        if entry_id is None:
            raise BudgetRefused(str(refusal))
        return Hold(entry_id, label)

    def _concurrency(self, snapshot: Snapshot) -> str | None:
        allowed = self.settings.limit_user_concurrent
        if allowed and snapshot.running >= allowed:
            return messages.LIMIT_CONCURRENT.format(running=snapshot.running, allowed=allowed)
        return None

    @staticmethod
    def _spent_text(limit: CreditLimit, spent: int, at: float) -> str:
        reset, wait = reset_text(at)
        return messages.LIMIT_SPENT.format(
            limit=limit.phrase, spent=prices.credits_text(spent), allowed=prices.credits_text(limit.allowed),
            reset=reset, wait=wait,
        )

    # -- after ----------------------------------------------------------------------
    async def end_reply(self, hold: Hold, settlement: Settlement) -> None:
        await self.ledger.settle(hold.id, settlement, now=self.clock())

    async def attach(self, hold: Hold, task_id: str) -> None:
        await self.ledger.attach(hold.id, task_id)

    async def release(self, hold: Hold, note: str) -> None:
        """Nothing was spent after all (e.g. a reference image was refused before creation)."""
        await self.ledger.settle(hold.id, Settlement(0, note=note, counts=False), now=self.clock())

    async def settle_task(self, task_id: str, state: str, reported: ReportedCost | None) -> None:
        """An image task ended (`state` as in bot/images/records.py): settle its reservation."""
        entry_id = await self.ledger.held_for_task(task_id)
        if entry_id is None:
            return
        held = next((row for row in await self.ledger.held() if row.id == entry_id), None)
        if held is None:
            return
        settlement = image_settlement(state, held.millicredits, reported)
        if await self.ledger.settle(entry_id, settlement, now=self.clock()) and settlement.millicredits:
            metrics.CREDITS.labels(service="image").inc(settlement.millicredits / 1000)

    async def reconcile(self, task_state: Callable[[str], Awaitable[str | None]]) -> None:
        """At start: settle what the last process left held and will not settle itself.

        A reply cannot outlive its process, so its row is settled (with no cost known). An
        image task that is still unfinished keeps its reservation until it ends; one that
        ended while the process died is settled now."""
        for row in await self.ledger.held():
            if row.kind == REPLY:
                settlement = Settlement(0, estimated=True, note="interrupted: the bot stopped during the reply")
            elif row.task_ref is None:
                settlement = Settlement(0, note="never created", counts=False)
            else:
                state = await task_state(row.task_ref)
                if state is not None and state not in _FINISHED:
                    continue  # resumed: the task settles it when it ends
                settlement = image_settlement(state or _FAILED, row.millicredits, None)
            await self.ledger.settle(row.id, settlement, now=self.clock())


def image_settlement(state: str, price: int, reported: ReportedCost | None) -> Settlement:
    """What a finished image costs: KIE's figure when it gave one, else the price table."""
    if reported is not None and reported.credits is not None:
        return Settlement(_milli(reported.credits), counts=state == _DELIVERED)
    if state == _DELIVERED:
        return Settlement(price, estimated=True)
    if state == _FAILED and not (reported is not None and reported.succeeded):
        return Settlement(0, note="failed", counts=False)
    # Made but not delivered, given up, or the create request's outcome unknown: KIE may
    # have charged for it, so the price is kept (marked as an estimate).
    return Settlement(price, estimated=True, note=state, counts=False)


def _milli(credits: float) -> int:
    return round(credits * prices.MILLI)


def reply_settlement(
    model: str,
    *,
    credits: float | None,
    tokens: tuple[int | None, int | None, int | None, int | None],
    input_chars: int,
    output_chars: int,
    reached_kie: bool,
    note: str | None,
) -> Settlement:
    """What a reply cost: KIE's `credits_consumed` when it reported one; else an estimate
    from its token counts, or (a reply cut short before KIE counted) from its length."""
    input_tokens, cached, output_tokens, reasoning = tokens
    if credits is not None:
        return Settlement(_milli(credits), False, input_tokens, cached, output_tokens, reasoning, note)
    if input_tokens is not None and output_tokens is not None:
        cost = prices.reply_cost(model, input_tokens=input_tokens, cached_tokens=cached or 0, output_tokens=output_tokens)
        return Settlement(cost or 0, True, input_tokens, cached, output_tokens, reasoning, note)
    if not reached_kie:
        return Settlement(0, False, note=note)
    input_tokens, output_tokens = prices.tokens_in(input_chars), prices.tokens_in(output_chars)
    cost = prices.reply_cost(model, input_tokens=input_tokens, cached_tokens=0, output_tokens=output_tokens)
    return Settlement(cost or 0, True, input_tokens, None, output_tokens, None, note)
