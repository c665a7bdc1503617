"""Exactly once across a crash, and never lost to a full disk: the console's outbound
(the real one, saving real files) under the image service.

"The process dies right after the post" is played by letting the real post finish and
then never returning, so the task is left in `delivering`, as `kill -9` at that instant
leaves it; the next start on the same database redoes the delivery.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
from pathlib import Path

from adapters.console import outbound as console_outbound
from adapters.console.outbound import ConsoleOutbound
from bot import messages
from bot.images.records import DELIVERING, DONE, RUNNING
from tests.fakes.kie_images import png
from tests.fakes.outbound import die_after_posting

from .conftest import image_request


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


async def _state(core) -> str:
    rows = await core.store.fetchall("SELECT * FROM image_tasks")
    assert len(rows) == 1, [(dict(r)["prompt"], dict(r)["task_id"], dict(r)["destination"]) for r in rows]
    return rows[0]["state"]


async def test_console_a_crash_right_after_saving_does_not_save_a_second_copy(kie, harness, tmp_path):
    folder = tmp_path / "saved"
    first_out = ConsoleOutbound(io.StringIO(), folder)
    posted = die_after_posting(first_out)
    first, _ = await harness.start(outbound=first_out)
    first.images.stop_grace = 0.01
    await first.bot.handle(image_request("a harbour"))
    await asyncio.wait_for(posted.wait(), 10)
    await harness.close(first)

    stdout = io.StringIO()
    second, _ = await harness.start(outbound=ConsoleOutbound(stdout, folder))
    assert await _state(second) in (RUNNING, DELIVERING, DONE)
    await asyncio.wait_for(second.drain(), 10)

    [saved] = _files(folder)
    assert saved.read_bytes() == png()
    assert str(saved) in stdout.getvalue()  # the restarted bot still tells where the image is
    assert messages.IMAGE_DONE in stdout.getvalue()
    assert await _state(second) == DONE


def _full_disk(monkeypatch) -> list[int]:
    """Every fsync fails as on a full disk (after the bytes were partly written)."""
    failures: list[int] = []

    def fsync(fd: int) -> None:
        failures.append(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(console_outbound.os, "fsync", fsync)
    return failures


async def test_console_a_full_disk_keeps_the_task_pending_and_a_restart_saves_it(kie, harness, tmp_path, monkeypatch):
    folder = tmp_path / "saved"
    failures = _full_disk(monkeypatch)
    stdout = io.StringIO()
    first, _ = await harness.start(outbound=ConsoleOutbound(stdout, folder))
    task = await first.bot.handle(image_request("a harbour"))
    await asyncio.wait_for(_until(lambda: "No space left on device" in stdout.getvalue()), 10)

    assert failures
    assert _files(folder) == []  # no empty or partial file is left behind
    assert "could not be posted here" in stdout.getvalue() and "will try again" in stdout.getvalue()
    assert "the platform refused the upload" not in stdout.getvalue()
    assert await _state(first) == RUNNING
    await harness.close(first)
    assert task.done()  # it stopped watching at shutdown; the task stays stored

    monkeypatch.undo()  # space again
    stdout = io.StringIO()
    second, _ = await harness.start(outbound=ConsoleOutbound(stdout, folder))
    await asyncio.wait_for(second.drain(), 10)
    [saved] = _files(folder)
    assert saved.read_bytes() == png()
    assert messages.IMAGE_DONE in stdout.getvalue()
    assert await _state(second) == DONE
    assert kie.images.create_requests == 1


async def test_console_a_full_disk_that_clears_is_saved_by_the_next_poll(kie, harness, tmp_path, monkeypatch):
    folder = tmp_path / "saved"
    real_fsync = os.fsync
    calls: list[int] = []

    def fsync_full_once(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(console_outbound.os, "fsync", fsync_full_once)
    stdout = io.StringIO()
    core, _ = await harness.start(outbound=ConsoleOutbound(stdout, folder))
    await asyncio.wait_for(await core.bot.handle(image_request("a harbour")), 10)
    [saved] = _files(folder)
    assert saved.read_bytes() == png() and len(calls) == 2
    assert stdout.getvalue().rstrip().endswith(messages.IMAGE_DONE)


async def _until(predicate) -> None:
    # The console writes to a StringIO with no notification; the image service's own
    # steps are awaited between checks, so this yields to the loop rather than sleeping.
    while not predicate():
        await asyncio.sleep(0)
