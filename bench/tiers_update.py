"""Bench: `liqwatch tiers update` against a fake venue serving 600 perpetuals (bybit, gate, okx,
bitget), with ccxt's rate limiter ON; wall time and requests per venue. Not part of the test suite.

    python bench/tiers_update.py                   # every venue, 600 symbols
    python bench/tiers_update.py okx bitget --symbols 150   # a smaller run, extrapolated to 600

Bybit and Gate page their tier tables (100 contracts a page here); OKX and Bitget answer one
symbol per request, so their wall time is set by ccxt's rate limiter (one request per
``rateLimit`` ms) and grows linearly with the symbol count: a run with fewer symbols also prints
the time extrapolated to 600."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.rest_server import FakeRestServer

SYMBOLS = 600
VENUES = ("bybit", "gate", "okx", "bitget")


async def one(venue: str, symbols: int) -> None:
    from liqwatch.tiers_update import download_venue, save

    async with FakeRestServer(venue) as fake:
        fake.synthesize(symbols)
        fake.set("page_size", 100)  # Bybit pages of 100 symbols
        started = time.perf_counter()
        result = await download_venue(venue, rest_url=fake.url)
        save(result)
        wall = time.perf_counter() - started
        line = f"{venue}: {len(result.symbols)} tables, {len(fake.requests)} requests, {wall:.2f} s wall"
        if symbols != SYMBOLS:
            scale = (SYMBOLS + 3) / (symbols + 3)  # + the fixtures' own BTC/ETH/SOL
            line += f" (x{scale:.2f} -> ~{wall * scale:.0f} s, ~{len(fake.requests) * scale:.0f} requests at {SYMBOLS})"
        print(line, flush=True)
        if result.failures:
            print(f"  failures: {dict(list(result.failures.items())[:3])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("venues", nargs="*", metavar="VENUE", help=f"any of {', '.join(VENUES)} (default: all)")
    parser.add_argument("--symbols", type=int, default=SYMBOLS, help="synthetic perpetuals (default 600)")
    args = parser.parse_args()
    unknown = set(args.venues) - set(VENUES)
    if unknown:
        parser.error(f"unknown venue(s) {sorted(unknown)}; one of {VENUES}")
    os.environ["LIQWATCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="liqwatch-bench-")
    for venue in args.venues or VENUES:
        asyncio.run(one(venue, args.symbols))


if __name__ == "__main__":
    main()
