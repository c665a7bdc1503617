"""The console adapter: try the bot in a terminal, no Discord or Slack needed.

One request per line on stdin. `/codex [--model M] [--effort E] [--web-search] PROMPT`
streams a reply; `/image [--ratio R] [--quality Q] [--engine E] [--ref PATH_OR_URL]... PROMPT`
starts an image task whose files are saved under BOT_IMAGE_DIR (each path printed on its
own line); `/usage [all]` shows what was spent; any other line is a chat turn in one ongoing
conversation (with memory), which `/reset` starts over. At
end of input the work in flight, pending images included, finishes first; a console
started again resumes the image tasks the last one left unfinished.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.commands.flags import FLAGS, parse_flags, usage
from bot.errors import UsageError
from bot.model import Destination, Request, User
from bot.runtime import Core

from .outbound import ConsoleOutbound
from .refs import reference_attachments

PLATFORM = "console"
WHERE = Destination(platform=PLATFORM, channel_id="terminal")
# Whoever runs the console runs the bot: an admin (`/usage all`; exempt from the limits
# while LIMIT_ADMINS_EXEMPT is true).
USER = User(id="console-user", name="you", admin=True)
CONVERSATION = "console:terminal"
HELP = (
    "Commands: " + "; ".join(usage(name) for name in FLAGS)
    + "; /config [instructions TEXT | model M | effort E | reset]; /reset (a new conversation); /usage [all]; /help."
    + " Any other line is a chat message."
)
RESET_DONE = "A new conversation starts with your next message."


class ConsoleAdapter:
    name = PLATFORM

    def __init__(self, core: Core, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self._core = core
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self.out = ConsoleOutbound(self._stdout, Path(core.settings.bot_image_dir))

    async def start(self) -> None:
        self._core.bot.register_outbound(PLATFORM, self.out)

    async def stop(self) -> None:
        """Nothing to disconnect."""

    async def run(self) -> None:
        """Read requests until end of input, then let the work in flight finish."""
        while True:
            line = await self._readline()
            if not line:
                break
            await self.handle_line(line.strip())
        await self._core.drain()

    async def _readline(self) -> str:
        """The next line of input, read in a daemon thread: a read that waits for a line
        that never comes must not keep the process alive after SIGTERM (a thread of the
        default executor would, since `asyncio.run` joins them)."""
        loop = asyncio.get_running_loop()
        line: asyncio.Future[str] = loop.create_future()

        def read() -> None:
            text = self._stdin.readline()
            with contextlib.suppress(RuntimeError):  # the loop closed while we waited
                loop.call_soon_threadsafe(lambda: line.done() or line.set_result(text))

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        return await line

    async def handle_line(self, line: str) -> None:
        if not line:
            return
        name, _, rest = line[1:].partition(" ") if line.startswith("/") else ("", "", "")
        console_command = {"reset": self._reset, "config": self._config}.get(name)
        if console_command is not None:
            self._print(await console_command(rest.strip()))
            return
        try:
            request = self.to_request(line)
        except UsageError as exc:
            self._print(exc.message)
            return
        if request is None:
            self._print(HELP)
            return
        task = await self._core.bot.handle(request)
        # A streamed reply owns the terminal until it ends; images finish in the background.
        if task is not None and request.command != "image":
            await asyncio.wait({task})

    def to_request(self, line: str) -> Request | None:
        if not line.startswith("/"):
            return Request(command="chat", prompt=line, user=USER, where=WHERE, conversation_key=CONVERSATION)
        name, _, rest = line[1:].partition(" ")
        if name == "help":
            return None
        if name == "usage":
            return Request(command="usage", prompt=rest.strip(), user=USER, where=WHERE)
        if name not in FLAGS:
            raise UsageError(f"Unknown command /{name}. {HELP}")
        options, prompt = parse_flags(name, rest)
        refs = options.pop("ref", [])
        attachments = reference_attachments(refs, self._core.http, self._core.images.guard) if refs else ()  # type: ignore[arg-type]
        return Request(
            command=name, prompt=prompt, user=USER, where=WHERE, options=options, attachments=attachments  # type: ignore[arg-type]
        )

    async def _config(self, rest: str) -> str:
        """`/config [instructions TEXT | model M | effort E | reset]` for the console's channel."""
        try:
            return await self._core.channels.command(PLATFORM, WHERE.channel_id, rest)  # type: ignore[union-attr]
        except UsageError as exc:
            return exc.message

    async def _reset(self, _rest: str) -> str:
        await self._core.conversations.forget(CONVERSATION)
        return RESET_DONE

    def _print(self, text: str) -> None:
        self._stdout.write(text + "\n")
        self._stdout.flush()


def create(core: Core) -> ConsoleAdapter:
    return ConsoleAdapter(core)
