"""One error tree. `UserFacingError.message` is safe to show; anything else is logged."""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the bot raises on purpose."""


class UserFacingError(BotError):
    """An error whose `message` is written for the person who asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(UserFacingError):
    """A bad command, option or input. Nothing was sent upstream."""


class UpstreamError(UserFacingError):
    """KIE (or another upstream) refused or failed. `retryable` marks 429 and 5xx."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class Unauthorized(UpstreamError):
    """401: the API key was refused."""


class OutOfCredits(UpstreamError):
    """402: the account has no credits left."""


class Busy(UpstreamError):
    """429 (rate limited) or 433 (sub-key limit)."""


class Maintenance(UpstreamError):
    """455: KIE is under maintenance."""


class UpstreamUnavailable(UpstreamError):
    """5xx: KIE (or the model behind it) failed."""


class Rejected(UpstreamError):
    """4xx: KIE refused the request as sent."""


class StreamInterrupted(UpstreamError):
    """The reply stream broke after it had started."""


class AdapterError(BotError):
    """A platform call failed. `user_message` is set when the user can act on it.
    `retryable` marks a failure that later may not repeat (a full disk): nothing was posted."""

    def __init__(
        self, detail: str, *, user_message: str | None = None, retry_after: float | None = None, retryable: bool = False
    ) -> None:
        super().__init__(detail)
        self.user_message = user_message
        self.retry_after = retry_after
        self.retryable = retryable


class StreamRefused(AdapterError):
    """The platform refused a native stream call (feature off, missing recipient, or the
    stream expired server-side). The renderer falls back to post-and-edit.

    `code` is the platform's error name, for the log.
    """

    def __init__(self, code: str) -> None:
        super().__init__(f"native stream refused: {code}")
        self.code = code
