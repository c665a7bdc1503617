"""End to end: `python -m bot console` as a real subprocess against the fake KIE."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.console_process import bot_env, start_bot
from tests.fakes.kie import Gate
from tests.fakes.kie_images import I2I, ImageJob, png



def _env(kie, tmp_path: Path) -> dict[str, str]:
    return bot_env(
        kie,
        tmp_path,
        BOT_IMAGE_DIR=str(tmp_path / "saved"),
        IMAGE_POLL_FAST_S="0.01",
        IMAGE_POLL_MEDIUM_S="0.01",
        IMAGE_POLL_SLOW_S="0.01",
        IMAGE_STATUS_LIMIT="1000",
        LOG_LEVEL="WARNING",
    )


async def _console(kie, tmp_path: Path):
    return await start_bot(_env(kie, tmp_path), tmp_path, "console")


def _saved_paths(stdout: str, tmp_path: Path) -> list[Path]:
    folder = str(tmp_path / "saved")
    return [Path(line) for line in stdout.splitlines() if line.startswith(folder)]


async def test_console_saves_the_image_and_prints_its_path(kie, tmp_path):
    reference = tmp_path / "me.png"
    reference.write_bytes(png(3, 3))
    lines = (
        "/image --ratio 16:9 a fox\n"
        "/image --ref nowhere.png a fox\n"
        f"/image --ratio 2:3 --ref {reference} a red fox in the snow\n"
    )
    proc = await _console(kie, tmp_path)
    stdout, stderr = await asyncio.wait_for(proc.communicate(lines.encode()), 30)
    out = stdout.decode()
    assert proc.returncode == 0, stderr.decode()

    assert "Unknown aspect ratio '16:9'. Choose one of: 1:1, 2:3, 3:2." in out
    assert "No such file: nowhere.png" in out
    [saved] = _saved_paths(out, tmp_path)
    assert saved.read_bytes() == png()
    [body] = kie.images.create_bodies  # the two bad lines cost nothing
    assert body["model"] == I2I and body["input"]["aspect_ratio"] == "2:3"
    assert kie.uploads[0]["fileSize"] == len(png(3, 3))
    assert out.rstrip().endswith("✅ Your image is ready.")


async def test_a_console_started_again_resumes_the_last_ones_pending_image(kie, tmp_path):
    finish = Gate()
    kie.images.jobs.append(ImageJob(finish=finish))
    first = await _console(kie, tmp_path)
    first.stdin.write(b"/image a lighthouse at dusk\n")
    await first.stdin.drain()
    await kie.images.wait_for(lambda f: len(f.queries) >= 1)  # created and being polled
    first.kill()  # a crash, not a clean exit
    await first.wait()
    finish.open()

    second = await _console(kie, tmp_path)
    stdout, stderr = await asyncio.wait_for(second.communicate(b""), 30)
    assert second.returncode == 0, stderr.decode()
    [saved] = _saved_paths(stdout.decode(), tmp_path)
    assert saved.read_bytes() == png()
    assert kie.images.create_requests == 1


async def test_a_reference_url_on_a_private_address_is_refused_before_anything_is_sent(kie, tmp_path):
    from aiohttp import web

    from tests.fakes.loopback import serve

    hits = []

    async def serve_png(request):
        hits.append(request.path)
        return web.Response(body=png(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve_png)
    runner, port = await serve(app)
    try:
        proc = await _console(kie, tmp_path)
        line = f"/image --ref http://127.0.0.1:{port}/internal.png a fox\n"
        stdout, stderr = await asyncio.wait_for(proc.communicate(line.encode()), 30)
    finally:
        await runner.cleanup()
    assert proc.returncode == 0, stderr.decode()
    assert f"The reference http://127.0.0.1:{port}/internal.png was refused" in stdout.decode()
    assert hits == [] and kie.images.create_requests == 0 and kie.uploads == []
