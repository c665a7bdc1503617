"""The bot's aiohttp web server: KIE callbacks, Slack's HTTP mode and a health check.

Features add their routes before `start()`; the Procfile's web process binds `$PORT`.

It is open to the internet, so slow or idle clients cannot pile up:

- A connection must finish sending a request's headers within `header_timeout` of
  opening (or of its previous response); otherwise it is closed. aiohttp has no such
  timeout of its own, and its keep-alive timer stops as soon as any byte arrives.
- A request body must arrive within `body_timeout` (answered 408 otherwise).
- At most `max_connections` connections are open. When a new one would pass the cap,
  the oldest connection still waiting for its headers is closed to make room (a
  slowloris loses its sockets, a health check still gets in); if every connection is
  busy with a request, the new one is refused.
- The cap is kept `FD_RESERVE` file descriptors below the process's open-files limit,
  so outgoing calls (KIE, Slack, Discord) and the database always find descriptors.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

FD_RESERVE = 256  # descriptors kept for outgoing connections, the database and logs
MIN_CONNECTIONS = 16


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def connection_cap(wanted: int, *, reserve: int = FD_RESERVE) -> int:
    """`wanted`, lowered so that incoming connections leave `reserve` descriptors free."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(min(wanted, MIN_CONNECTIONS), min(wanted, soft - reserve))


class ConnectionGuard:
    """Tracks the server's connections: header deadlines and the connection cap."""

    def __init__(self, *, header_timeout: float, max_connections: int) -> None:
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self._open: set[asyncio.Transport] = set()
        # Connections waiting for (the rest of) a request's headers, oldest first.
        self._waiting: dict[asyncio.Transport, asyncio.TimerHandle] = {}
        self.timed_out = 0
        self.evicted = 0
        self.refused = 0

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def waiting_connections(self) -> int:
        """Connections still sending a request's headers."""
        return len(self._waiting)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Guarded(factory(), self)

    def opened(self, transport: asyncio.Transport) -> bool:
        if len(self._open) >= self.max_connections:
            if not self._waiting:
                self.refused += 1
                transport.abort()
                return False
            oldest = next(iter(self._waiting))
            self.evicted += 1
            self._close(oldest)
        self._open.add(transport)
        self.await_headers(transport)
        return True

    def await_headers(self, transport: asyncio.Transport) -> None:
        self.headers_done(transport)
        loop = asyncio.get_running_loop()
        self._waiting[transport] = loop.call_later(self.header_timeout, self._expire, transport)

    def headers_done(self, transport: asyncio.Transport) -> None:
        timer = self._waiting.pop(transport, None)
        if timer is not None:
            timer.cancel()

    def closed(self, transport: asyncio.Transport) -> None:
        self.headers_done(transport)
        self._open.discard(transport)

    def _expire(self, transport: asyncio.Transport) -> None:
        if self._waiting.pop(transport, None) is not None:
            self.timed_out += 1
            self._close(transport)

    def _close(self, transport: asyncio.Transport) -> None:
        self.headers_done(transport)
        self._open.discard(transport)
        transport.abort()


class _Guarded(asyncio.Protocol):
    """aiohttp's request handler, with the guard told when connections open and close."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._transport: asyncio.Transport | None = None
        self._accepted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._accepted = self._guard.opened(transport)  # type: ignore[arg-type]
        if self._accepted:
            self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._guard.closed(self._transport)
        if self._accepted:  # a refused connection never reached aiohttp
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def _timeouts(guard: ConnectionGuard, body_timeout: float):
    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        transport = request.transport
        if transport is not None:
            guard.headers_done(transport)  # the headers are in: aiohttp has parsed them
        try:
            if request.body_exists:
                try:
                    await asyncio.wait_for(request.read(), body_timeout)  # cached for the handler
                except TimeoutError:
                    log.info("closed a connection whose request body did not arrive within %gs", body_timeout)
                    return web.json_response({"error": "request body timeout"}, status=408, headers={"Connection": "close"})
            return await handler(request)
        finally:
            if transport is not None and not transport.is_closing():
                guard.await_headers(transport)  # the next request on this connection gets a deadline too

    return middleware


class WebServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        header_timeout: float = 10.0,
        body_timeout: float = 30.0,
        max_connections: int = 512,
    ) -> None:
        self.guard = ConnectionGuard(header_timeout=header_timeout, max_connections=connection_cap(max_connections))
        self.app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[_timeouts(self.guard, body_timeout)])
        self.app.router.add_get("/healthz", _health)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self.bound_port: int | None = None

    def add_route(self, method: str, path: str, handler) -> None:
        self.app.router.add_route(method, path, handler)

    async def start(self) -> None:
        # access_log=None: callback paths carry per-task secrets and must not be logged.
        self._runner = web.AppRunner(self.app, access_log=None, keepalive_timeout=self.guard.header_timeout)
        await self._runner.setup()
        assert self._runner.server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.wrap(self._runner.server), self._host, self._port, backlog=128, reuse_address=True
        )
        self.bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port
        log.info("web server listening on %s:%s (at most %d connections)", self._host, self.bound_port,
                 self.guard.max_connections)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
