"""The command line of `python -m bot`: its subcommands, `--help` and `--version`."""

from __future__ import annotations

import argparse

from . import __version__

SUBCOMMANDS = {
    "run": "run every platform whose token is set, and the web server (the default when a token is set)",
    "console": "chat with the bot in this terminal (the default when no Discord or Slack token is set)",
    "check": "check the settings and reach each configured service once; exit 0 when all is well, else 1",
}


def build_parser() -> argparse.ArgumentParser:
    epilog = "subcommands:\n" + "\n".join(f"  {name:<9} {text}" for name, text in SUBCOMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="A Discord and Slack bot for KIE Codex answers and images.",
        epilog=epilog + "\n\nSettings come from the environment or .env (see .env.example).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("mode", nargs="?", choices=list(SUBCOMMANDS), metavar="{" + ",".join(SUBCOMMANDS) + "}")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser
