"""`python -m bot --help` and `--version`, as an operator runs them."""

from __future__ import annotations

import subprocess
import sys

from bot import __version__
from tests.console_process import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"python -m bot {__version__}"


def test_help_lists_the_subcommands():
    result = run("--help")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.split("subcommands:\n")[1].splitlines() if line.startswith("  ")]
    assert listed == ["run", "console", "check"]


def test_pyproject_reads_the_version_from_the_package():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bot.__version__"}


def test_readme_quick_start_is_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    run_bot, run_tests = block.strip().splitlines()
    assert run_bot.startswith("pip install ") and run_bot.endswith("python -m bot")
    assert run_tests.startswith("pip install ") and run_tests.endswith("pytest")


def test_the_core_imports_no_platform_library():
    code = (
        "import importlib, pkgutil, sys, bot\n"
        "for m in pkgutil.walk_packages(bot.__path__, 'bot.'):\n"
        "    if m.name != 'bot.__main__': importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('discord', 'slack_sdk', 'slack_bolt')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
