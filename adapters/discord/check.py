"""`python -m bot check` for Discord: the token logs in (REST only, no gateway)."""

from __future__ import annotations

import discord

from bot.check import CheckResult
from bot.config import Settings

from .invite import invite_url


async def check(settings: Settings) -> CheckResult:
    assert settings.discord_token is not None
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(settings.discord_token.get_secret_value())
        app_id = client.application_id
        user = client.user
    except discord.LoginFailure:
        return CheckResult("Discord", False, "Discord rejected the token", "DISCORD_TOKEN")
    except (discord.HTTPException, OSError) as exc:
        return CheckResult("Discord", False, f"could not reach Discord ({type(exc).__name__})")
    finally:
        await client.close()
    return CheckResult("Discord", True, f"logged in as {user} (application {app_id}); invite: {invite_url(app_id)}")
