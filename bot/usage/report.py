"""`/usage`: what a person spent today and this month, their limits and what remains; and
for an admin, `/usage all`: the server's (or workspace's) last 7 days and top users.

Adapters call `UsageReport.answer` and show the text privately (Discord ephemeral, Slack's
command ack); the console prints it. Reads only counters and, for top users, one grouped
query over this month's ledger rows of one server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from .. import messages
from ..app import reply_once
from ..model import Request
from ..ports import Outbound
from .budget import Budget, reset_text, utc_day
from .ledger import TOTAL, Totals, channel_scope, server_scope, user_scope
from .prices import credits_text

Mention = Callable[[str], str]
DAYS_SHOWN = 7
TOP_USERS = 5


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def totals_text(totals: Totals) -> str:
    return " · ".join((
        f"{credits_text(totals.millicredits)} credits",
        _plural(totals.replies, "reply", "replies"),
        _plural(totals.images, "image", "images"),
    ))


def wants_all(request: Request) -> bool:
    words = {str(request.prompt).strip().lower(), str(request.options.get("scope") or "").strip().lower()}
    return "all" in words or request.options.get("all") is True


class UsageReport:
    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    async def run(self, request: Request, out: Outbound) -> None:
        """The console's `/usage` (the platforms answer privately through `answer`)."""
        await reply_once(out, request.where, request.placeholder, await self.answer(request))

    async def answer(self, request: Request, mention: Mention = str) -> str:
        if wants_all(request):
            if self._budget.is_admin(request):
                return await self.overview(request, mention)
            return messages.USAGE_ALL_NOT_ADMIN + "\n" + await self.personal(request)
        return await self.personal(request)

    async def personal(self, request: Request) -> str:
        budget, settings, where = self._budget, self._budget.settings, request.where
        now = budget.clock()
        today = utc_day(now)
        month_start = today[:8] + "01"
        ledger = budget.ledger
        mine = user_scope(where.platform, request.user.id)
        spent_today = await ledger.totals(mine, today, today)
        spent_month = await ledger.totals(mine, month_start, today)
        lines = [
            "📊 Your usage",
            f"Today ({today} UTC): {totals_text(spent_today)}",
            f"This month (since {month_start}): {totals_text(spent_month)}",
        ]
        limits: list[str] = []
        for limit in budget.credit_limits(request):
            used = await ledger.totals(limit.scope, today, today)
            left = max(limit.allowed - used.millicredits, 0)
            limits.append(f"• {limit.phrase}: {credits_text(limit.allowed)} credits, {credits_text(left)} left")
        if settings.limit_user_daily_images is not None:
            left_images = max(settings.limit_user_daily_images - spent_today.images, 0)
            limits.append(f"• your daily image limit: {settings.limit_user_daily_images:,} images, {left_images:,} left")
        if settings.limit_user_concurrent:
            limits.append(f"• requests running at once: at most {settings.limit_user_concurrent}")
        if limits:
            lines.append("Limits:")
            lines.extend(limits)
            reset, wait = reset_text(now)
            lines.append(f"Daily limits reset at {reset} UTC (in {wait}).")
            if budget.exempt(request):
                lines.append("As an admin you are exempt from these limits.")
        else:
            lines.append("No limits are set.")
        return "\n".join(lines)

    async def overview(self, request: Request, mention: Mention = str) -> str:
        budget, where = self._budget, request.where
        now = budget.clock()
        today = utc_day(now)
        first = utc_day((datetime.fromtimestamp(now, UTC) - timedelta(days=DAYS_SHOWN - 1)).timestamp())
        if where.team_id:
            scope, platform, team = server_scope(where.platform, where.team_id), where.platform, where.team_id
            title = "this workspace" if where.platform == "slack" else "this server"
        else:  # a DM or the console: there is no server, so the whole bot
            scope, platform, team, title = TOTAL, None, None, "the whole bot"
        days = await budget.ledger.by_day(scope, first, today)
        lines = [f"📊 Usage of {title}, last {DAYS_SHOWN} days (UTC)"]
        for back in range(DAYS_SHOWN):
            day = utc_day((datetime.fromtimestamp(now, UTC) - timedelta(days=back)).timestamp())
            lines.append(f"{day}: {totals_text(days.get(day, Totals()))}")
        month_start = today[:8] + "01"
        top = await budget.ledger.top_users(platform, team, month_start, today, TOP_USERS)
        lines.append(f"Top users this month (since {month_start}):" if top else "No usage this month yet.")
        for rank, (_, user_id, totals) in enumerate(top, start=1):
            lines.append(f"{rank}. {mention(user_id)}: {totals_text(totals)}")
        balance = budget.balance
        if balance is not None and balance.remaining is not None:
            line = f"KIE balance: {balance.remaining:,g} credits"
            if balance.empty:
                line += " ⛔ empty: new requests are refused until it is topped up."
            elif balance.low:
                line += f" ⚠️ below KIE_LOW_CREDITS ({budget.settings.kie_low_credits:,g}): top it up soon."
            lines.append(line)
        return "\n".join(lines)


__all__ = ["UsageReport", "totals_text", "wants_all", "channel_scope"]
