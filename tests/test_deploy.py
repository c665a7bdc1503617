"""The deploy files: Heroku's buildpack inputs, the Dockerfile, compose.yaml and the
systemd unit. Each is parsed and checked against the bot's own facts; the image is built
when a Docker daemon is reachable."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tomllib
import uuid

import pytest
import yaml
from packaging.requirements import Requirement

from tests.console_process import ROOT


def _requirements(lines: list[str]) -> set[str]:
    reqs = (Requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip())
    return {f"{r.name.lower().replace('_', '-')}{sorted(str(s) for s in r.specifier)}" for r in reqs}


def test_requirements_txt_matches_pyproject_dependencies():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    listed = (ROOT / "requirements.txt").read_text().splitlines()
    assert _requirements(listed) == _requirements(declared)


def test_heroku_reads_python_version_and_runs_the_whole_bot_in_web():
    version = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.1[1-9]", version)
    assert (ROOT / "Procfile").read_text().strip().splitlines() == ["web: python -m bot run"]
    # The image uses the same Python as Heroku.
    assert f"FROM python:{version}-slim" in (ROOT / "Dockerfile").read_text()


def _dockerfile() -> dict[str, list[str]]:
    instructions: dict[str, list[str]] = {}
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            instructions.setdefault(word.upper(), []).append(" ".join(rest.split()))
    return instructions


def test_dockerfile_runs_as_a_user_with_a_health_check_and_the_database_on_a_volume():
    docker = _dockerfile()
    assert docker["USER"] == ["bot"]
    assert docker["HEALTHCHECK"] and '"bot.probe"' in docker["HEALTHCHECK"][0]
    assert docker["VOLUME"] == ['["/data"]']
    env = " ".join(docker["ENV"])
    assert "BOT_DB_PATH=/data/bot.sqlite3" in env
    assert docker["CMD"] == ['["python", "-m", "bot", "run"]']
    assert "pip install -r requirements.txt" in docker["RUN"][0]


def test_compose_runs_the_image_with_the_database_on_a_named_volume():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["bot"]
    assert service["build"] == "."
    volume, _, mount = service["volumes"][0].partition(":")
    assert volume in compose["volumes"]
    assert service["environment"]["BOT_DB_PATH"].startswith(mount + "/")
    assert service["ports"] == ["8080:8080"]


def _unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string((ROOT / "deploy" / "kie-chat-bot.service").read_text())
    return unit


def test_systemd_unit_runs_the_bot_with_its_state_directory():
    unit = _unit()
    service = unit["Service"]
    assert service["ExecStart"].endswith("python -m bot run")
    assert f"BOT_DB_PATH=/var/lib/{service['StateDirectory']}/bot.sqlite3" in (ROOT / "deploy" / "kie-chat-bot.service").read_text()
    assert service["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_unit(tmp_path):
    # verify checks that ExecStart exists, so point it at this Python for the check.
    text = (ROOT / "deploy" / "kie-chat-bot.service").read_text()
    text = text.replace("/opt/kie-chat-bot/.venv/bin/python", sys.executable)
    text = text.replace("WorkingDirectory=/opt/kie-chat-bot", f"WorkingDirectory={tmp_path}")
    (tmp_path / "kie-chat-bot.service").write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "kie-chat-bot.service")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


def _docker_daemon() -> str | None:
    """Why the image cannot be built here, or None when it can."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    return None if info.returncode == 0 else "no Docker daemon is reachable"


@pytest.mark.skipif(bool(reason := _docker_daemon()), reason=reason or "")
def test_the_image_builds_and_runs_as_the_bot_user():
    tag = f"kie-chat-bot-test:{uuid.uuid4().hex[:8]}"
    try:
        subprocess.run(["docker", "build", "-q", "-t", tag, str(ROOT)], check=True, capture_output=True, timeout=600)
        user = subprocess.run(
            ["docker", "run", "--rm", tag, "python", "-c", "import os, bot; print(os.getuid(), bot.__version__)"],
            check=True, capture_output=True, text=True, timeout=120,
        )
        assert user.stdout.split()[0] == "10001"
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)


async def test_the_container_probe_follows_healthz(core, monkeypatch):
    import asyncio

    from bot import probe

    await core.web.start()
    monkeypatch.setenv("PORT", str(core.web.bound_port))
    assert await asyncio.to_thread(probe.main) == 0
    await core.web.stop()
    assert await asyncio.to_thread(probe.main) == 1
