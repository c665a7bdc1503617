"""Settings: read once, fail with one readable message, never show a secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import SettingsError, load_settings

SECRET = "sk-very-secret-value-123"


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIE_", "DISCORD_", "SLACK_", "CODEX_", "RESPONSES_"))}
    env.update(values)
    return env


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("KIE_", "DISCORD_", "SLACK_", "CODEX_", "RESPONSES_", "PUBLIC_", "PORT")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_missing_key_names_the_variable(no_env):
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == (
        "The bot cannot start because its configuration is incomplete:\n"
        "  - KIE_API_KEY is not set: your KIE.AI API key from https://kie.ai/api-key.\n"
        "Set it in the environment or in a .env file (see .env.example)."
    )


def test_invalid_values_are_explained(no_env, monkeypatch):
    monkeypatch.setenv("KIE_API_KEY", SECRET)
    monkeypatch.setenv("KIE_BASE_URL", "api.kie.ai")
    monkeypatch.setenv("PORT", "eighty")
    monkeypatch.setenv("CODEX_EFFORT", "max")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = str(caught.value)
    assert "  - KIE_BASE_URL: must start with http:// or https://." in text
    assert "  - PORT: Input should be a valid integer, unable to parse string as an integer." in text
    assert "  - CODEX_EFFORT: Input should be 'minimal', 'low', 'medium', 'high' or 'xhigh'." in text
    assert SECRET not in text


def test_model_is_checked_only_against_kie(no_env, monkeypatch):
    monkeypatch.setenv("KIE_API_KEY", SECRET)
    monkeypatch.setenv("CODEX_MODEL", "gpt-4.1")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "CODEX_MODEL='gpt-4.1' is not a KIE Codex model" in str(caught.value)
    monkeypatch.setenv("RESPONSES_URL", "https://www.kkiai.com/v1/responses")
    settings = load_settings()
    assert settings.codex_url == "https://www.kkiai.com/v1/responses"
    assert settings.codex_models() is None
    assert settings.codex_key.get_secret_value() == SECRET  # defaults to KIE_API_KEY


def test_dotenv_file_is_read(no_env, tmp_path):
    (tmp_path / ".env").write_text(f"KIE_API_KEY={SECRET}\nDISCORD_ALLOWED_USERS=1, 2,3\n")
    settings = load_settings()
    assert settings.kie_api_key.get_secret_value() == SECRET
    assert settings.discord_allowed_users == frozenset({"1", "2", "3"})
    assert settings.codex_url == "https://api.kie.ai/api/v1/responses"


def test_secrets_never_print(no_env, monkeypatch):
    monkeypatch.setenv("KIE_API_KEY", SECRET)
    monkeypatch.setenv("DISCORD_TOKEN", SECRET + "-discord")
    settings = load_settings()
    assert SECRET not in repr(settings) and SECRET not in str(settings)


def test_start_without_key_prints_one_line_and_exits_1(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=clean_env(PYTHONPATH=os.getcwd()),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "The bot cannot start because its configuration is incomplete: KIE_API_KEY is not set: your KIE.AI API "
        "key from https://kie.ai/api-key. Set it in the environment or in a .env file (see .env.example)."
    ]
    assert result.stdout == ""


def test_every_setting_is_documented():
    from pathlib import Path

    from bot.config import Settings

    root = Path(__file__).resolve().parents[1]
    readme, example = (root / "README.md").read_text(), (root / ".env.example").read_text()
    names = [name.upper() for name in Settings.model_fields]
    assert [n for n in names if f"`{n}`" not in readme] == []
    assert [n for n in names if n not in example] == []
