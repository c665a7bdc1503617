"""The bot's aiohttp web server: KIE callbacks, Slack's HTTP mode and a health check.

Features add their routes before `start()`; the Procfile's web process binds `$PORT`.
"""

from __future__ import annotations

import logging

from aiohttp import web

log = logging.getLogger(__name__)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


class WebServer:
    def __init__(self, *, host: str, port: int) -> None:
        self.app = web.Application(client_max_size=2 * 1024 * 1024)
        self.app.router.add_get("/healthz", _health)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    def add_route(self, method: str, path: str, handler) -> None:
        self.app.router.add_route(method, path, handler)

    async def start(self) -> None:
        # access_log=None: callback paths carry per-task secrets and must not be logged.
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server  # the only public way to learn an ephemeral port (port=0)
        self.bound_port = server.sockets[0].getsockname()[1] if server and server.sockets else self._port
        log.info("web server listening on %s:%s", self._host, self.bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
