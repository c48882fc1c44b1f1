"""Bench: `liqwatch tiers update` against a fake venue serving 600 perpetuals (bybit, then gate),
with ccxt's rate limiter ON; wall time and requests per venue. Not part of the test suite."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.rest_server import FakeRestServer

SYMBOLS = 600


async def one(venue: str) -> None:
    from liqwatch.tiers_update import download_venue, save

    async with FakeRestServer(venue) as fake:
        fake.synthesize(SYMBOLS)
        fake.set("page_size", 100)  # Bybit pages of 100 symbols
        started = time.perf_counter()
        result = await download_venue(venue, rest_url=fake.url)
        save(result)
        wall = time.perf_counter() - started
        print(f"{venue}: {len(result.symbols)} tables, {len(fake.requests)} requests, {wall:.2f} s wall")


def main() -> None:
    os.environ["LIQWATCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="liqwatch-bench-")
    for venue in ("bybit", "gate"):
        asyncio.run(one(venue))


if __name__ == "__main__":
    main()
