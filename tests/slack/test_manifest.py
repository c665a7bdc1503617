"""The app manifest asks for exactly what the adapter uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.slack import translate
from adapters.slack.scopes import BOT_SCOPES

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[2] / "slack-app-manifest.yaml"


def test_manifest_matches_what_the_adapter_handles():
    manifest = yaml.safe_load(MANIFEST.read_text())
    commands = sorted(c["command"] for c in manifest["features"]["slash_commands"])
    assert commands == sorted([*(f"/{name}" for name in translate.COMMANDS), "/config"]) == [
        "/codex", "/config", "/image", "/usage",
    ]
    assert sorted(manifest["settings"]["event_subscriptions"]["bot_events"]) == [
        "app_mention", "assistant_thread_context_changed", "assistant_thread_started", "message.im",
    ]
    assert manifest["features"]["assistant_view"]["assistant_description"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES == {
        "app_mentions:read", "assistant:write", "chat:write", "commands", "files:read", "files:write", "im:history",
        "users:read",
    }
    assert "user" not in manifest["oauth_config"]["scopes"]
