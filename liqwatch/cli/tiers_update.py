"""``liqwatch tiers update``: the command line of :mod:`liqwatch.tiers_update` (the download
engine). Wired into the ``tiers`` subcommand by :func:`add_update_parser`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from liqwatch.cli.common import EXIT_INPUT

EXIT_FAILED = 1


def add_update_parser(tiers_subparsers: Any) -> argparse.ArgumentParser:
    """The ``update`` parser under ``liqwatch tiers``."""
    from liqwatch.venues import names

    update: argparse.ArgumentParser = tiers_subparsers.add_parser(
        "update",
        help="download every perpetual's public tier table into the cache",
        description=(
            "Download public tier tables and market specs (contract size, tick, settle, linear/inverse) "
            "for every perpetual of each venue through ccxt, into the tier cache (merged: a symbol "
            "that fails keeps its cached table). Private brackets need an account's keys (--config)."
        ),
    )
    update.add_argument(
        "--exchange", action="append", choices=names(), metavar="X", help="a venue (repeatable; default: all)"
    )
    update.add_argument("--symbol", action="append", metavar="S", help="only this symbol (repeatable)")
    update.add_argument(
        "--config", type=Path, dest="update_config", metavar="FILE", help="config file (Binance keys, rest_url)"
    )
    update.add_argument("--rest-url", metavar="URL", help="REST base URL of a proxy or a test server")
    update.add_argument(
        "--collateral",
        action="store_true",
        help=(
            "download the venues' public collateral tables instead of the brackets (Binance, Bybit, OKX, "
            "Bitget, Gate), "
            "for calc's multi_assets collateral rows given without ratio, tiers or buffers"
        ),
    )
    return update


def run_collateral(args: argparse.Namespace, *, retry: Any = None) -> int:
    """``tiers update --collateral``: each venue's collateral table into the collateral cache."""
    from liqwatch.collateral_cache import table_venues
    from liqwatch.collateral_download import CollateralResult, download_collateral

    sources = table_venues()

    if args.symbol:
        print(
            "liqwatch: error: --symbol: not with --collateral (a venue's collateral table is read whole)",
            file=sys.stderr,
        )
        return EXIT_INPUT
    asked: list[str] = list(dict.fromkeys(args.exchange or sources))
    venues = [v for v in asked if v in sources]
    for venue in asked:
        if venue not in sources:
            print(
                f"{venue}: liqwatch reads no {venue} collateral table (only {', '.join(sources)}); skipped",
                file=sys.stderr,
            )
    if not venues:
        print(
            f"liqwatch: error: --collateral: none of {', '.join(asked)} has a collateral table liqwatch reads",
            file=sys.stderr,
        )
        return EXIT_INPUT
    accounts = _accounts(args) if args.rest_url is None else {}
    results: list[CollateralResult] = []

    async def main() -> None:
        for venue in venues:
            account = accounts.get(venue, (None, None))[0]
            rest_url = args.rest_url or (account.rest_url if account is not None else None)
            results.append(
                await download_collateral(venue, rest_url=rest_url, retry=retry() if callable(retry) else None)
            )

    asyncio.run(main())
    for result in results:
        print(result.summary(), file=sys.stderr)
    failed = [r.venue for r in results if r.error]
    if failed:
        print(
            f"liqwatch: error: collateral tables not downloaded for {', '.join(failed)}; "
            "their caches were left as they were",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0


def _accounts(args: argparse.Namespace) -> dict[str, Any]:
    """venue -> (account, secrets) from the config, when one is given or the default exists."""
    from liqwatch.config import default_config_path, load_config, resolve_secrets

    path = getattr(args, "update_config", None) or getattr(args, "config", None)
    if path is None:
        path = default_config_path()
        if not path.exists():
            return {}
    config = load_config(path)
    out: dict[str, Any] = {}
    for account in config.accounts:
        if account.exchange not in out:
            out[account.exchange] = (account, resolve_secrets(account))
    return out


def run_update(args: argparse.Namespace, *, retry: Any = None) -> int:
    from liqwatch.tiers_update import Retry, VenueResult, download_venue, save
    from liqwatch.venues import names

    if getattr(args, "collateral", False):
        return run_collateral(args, retry=retry)

    venues: list[str] = list(dict.fromkeys(args.exchange or names()))
    accounts = _accounts(args)
    tty = sys.stderr.isatty()
    results: list[VenueResult] = []

    async def main() -> None:
        progress_bar: Any = None
        tasks: dict[str, Any] = {}
        if tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            progress_bar = Progress(
                TextColumn("{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            progress_bar.start()
            tasks = {v: progress_bar.add_task(v, total=None) for v in venues}

        def progress(venue: str, done: int, total: int) -> None:
            if progress_bar is not None:
                progress_bar.update(tasks[venue], completed=done, total=total)

        try:
            for venue in venues:
                account, secrets = accounts.get(venue, (None, None))
                rest_url = args.rest_url or (account.rest_url if account is not None else None)
                result = await download_venue(
                    venue,
                    symbols=args.symbol,
                    rest_url=rest_url,
                    account=account,
                    secrets=secrets,
                    retry=retry() if callable(retry) else Retry(),
                    progress=progress,
                )
                save(result)
                results.append(result)
        finally:
            if progress_bar is not None:
                progress_bar.stop()

    asyncio.run(main())
    from liqwatch.feeds.ccxt_client import merge_unreachable

    for line in merge_unreachable([result.summary() for result in results]):
        print(line, file=sys.stderr)
    failed = [r.venue for r in results if r.failed_entirely]
    if failed:
        print(
            f"liqwatch: error: tiers update failed for {', '.join(failed)}; their caches were left as they were",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return 0


__all__ = ["EXIT_INPUT", "add_update_parser", "run_collateral", "run_update"]
