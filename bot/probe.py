"""`python -m bot.probe`: the container's health check. Exit 0 when `/healthz` answers 200.

It runs as its own short process, without the bot's settings (a missing key must not
make a running container look dead), so it reads only PORT, with the bot's default.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT') or 8080}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
