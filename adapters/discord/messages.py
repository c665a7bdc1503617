"""Every sentence the Discord adapter shows to users (the core's own live in `bot/messages.py`)."""

# -- slash command help (shown in Discord's command picker) -------------------------------
CODEX_DESCRIPTION = "Ask KIE's Codex models; the answer streams in as it is written."
CODEX_PROMPT = "What to ask"
CODEX_MODEL = "Which Codex model answers (default: the bot's setting)"
CODEX_EFFORT = "How hard the model thinks before answering"
CODEX_WEB_SEARCH = "Let the model search the web"

IMAGE_DESCRIPTION = "Generate an image from a prompt with KIE."
IMAGE_PROMPT = "What the image should show"
IMAGE_RATIO = "Aspect ratio"
IMAGE_QUALITY = "Quality (high takes longer)"
IMAGE_ENGINE = "Image engine"
IMAGE_REFERENCE = "An image to start from (optional)"

USAGE_DESCRIPTION = "Your KIE credits spent today and this month, and your limits (only you see it)."
USAGE_SCOPE = "all: the whole server's last 7 days and top users (admins)"

# -- chat ------------------------------------------------------------------------------
THINKING = "✨ Thinking…"
THREAD_NAME = "Chat with {bot}"
EMPTY_MENTION = "Ask me something after the mention, for example: {mention} how do I reverse a list in Python?"
CANNOT_READ = (
    "I can't read that message: Discord only shows me messages that mention me. "
    "Mention me in it, or ask the server's admin to enable the message content intent for this bot."
)

# -- allowlists ------------------------------------------------------------------------
REFUSED_GUILD = "This bot is not enabled in this server."
REFUSED_CHANNEL = "This bot is not enabled in this channel."
REFUSED_USER = "Sorry, you are not on this bot's list of allowed users."
REFUSED_DM = "This bot does not answer direct messages. Use it in a server channel where it is enabled."

# -- Discord errors the user can act on -----------------------------------------------
MISSING_PERMISSIONS = (
    "I couldn't {action}: I'm missing a permission in this channel. A server admin can fix this by giving me "
    "View Channel, Send Messages, Send Messages in Threads, Create Public Threads, Read Message History "
    "and Attach Files here."
)
GONE = "I couldn't {action}: the channel or message no longer exists."
RATE_LIMITED = "Discord is limiting how fast I can post here right now. Please try again in a minute."
DISCORD_TROUBLE = "Discord had trouble with my message (error {status}). Please try again in a moment."
TOO_LARGE = "I couldn't {action}: the file is larger than Discord allows here."
