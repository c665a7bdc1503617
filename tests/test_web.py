"""The web server against slow and idle clients: raw sockets on loopback, as an attacker
would write them, and the health check as a monitor would call it."""

from __future__ import annotations

import asyncio
import resource
import time

import aiohttp
import pytest

from bot.web import FD_RESERVE, WebServer, connection_cap


@pytest.fixture
async def server():
    made: list[WebServer] = []

    async def make(**options) -> WebServer:
        web = WebServer(host="127.0.0.1", port=0, **options)

        async def echo(request):
            return aiohttp.web.Response(text=str(len(await request.read())))

        web.add_route("POST", "/echo", echo)
        await web.start()
        made.append(web)
        return web

    yield make
    for web in made:
        await web.stop()


async def _connect(web: WebServer):
    return await asyncio.open_connection("127.0.0.1", web.bound_port)


async def _closed_by_server(reader: asyncio.StreamReader, timeout: float = 5.0) -> float:
    """Seconds until the server closed the connection (read returns EOF or a reset)."""
    started = time.monotonic()
    try:
        while await asyncio.wait_for(reader.read(1024), timeout):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


async def _health(web: WebServer) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{web.bound_port}/healthz") as response:
            return response.status


async def test_a_client_that_never_finishes_its_headers_is_closed_at_the_timeout(server):
    web = await server(header_timeout=0.2)
    reader, writer = await _connect(web)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    await writer.drain()
    waited = await _closed_by_server(reader)
    assert 0.15 <= waited < 2.0
    assert web.guard.timed_out == 1 and web.guard.open_connections == 0
    writer.close()


async def test_an_idle_keep_alive_connection_is_closed_after_its_response(server):
    web = await server(header_timeout=0.2)
    reader, writer = await _connect(web)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    writer.write(b"GET /healthz HTTP/1.1\r\nHo")  # a second request, dribbled
    await writer.drain()
    await _closed_by_server(reader)
    assert web.guard.timed_out == 1
    writer.close()


async def test_a_body_that_does_not_arrive_is_answered_408(server):
    web = await server(header_timeout=5.0, body_timeout=0.2)
    reader, writer = await _connect(web)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 408")
    writer.close()


async def test_at_the_cap_the_oldest_waiting_connection_makes_room_for_a_health_check(server):
    web = await server(header_timeout=30.0, max_connections=20)
    slow = []
    for _ in range(20):
        reader, writer = await _connect(web)
        writer.write(b"GET / HTTP/1.1\r\n")
        await writer.drain()
        slow.append((reader, writer))
    await _until(lambda: web.guard.open_connections == 20)
    assert await asyncio.wait_for(_health(web), 5) == 200
    assert web.guard.evicted >= 1
    await _closed_by_server(slow[0][0])  # the oldest slow client lost its socket
    for _, writer in slow:
        writer.close()


def test_the_connection_cap_leaves_descriptors_for_outgoing_calls():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap(10**9) == max(16, soft - FD_RESERVE)
    assert connection_cap(5) == 5


async def _until(predicate) -> None:
    # The server accepts on the same loop; yielding lets it run, no timing involved.
    async with asyncio.timeout(5):
        while not predicate():
            await asyncio.sleep(0)


async def test_at_the_cap_with_every_connection_busy_a_new_one_is_refused(server):
    web = await server(header_timeout=30.0, body_timeout=30.0, max_connections=2)
    busy = []
    for _ in range(2):  # headers complete, body still coming: busy, not evictable
        reader, writer = await _connect(web)
        writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        await writer.drain()
        busy.append((reader, writer))
    await _until(lambda: web.guard.open_connections == 2 and web.guard.waiting_connections == 0)
    reader, writer = await _connect(web)
    await _closed_by_server(reader)
    assert web.guard.refused == 1
    for r, w in busy:  # the busy ones finish normally
        w.write(b"cdefghij")
        await w.drain()
        assert (await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 200")
        w.close()
    writer.close()
