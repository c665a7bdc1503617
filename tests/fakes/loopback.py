"""Serve a fake's aiohttp app on an ephemeral loopback port."""

from __future__ import annotations

from aiohttp import web


async def serve(app: web.Application, **runner_options) -> tuple[web.AppRunner, int]:
    """Start `app` on 127.0.0.1 and return its runner (to clean up) and the port it got."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # the only way to learn port 0's pick
