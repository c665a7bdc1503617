"""Settings: read once, fail with one readable message, never show a secret."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError, load_settings

SECRET = "sk-very-secret-value-123"


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIE_", "DISCORD_", "SLACK_", "CODEX_", "RESPONSES_"))}
    env.update(values)
    return env


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("KIE_", "DISCORD_", "SLACK_", "CODEX_", "RESPONSES_", "PUBLIC_", "PORT", "LOG_", "BOT_", "IMAGE_", "WEB_")):
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


SETTING_LINE = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$")


def test_env_example_has_one_line_per_setting_with_its_hint_above():
    root = Path(__file__).resolve().parents[1]
    settings_lines = [m for line in (root / ".env.example").read_text().splitlines() if (m := SETTING_LINE.match(line))]
    names = sorted(m.group(1) for m in settings_lines)
    assert names == sorted(name.upper() for name in Settings.model_fields)
    # A hint on the value's line would become part of the value once uncommented.
    assert [m.group(0) for m in settings_lines if re.search(r"\s|\(", m.group(2))] == []


def test_uncommenting_every_line_of_env_example_still_starts(no_env, tmp_path):
    root = Path(__file__).resolve().parents[1]
    uncommented = [
        line.removeprefix("# ") for line in (root / ".env.example").read_text().splitlines() if SETTING_LINE.match(line)
    ]
    (tmp_path / ".env").write_text("\n".join(uncommented).replace("KIE_API_KEY=\n", f"KIE_API_KEY={SECRET}\n") + "\n")
    settings = load_settings()
    assert settings.codex_key.get_secret_value() == SECRET  # an empty RESPONSES_API_KEY= means unset
    assert settings.port == 8080 and settings.log_format == "text"


def test_log_level_and_format_accept_any_case(no_env, monkeypatch):
    monkeypatch.setenv("KIE_API_KEY", SECRET)
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    settings = load_settings()
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")
