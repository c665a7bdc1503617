"""Every sentence the bot says to users, in one place."""

INTERNAL_ERROR = "Something went wrong on my side while handling this. It has been logged; please try again."
NOT_AVAILABLE = "/{command} is not available on this bot."

STOP_NOTHING_RUNNING = "That reply has already finished."
STOP_NOT_YOURS = "Only the person who asked can stop this reply."
STOP_DONE = "Stopping."

REPLY_STOPPED = "⏹️ Stopped by request."
REPLY_INTERRUPTED = "⚠️ The reply was interrupted: {reason}"
REPLY_RESTARTING = "🔄 The reply was cut short because the bot is restarting. Ask again in a minute to continue."
EMPTY_REPLY = "The model finished without writing anything."
CODEX_QUEUED = "⏳ Many questions are being answered right now; yours is next in line."
STATUS_QUEUED = "is waiting in line…"

ERR_UNAUTHORIZED = "KIE rejected the bot's API key. Ask the bot's operator to check KIE_API_KEY."
ERR_NO_CREDITS = "The bot's KIE account is out of credits. Ask the bot's operator to top it up."
ERR_BUSY = "KIE is busy right now (rate limited). Please try again in a minute."
ERR_BUSY_UNTIL = "KIE is busy right now (rate limited). Please try again in {wait}."
ERR_UNAVAILABLE_UNTIL = "KIE is unavailable right now (error {status}). Please try again in {wait}."
ERR_MAINTENANCE = "KIE is under maintenance right now. Please try again later."
ERR_UPSTREAM = "KIE had trouble answering (error {status}). Please try again in a moment."
ERR_REJECTED = "KIE could not process this request: {detail}"
ERR_TIMEOUT = "KIE did not answer in time ({what}). Please try again."
ERR_CONNECT = "Could not reach KIE. Please try again in a moment."
ERR_BAD_STREAM = "KIE sent a reply the bot could not read."
ERR_CLOSED_EARLY = "the connection to KIE closed before the reply finished"
ERR_FAILED = "the model reported an error: {detail}"
ERR_EVENT_TOO_LARGE = "KIE sent a piece of the reply larger than the bot accepts ({limit:,} characters)"
ERR_NO_TEXT_IN_TIME = "KIE did not start writing within {duration}. Please try again."
REPLY_CUT_LENGTH = "✂️ The reply was cut here: it reached the bot's limit of {limit:,} characters."
REPLY_CUT_TIME = "⏱️ The reply was cut here: it took longer than the bot's limit of {duration}."

# /image
IMAGE_STARTING = "🎨 Preparing your image: “{prompt}”"
IMAGE_QUEUED = (
    "⏳ Waiting in line: your image is number {position} in the queue "
    "(KIE accepts {limit} new images every {window:g} seconds). “{prompt}”"
)
IMAGE_GENERATING = "🎨 Generating your image: “{prompt}”"
IMAGE_GENERATING_PERCENT = "🎨 Generating your image ({percent}%): “{prompt}”"
IMAGE_DONE = "✅ Your image is ready."
IMAGE_DONE_MANY = "✅ Your {count} images are ready."
IMAGE_FAILED = "❌ The image could not be generated: {detail}"
IMAGE_CONTENT_POLICY = "❌ KIE refused this prompt under its content policy. Try rewording it."
IMAGE_GAVE_UP = (
    "❌ KIE has not finished this image after {minutes:g} minutes, so the bot stopped waiting for it. "
    "Please try again later."
)
IMAGE_OUTCOME_UNKNOWN = (
    "⚠️ The bot lost contact with KIE while submitting this image, so it cannot tell whether KIE accepted it "
    "(it may have been charged). It was not submitted again; run /image again if no image appears."
)
IMAGE_DOWNLOAD_FAILED = "❌ The image was generated, but the bot could not download it from KIE: {reason}"
IMAGE_POST_FAILED = "❌ The image was generated, but it could not be posted here: {reason}"
IMAGE_TOO_LARGE = "it is larger than {limit}"
IMAGE_NOT_AN_IMAGE = "KIE's file is not an image"
IMAGE_UNREACHABLE = "KIE's file server did not answer"
IMAGE_REFUSED_URL = "KIE pointed at an address the bot does not fetch from (a private or local network)"
IMAGE_EXPIRED = "KIE no longer has the file (its link expired)"
IMAGE_TOO_MANY = "KIE returned {count} results; the bot posts at most {limit}"
IMAGE_KIE_SAID = "{text}\nKIE said: {detail}"
IMAGE_POST_RETRY = "⚠️ The image is ready, but it could not be posted here: {reason}. The bot will try again."
IMAGE_NO_RESULT = "KIE reported success but returned no image"

# Budgets (LIMIT_* settings) and /usage
LIMIT_USER_CREDITS = "your daily credit limit"
LIMIT_CHANNEL_CREDITS = "this channel's daily credit limit"
LIMIT_SERVER_CREDITS = "this server's daily credit limit"
LIMIT_WORKSPACE_CREDITS = "this workspace's daily credit limit"
LIMIT_TOTAL_CREDITS = "the bot's daily credit limit"
LIMIT_SPENT = (
    "⛔ Not sent: {limit} is used up ({spent} of {allowed} credits spent today). "
    "It resets at {reset} UTC (in {wait})."
)
LIMIT_IMAGE_PRICE = (
    "⛔ Not sent: this image costs {price} credits and {limit} has {left} left "
    "({spent} of {allowed} credits spent today). It resets at {reset} UTC (in {wait})."
)
LIMIT_IMAGES = (
    "⛔ Not sent: your daily image limit is used up ({spent} of {allowed} images today). "
    "It resets at {reset} UTC (in {wait})."
)
LIMIT_CONCURRENT = (
    "⛔ Not sent: you already have {running} requests running, and the limit is {allowed} at once. "
    "Try again when one has finished."
)
USAGE_ALL_NOT_ADMIN = "Only the bot's admins can see everyone's usage. Here is yours:"
