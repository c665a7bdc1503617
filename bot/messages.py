"""Every sentence the bot says to users, in one place."""

INTERNAL_ERROR = "Something went wrong on my side while handling this. It has been logged; please try again."
NOT_AVAILABLE = "/{command} is not available on this bot."

STOP_NOTHING_RUNNING = "That reply has already finished."
STOP_NOT_YOURS = "Only the person who asked can stop this reply."
STOP_DONE = "Stopping."

REPLY_STOPPED = "⏹️ Stopped by request."
REPLY_INTERRUPTED = "⚠️ The reply was interrupted: {reason}"
EMPTY_REPLY = "The model finished without writing anything."

ERR_UNAUTHORIZED = "KIE rejected the bot's API key. Ask the bot's operator to check KIE_API_KEY."
ERR_NO_CREDITS = "The bot's KIE account is out of credits. Ask the bot's operator to top it up."
ERR_BUSY = "KIE is busy right now (rate limited). Please try again in a minute."
ERR_MAINTENANCE = "KIE is under maintenance right now. Please try again later."
ERR_UPSTREAM = "KIE had trouble answering (error {status}). Please try again in a moment."
ERR_REJECTED = "KIE could not process this request: {detail}"
ERR_TIMEOUT = "KIE did not answer in time ({what}). Please try again."
ERR_CONNECT = "Could not reach KIE. Please try again in a moment."
ERR_BAD_STREAM = "KIE sent a reply the bot could not read."
ERR_CLOSED_EARLY = "the connection to KIE closed before the reply finished"
ERR_FAILED = "the model reported an error: {detail}"
