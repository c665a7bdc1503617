"""`python -m bot check`: validate the settings and reach each configured service once.

Prints one line per service and returns 0 when all are good, 1 otherwise; a failing line
names the setting to fix. KIE is checked here (the key, and the balance from
`GET /api/v1/chat/credit`, which spends nothing); each platform's check lives in its
adapter (`adapters/<name>/check.py`), imported by name so the core imports no platform
library.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from dataclasses import dataclass
from typing import TextIO

import aiohttp

from .config import Settings

CHECK_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class CheckResult:
    service: str
    ok: bool
    detail: str
    setting: str | None = None  # what to fix when not ok

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.service}: {self.detail}"
        fix = f" Check {self.setting}." if self.setting else ""
        return f"FAIL  {self.service}: {self.detail}.{fix}"


async def check_kie(settings: Settings, http: aiohttp.ClientSession) -> CheckResult:
    url = f"{settings.kie_base_url}/api/v1/chat/credit"
    headers = {"Authorization": f"Bearer {settings.kie_api_key.get_secret_value()}"}
    try:
        async with http.get(url, headers=headers, timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_S)) as response:
            status = response.status
            body = await response.json(content_type=None) if status < 500 else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return CheckResult("KIE", False, f"could not reach {settings.kie_base_url} ({type(exc).__name__})", "KIE_BASE_URL")
    # KIE answers errors as HTTP 200 with a {"code", "msg"} envelope; the status may also say.
    code = body.get("code", status) if isinstance(body, dict) else status
    if code == 200 and isinstance(body, dict) and isinstance(body.get("data"), (int, float)):
        return CheckResult("KIE", True, f"the key works; {body['data']:g} credits left")
    if code in (401, 403):
        return CheckResult("KIE", False, "KIE rejected the API key", "KIE_API_KEY")
    message = body.get("msg") if isinstance(body, dict) else None
    return CheckResult("KIE", False, f"KIE answered {code}: {message or 'no details'}", "KIE_BASE_URL and KIE_API_KEY")


async def run_checks(settings: Settings, platforms: list[str]) -> list[CheckResult]:
    from .check_storage import check_database, check_shared_budgets  # they import this module

    async with aiohttp.ClientSession() as http:
        results = [await check_kie(settings, http)]
    for name in platforms:
        check = importlib.import_module(f"adapters.{name}.check").check
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                results.append(await check(settings))
        except TimeoutError:
            results.append(CheckResult(name.capitalize(), False, f"no answer within {CHECK_TIMEOUT_S:g} s"))
    return results + [await check_database(settings), await check_shared_budgets(settings)]


async def main(settings: Settings, platforms: list[str], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    results = await run_checks(settings, platforms)
    for result in results:
        out.write(result.line() + "\n")
    out.flush()
    return 0 if all(r.ok for r in results) else 1
