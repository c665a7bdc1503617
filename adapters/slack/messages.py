"""Sentences the Slack adapter says to users (the core's live in `bot/messages.py`)."""

COMMAND_HEADER = "<@{user}> asked /{command}{options}: {prompt}"
STOP_BUTTON = "Stop"
STOP_HINT = "The reply to your request is streaming in this thread."
NOT_ALLOWED_CHANNEL = "I am not enabled in this channel. Ask the bot's operator to add it to SLACK_ALLOWED_CHANNELS."
NOT_ALLOWED_USER = "You are not on this bot's list of allowed users. Ask the bot's operator (SLACK_ALLOWED_USERS)."
EMPTY_PROMPT = "Write something after /{command}. Usage: {usage}"
EMPTY_MENTION = "Ask me something after the mention, for example: @{name} how do I reverse a list in Python?"
POST_FAILED = "I could not post in this conversation ({code})."

# What the user can do about a Slack API error, by error code.
ERROR_HINTS = {
    "not_in_channel": "I am not a member of this channel. Invite me with /invite @{name} and try again.",
    "channel_not_found": "I cannot see this conversation. Invite me with /invite @{name} and try again.",
    "is_archived": "This channel is archived, so I cannot post in it.",
    "missing_scope": "The Slack app is missing a permission. Ask the bot's operator to reinstall it from the manifest.",
    "restricted_action": "A workspace setting stops me from posting here.",
    "msg_too_long": "The message was too long for Slack.",
}
