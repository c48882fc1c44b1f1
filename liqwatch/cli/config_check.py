"""``liqwatch config check``: validate the config, then try each account read-only.

Each account's credentials are looked up (environment or keyring) and its venue is asked for the
balance once (the venue's markets, then its balance read; read-only like everything liqwatch
calls). One line per account on stdout: ``ok`` with the wallet balance, or ``FAILED`` with the
cause in one redacted line (a missing environment variable, a rejected key, the network...).
Exit code 0 when every account answered, 1 when one did not, 2 for a config that does not load.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from liqwatch.cli.common import fail
from liqwatch.numfmt import plain, typed

if TYPE_CHECKING:
    from liqwatch.config import AccountConfig

TIMEOUT = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, dest="check_config", metavar="FILE", help="config file")
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        metavar="S",
        help=f"seconds per account (default {plain(TIMEOUT)})",
    )


async def check_account(account: AccountConfig, timeout: float) -> tuple[bool, str]:
    """Whether the account answered, and its line."""
    import asyncio

    from liqwatch.config import resolve_secrets
    from liqwatch.core.errors import InputError
    from liqwatch.feeds.ccxt_client import FeedError, account_prefix
    from liqwatch.feeds.rest import RestClient

    prefix = account_prefix(account)
    try:
        secrets = resolve_secrets(account)
    except InputError as exc:
        return False, f"{prefix}{exc}"
    client = RestClient(account, secrets)
    client.cache_tiers = False
    try:
        async with asyncio.timeout(timeout):
            balance = await client.fetch_balance()
    except FeedError as exc:
        return False, str(exc)
    except TimeoutError:
        return False, f"{prefix}no answer within {plain(timeout)} s (network, or the venue is slow)"
    finally:
        await client.close()
    return (
        True,
        f"{prefix}read-only access works; wallet balance {plain(balance.wallet_balance, 10)} {balance.currency}",
    )


async def check_all(accounts: list[AccountConfig], timeout: float) -> list[tuple[bool, str]]:
    import asyncio

    return list(await asyncio.gather(*(check_account(a, timeout) for a in accounts)))


def run(args: argparse.Namespace) -> int:
    if args.config_command != "check":
        fail("config: say what to do: `liqwatch config check`")
    import asyncio
    import math

    from liqwatch.config import default_config_path, load_config

    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        fail(f"--timeout: must be > 0, got {typed(args.timeout)}")
    path: Path = args.check_config or args.config or default_config_path()
    warnings: list[str] = []
    config = load_config(path, warn=warnings)
    for text in warnings:  # as `watch`, `alerts test` and the dashboard warn
        sys.stderr.write(f"liqwatch: warning: {text}\n")
    if not config.accounts:
        fail(f"accounts: {path} has no [[accounts]] (write a starter config with `liqwatch init`)")
    out = sys.stdout
    n = len(config.accounts)
    out.write(f"{path}: valid; trying {n} account{'s' if n != 1 else ''} read-only\n")
    out.flush()
    results = asyncio.run(check_all(list(config.accounts), args.timeout))
    for ok, line in results:
        out.write(f"{'ok    ' if ok else 'FAILED'} {line}\n")
    return 0 if all(ok for ok, _ in results) else 1
