"""The bot scopes the adapter uses; `slack-app-manifest.yaml` asks for exactly these (a
test keeps the two equal) and `python -m bot check` compares them with the token's."""

BOT_SCOPES = frozenset({
    "app_mentions:read", "assistant:write", "chat:write", "commands", "files:read", "files:write", "im:history",
    "users:read",
})
