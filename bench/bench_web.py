"""The web server under a slowloris: `python bench/bench_web.py [connections] [seconds]`

Runs the bot's `WebServer` (default settings: 10 s header timeout, 512 connections) in
a child process on loopback, opens `connections` (default 1,000) slow clients that send
one header byte every 2 s and never finish, and for `seconds` (default 15) calls
`/healthz` every 0.2 s. Prints how long the slow connections stayed open (they must be
closed within the header timeout, or sooner when evicted at the cap) and the health
check latency during the attack. Bounded in count and time; loopback only.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402

from bot.web import WebServer  # noqa: E402

HEADER_TIMEOUT = 10.0


async def serve(port_file: str) -> None:
    web = WebServer(host="127.0.0.1", port=0, header_timeout=HEADER_TIMEOUT)
    await web.start()
    Path(port_file).write_text(str(web.bound_port))
    await asyncio.Event().wait()


async def slow_client(port: int, lifetimes: list[float], stop: asyncio.Event) -> None:
    started = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    try:
        while not stop.is_set():
            await writer.drain()
            try:
                if await asyncio.wait_for(reader.read(1), 2.0) == b"":
                    break  # closed by the server
            except TimeoutError:
                writer.write(b"a")
                continue
        else:
            writer.close()
            return
    except (ConnectionError, OSError):
        pass
    lifetimes.append(time.monotonic() - started)
    writer.close()


async def main(connections: int, seconds: float) -> None:
    port_file = Path(f"/tmp/bench_web_port_{time.time_ns()}")
    child = await asyncio.create_subprocess_exec(sys.executable, __file__, "serve", str(port_file))
    try:
        async with asyncio.timeout(20):
            while not port_file.exists() or not port_file.read_text():
                await asyncio.sleep(0.05)
        port = int(port_file.read_text())
        stop = asyncio.Event()
        lifetimes: list[float] = []
        clients = [asyncio.ensure_future(slow_client(port, lifetimes, stop)) for _ in range(connections)]
        latencies, failures = [], 0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz", headers={"Connection": "close"}) as response:
                        await response.read()
                        ok = response.status == 200
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                if ok:
                    latencies.append(time.monotonic() - started)
                else:
                    failures += 1
                await asyncio.sleep(0.2)
        stop.set()
        await asyncio.gather(*clients, return_exceptions=True)
    finally:
        child.kill()
        await child.wait()
        port_file.unlink(missing_ok=True)
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)] if latencies else float("nan")
    print(f"{connections} slow connections for {seconds:g} s against WebServer (header timeout {HEADER_TIMEOUT:g} s):")
    if lifetimes:
        early = sum(1 for t in lifetimes if t < HEADER_TIMEOUT * 0.9)
        print(f"  closed by the server: {len(lifetimes)} ({early} early, to make room at the connection cap); "
              f"open for at most {max(lifetimes):.1f} s (median {statistics.median(lifetimes):.1f} s)")
    print(f"  health checks: {len(latencies)} ok, {failures} failed; latency p50 "
          f"{statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        asyncio.run(serve(sys.argv[2]))
    else:
        count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
        duration = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
        asyncio.run(main(min(count, 2000), min(duration, 60.0)))
