"""`python -m bot check` for Slack: `auth.test` with the bot token, the scopes it was
granted (Slack's `x-oauth-scopes` header) against the manifest's, and in Socket Mode the
app-level token."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.check import CheckResult
from bot.config import Settings

from .scopes import BOT_SCOPES


async def check(settings: Settings) -> CheckResult:
    assert settings.slack_bot_token is not None
    client = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return CheckResult("Slack", False, f"Slack rejected the bot token ({_error(exc)})", "SLACK_BOT_TOKEN")
    except OSError as exc:
        return CheckResult("Slack", False, f"could not reach Slack ({type(exc).__name__})", "SLACK_API_URL")
    granted = {s.strip() for s in (auth.headers.get("x-oauth-scopes") or "").split(",") if s.strip()}
    missing = sorted(BOT_SCOPES - granted)
    if missing:
        return CheckResult(
            "Slack", False,
            f"the app lacks the scopes {', '.join(missing)}: reinstall it from slack-app-manifest.yaml",
            "SLACK_BOT_TOKEN (the reinstalled app's token)",
        )
    if settings.slack_app_token is not None:
        try:
            await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
        except SlackApiError as exc:
            return CheckResult("Slack", False, f"Slack rejected the app-level token ({_error(exc)})", "SLACK_APP_TOKEN")
    mode = "Socket Mode" if settings.slack_app_token is not None else "HTTP mode"
    return CheckResult("Slack", True, f"{auth.get('user')} in {auth.get('team')} ({mode}); every scope granted")


def _error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    return data.get("error", "error") if isinstance(data, dict) else "error"
