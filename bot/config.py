"""The bot's settings: one typed object, read once at start from the environment and `.env`.

Nothing else in the project reads `os.environ`; everything receives a `Settings`.
Secrets are `SecretStr`, so printing the settings (or an exception carrying them) never
shows a token.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _SourceError

KIE_CODEX_MODELS = ("gpt-5-codex", "gpt-5.1-codex", "gpt-5.2-codex", "gpt-5.3-codex")
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")

Effort = Literal["minimal", "low", "medium", "high", "xhigh"]
# Written as "id1,id2" in the environment (NoDecode: not parsed as JSON).
IdSet = Annotated[frozenset[str], NoDecode]


def _csv(value: object) -> object:
    """Allowlists are written as comma-separated ids in the environment."""
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    # env_ignore_empty: `SLACK_BOT_TOKEN=` (as .env.example has it) means "not set", for
    # every setting, rather than an empty token that fails later.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True, env_ignore_empty=True
    )

    # KIE
    kie_api_key: SecretStr = Field(description="your KIE.AI API key from https://kie.ai/api-key")
    kie_base_url: str = "https://api.kie.ai"
    kie_upload_base_url: str = "https://kieai.redpandaai.co"
    kie_webhook_hmac_key: SecretStr | None = None

    # Codex (any OpenAI-compatible Responses endpoint works)
    responses_url: str | None = None
    responses_api_key: SecretStr | None = None
    codex_model: str = "gpt-5.1-codex"
    codex_effort: Effort = "medium"
    # The system prompt: sent as the Responses `instructions` on every request.
    codex_instructions: str | None = None
    codex_connect_timeout: float = Field(10.0, gt=0)
    codex_first_event_timeout: float = Field(120.0, gt=0)
    codex_idle_timeout: float = Field(90.0, gt=0)
    codex_max_retries: int = Field(3, ge=0, le=10)
    # Codex streams open at once; more wait in line (each holds one connection to KIE).
    codex_max_concurrent: int = Field(1000, ge=1)
    codex_first_output_budget: float = Field(180.0, gt=0)
    codex_total_timeout: float = Field(900.0, gt=0)
    codex_max_reply_chars: int = Field(100_000, ge=1)
    conversation_budget_chars: int = Field(60_000, ge=1_000)

    # Web server (callbacks, Slack HTTP mode, health)
    public_base_url: str | None = None
    port: int = Field(8080, ge=0, le=65535)
    web_host: str = "0.0.0.0"
    web_header_timeout_s: float = Field(10.0, gt=0)  # a request's headers must arrive within this
    web_body_timeout_s: float = Field(30.0, gt=0)  # and its body within this
    web_max_connections: int = Field(512, ge=1)  # lowered to leave descriptors for outgoing calls

    # Storage. DATABASE_URL (PostgreSQL) lets several processes share the data; without
    # it the embedded SQLite file BOT_DB_PATH serves one process.
    database_url: SecretStr | None = None
    bot_db_path: str = "bot.sqlite3"
    bot_image_dir: str = "images"
    # How long the store keeps what it no longer needs (0 = for ever).
    retention_conversation_days: float = Field(30.0, ge=0)
    retention_finished_task_days: float = Field(7.0, ge=0)

    # Image tasks (/image). Defaults follow KIE's advice: poll every 2-3 s for the first
    # 30 s, then 5-10 s, then 15-30 s after 2 min; give up after about 15 min; at most
    # 20 new tasks per 10 s and under 10 status queries per second per key.
    image_poll_fast_s: float = Field(2.5, gt=0)
    image_poll_fast_until_s: float = Field(30.0, ge=0)
    image_poll_medium_s: float = Field(7.5, gt=0)
    image_poll_medium_until_s: float = Field(120.0, ge=0)
    image_poll_slow_s: float = Field(20.0, gt=0)
    image_give_up_s: float = Field(900.0, gt=0)
    image_create_limit: int = Field(20, ge=1)
    image_create_window_s: float = Field(10.0, gt=0)
    image_status_limit: int = Field(8, ge=1)  # status queries per period, under KIE's 10 per second
    image_status_period_s: float = Field(1.0, gt=0)
    image_max_download_bytes: int = Field(30 * 1024 * 1024, ge=1024)
    image_max_results: int = Field(10, ge=1, le=100)  # result files one task may post
    image_request_timeout_s: float = Field(60.0, gt=0)
    kie_webhook_max_skew_s: float = Field(300.0, gt=0)
    # 4o only: let KIE fall back to another model when GPT-4o image generation is down.
    image_4o_fallback: bool = False
    image_4o_fallback_model: Literal["GPT_IMAGE_1", "FLUX_MAX"] = "FLUX_MAX"

    # Several processes: a lease on an image task lasts this long and is renewed at a
    # third of it; when a process dies, another adopts its tasks within about one lease.
    image_lease_s: float = Field(30.0, ge=1.0)
    # REDIS_URL shares the rate budgets (KIE, Slack, Discord) and Stop presses between
    # processes; keys start with REDIS_KEY_PREFIX (several bots may share one Redis).
    redis_url: SecretStr | None = None
    redis_key_prefix: str = "kiebot:"

    # Discord
    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    discord_allowed_guilds: IdSet = frozenset()
    discord_allowed_channels: IdSet = frozenset()
    discord_allowed_roles: IdSet = frozenset()
    discord_allowed_users: IdSet = frozenset()
    discord_message_content: bool = False  # the privileged intent: thread chat without mentions
    # Split the gateway across processes: each runs DISCORD_SHARD_IDS of DISCORD_SHARD_COUNT.
    discord_shard_count: int | None = Field(None, ge=1)
    # False: log in over REST only (post and edit), no gateway; another process receives.
    discord_gateway: bool = True
    discord_shard_ids: Annotated[tuple[int, ...], NoDecode] = ()

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_allowed_channels: IdSet = frozenset()
    slack_allowed_users: IdSet = frozenset()
    slack_native_streaming: bool = True
    slack_admin_users: IdSet = frozenset()  # may use /config (besides workspace admins)

    # Costs and budgets (credits; days in UTC). Unset = no limit.
    limit_user_daily_credits: float | None = Field(None, ge=0)
    limit_user_daily_images: int | None = Field(None, ge=0)
    limit_channel_daily_credits: float | None = Field(None, ge=0)
    limit_server_daily_credits: float | None = Field(None, ge=0)
    limit_total_daily_credits: float | None = Field(None, ge=0)
    # Replies and pending images one person may have running at once; 0 = no limit.
    limit_user_concurrent: int = Field(2, ge=0)
    # Admins (BOT_ADMIN_USERS, and each platform's own admins) skip the limits above.
    limit_admins_exempt: bool = True
    bot_admin_users: IdSet = frozenset()
    # The KIE balance is read at start and every KIE_BALANCE_POLL_S; below KIE_LOW_CREDITS
    # a warning is logged (once) and shown in `/usage all`; at 0 new work is refused.
    kie_low_credits: float = Field(1000.0, ge=0)
    kie_balance_poll_s: float = Field(300.0, gt=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    _split_lists = field_validator(
        "discord_allowed_guilds",
        "discord_allowed_channels",
        "discord_allowed_roles",
        "discord_allowed_users",
        "slack_allowed_channels",
        "slack_allowed_users",
        "bot_admin_users",
        "slack_admin_users",
        mode="before",
    )(_csv)

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _shard_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.split(",") if part.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL (leave it unset to use the SQLite file BOT_DB_PATH)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> Settings:
        if self.discord_shard_ids and self.discord_shard_count is None:
            raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT")
        if self.discord_shard_count is not None and any(
            not 0 <= shard < self.discord_shard_count for shard in self.discord_shard_ids
        ):
            raise ValueError(f"DISCORD_SHARD_IDS must be between 0 and DISCORD_SHARD_COUNT-1 ({self.discord_shard_count - 1})")
        return self
    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object, info) -> object:
        """`LOG_LEVEL=debug` and `LOG_FORMAT=JSON` are meant the same as their canonical case."""
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()

    @field_validator("kie_base_url", "kie_upload_base_url", "public_base_url", "responses_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("kie_api_key")
    @classmethod
    def _non_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty")
        return value

    @model_validator(mode="after")
    def _model_fits_endpoint(self) -> Settings:
        if self.uses_kie_codex and self.codex_model not in KIE_CODEX_MODELS:
            raise ValueError(
                f"CODEX_MODEL={self.codex_model!r} is not a KIE Codex model; "
                f"use one of {', '.join(KIE_CODEX_MODELS)}"
            )
        return self

    @model_validator(mode="after")
    def _slack_mode_is_complete(self) -> Settings:
        if self.slack_bot_token is not None and self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError(
                "SLACK_SIGNING_SECRET is required for Slack's HTTP mode "
                "(or set SLACK_APP_TOKEN to use Socket Mode instead)"
            )
        return self

    @property
    def database_location(self) -> str:
        """What `Store.open` takes: the PostgreSQL URL when set, else the SQLite path."""
        return self.database_url.get_secret_value() if self.database_url is not None else self.bot_db_path

    @property
    def codex_url(self) -> str:
        return self.responses_url or f"{self.kie_base_url}/api/v1/responses"

    @property
    def codex_key(self) -> SecretStr:
        return self.responses_api_key or self.kie_api_key

    @property
    def uses_kie_codex(self) -> bool:
        """Model names are only checked against KIE's list when the endpoint is KIE's."""
        return self.codex_url == f"{self.kie_base_url}/api/v1/responses"

    def codex_models(self) -> tuple[str, ...] | None:
        """The models a user may pick, or None when any name is passed through."""
        return KIE_CODEX_MODELS if self.uses_kie_codex else None


class SettingsError(Exception):
    """A readable, single-paragraph explanation of what is wrong with the configuration."""


def _env_name(loc: tuple) -> str:
    return str(loc[0]).upper() if loc else "configuration"


def describe(error: ValidationError) -> str:
    lines = ["The bot cannot start because its configuration is incomplete:"]
    for item in error.errors(include_url=False, include_input=False):
        name = _env_name(item["loc"])
        if item["type"] == "missing":
            hint = Settings.model_fields[name.lower()].description or "it is required"
            lines.append(f"  - {name} is not set: {hint}.")
        else:
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"  - {name}: {message}.")
    lines.append("Set it in the environment or in a .env file (see .env.example).")
    return "\n".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; raise `SettingsError` with a message fit to print."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None
    except _SourceError as exc:  # a value pydantic-settings could not even read
        raise SettingsError(f"The bot cannot start: {exc}.") from None
