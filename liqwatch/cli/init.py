"""``liqwatch init``: write a starter config with one account per venue the user names.

Keys are never written: each account names the environment variables its read-only key comes
from (``BINANCE_KEY``, ``BINANCE_SECRET``, ``OKX_PASSPHRASE``, ... as in the README), or with
``--keyring`` an OS keyring entry (service ``liqwatch/<account>``). Hyperliquid is read by wallet
address (``--wallet``). The file is created with mode 600 and never overwritten without
``--force``; the text is validated with the config model before it is written.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from liqwatch.cli.common import fail

WALLET = re.compile(r"^0x[0-9a-fA-F]{40}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("venues", nargs="*", metavar="VENUE", help="a venue to add an account for (repeatable)")
    parser.add_argument(
        "--exchange", action="append", default=[], metavar="VENUE", help="the same, as a flag (repeatable)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        dest="init_config",
        metavar="FILE",
        help="where to write (default: the platform config dir, or $LIQWATCH_CONFIG_DIR)",
    )
    parser.add_argument(
        "--keyring",
        action="store_true",
        help="keys from the OS keyring (service liqwatch/<account>) instead of environment variables",
    )
    parser.add_argument("--wallet", metavar="0x…", help="the Hyperliquid wallet address to monitor (no key)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")


def _venues(args: argparse.Namespace) -> list[str]:
    from liqwatch.venues import find_home, names

    known = ", ".join(names())
    asked = [*args.venues, *args.exchange]
    if not asked:
        fail(f"exchange: name the venues to watch, e.g. `liqwatch init {' '.join(names()[:2])}` ({known})")
    out: list[str] = []
    for name in asked:
        home = find_home(name)
        if home is None:
            fail(f"exchange: unknown venue {name!r} ({known})")
        if home.name in out:
            fail(f"exchange: {home.name} named twice (one account per venue; add more [[accounts]] by hand)")
        out.append(home.name)
    return out


def _account(venue: str, args: argparse.Namespace) -> tuple[list[str], str]:
    """The ``[[accounts]]`` entry's lines, and what the user still has to do for it."""
    from liqwatch.venues import get_home

    credentials = get_home(venue).credentials
    lines = ["[[accounts]]", f'name = "{venue}"', f'exchange = "{venue}"']
    if credentials == "wallet":
        lines.append(f'wallet = "{args.wallet}"  # monitored by address: no key')
        return lines, f"{venue}: monitored by wallet {args.wallet}, no key"
    passphrase = credentials == "key_secret_passphrase"
    if args.keyring:
        users = "api_key, api_secret" + (", passphrase" if passphrase else "")
        lines.append(f'keyring = "liqwatch/{venue}"      # OS keyring service; users {users}')
        store = " ".join(f"`keyring set liqwatch/{venue} {u.strip()}`" for u in users.split(","))
        return lines, f"{venue}: store its read-only key: {store}"
    prefix = venue.upper()
    names = [f"{prefix}_KEY", f"{prefix}_SECRET"] + ([f"{prefix}_PASSPHRASE"] if passphrase else [])
    lines += [f'api_key_env = "{names[0]}"', f'api_secret_env = "{names[1]}"']
    if passphrase:
        lines.append(f'passphrase_env = "{names[2]}"')
    return lines, f"{venue}: set " + ", ".join(names) + " (a read-only API key)"


def render(venues: list[str], args: argparse.Namespace) -> tuple[str, list[str]]:
    """The config text, and one to-do line per account."""
    parts = [
        "# liqwatch config, written by `liqwatch init`; check it with `liqwatch config check`.",
        "# Use read-only API keys. No secret goes in this file: each account names the environment",
        "# variables (or the OS keyring entry) its key is read from. Keep the file private (chmod 600).",
        "",
    ]
    todo: list[str] = []
    for venue in venues:
        lines, step = _account(venue, args)
        parts += [*lines, ""]
        todo.append(step)
    parts += [
        "# Alerts show on the dashboard and in `liqwatch watch`; to send them elsewhere too (README: Alerts):",
        "# [[channels]]",
        '# type = "ntfy"                  # webhook, slack, discord, ntfy, telegram, apprise, command, desktop',
        '# url_env = "LIQWATCH_NTFY_URL"  # the URL (and its token) from the environment',
    ]
    return "\n".join(parts) + "\n", todo


def _write(path: Path, text: str, force: bool) -> None:
    """``text`` at ``path`` with mode 600: a new file, or (``force``) an atomic replacement."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not force:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            target = None
        else:
            target = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if target is not None:
            os.replace(target, path)
    except FileExistsError:
        fail(f"--config: {path} already exists; pass --force to overwrite it, or --config FILE to write elsewhere")
    except OSError as exc:
        fail(f"--config: cannot write {path}: {exc.strerror or exc}")


def run(args: argparse.Namespace) -> int:
    import tomllib

    from liqwatch.config import Config, default_config_path
    from liqwatch.venues import HOMES

    venues = _venues(args)
    by_wallet = [v for v in venues if HOMES[v].credentials == "wallet"]
    if by_wallet:
        if not args.wallet:
            fail(f"--wallet: {by_wallet[0]} accounts are monitored by wallet address: pass --wallet 0x…")
        if not WALLET.match(args.wallet):
            fail(f"--wallet: not a wallet address (0x and 40 hex digits): {args.wallet!r}")
    elif args.wallet:
        wallet_venues = " and ".join(v for v, h in HOMES.items() if h.credentials == "wallet")
        fail(f"--wallet: only {wallet_venues} accounts take a wallet address")
    text, todo = render(venues, args)
    Config.model_validate(tomllib.loads(text))  # what is written loads (a bug here is not the user's)
    path: Path = args.init_config or args.config or default_config_path()
    _write(path, text, args.force)
    out = sys.stdout
    out.write(f"wrote {path} (mode 600): {len(venues)} account{'s' if len(venues) != 1 else ''}\n")
    for step in todo:
        out.write(f"  {step}\n")
    check = "liqwatch config check" + (f" --config {path}" if path != default_config_path() else "")
    out.write(f"then: {check}\n")
    return 0
