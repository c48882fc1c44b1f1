"""A venue that cannot be read (issue #20, point 12): one line that says what failed, why and what
to do, from one classifier (liqwatch.feeds.ccxt_client.classify / explain) for `tiers update`,
`market` and calc's fetch; a refused connection fails at once instead of retrying for seconds."""

from __future__ import annotations

import asyncio
import socket

import pytest

from liqwatch.cli import main
from liqwatch.feeds.ccxt_client import classify, explain
from liqwatch.tiers_update import Retry, VenueResult, download_venue
from tests.fakes.ports import refused_port
from tests.fakes.rest_server import FakeRestServer

OFFLINE = "check the network, or work offline with the bundled tables"


class _Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def _download(venue: str, url: str, sleeps: _Sleeps, attempts: int = 3) -> VenueResult:
    return asyncio.run(
        download_venue(venue, symbols=["BTC/USDT:USDT"], rest_url=url, retry=Retry(attempts=attempts, sleep=sleeps))
    )


def test_dns_failure_is_named_and_not_retried() -> None:
    import ccxt

    error = ccxt.ExchangeNotAvailable("bybit GET https://api.bybit.com/v5/market/instruments-info?category=linear")
    error.__cause__ = socket.gaierror(-3, "Temporary failure in name resolution")
    failure = classify(error)
    assert (failure.kind, failure.host, failure.transient) == ("dns", "api.bybit.com", False)
    assert explain("bybit", error) == f"bybit: cannot reach api.bybit.com (DNS lookup failed): {OFFLINE}"


def test_a_refused_connection_fails_at_once_with_one_line() -> None:
    sleeps = _Sleeps()
    with refused_port() as port:
        result = _download("bybit", f"http://127.0.0.1:{port}", sleeps)
    assert sleeps.delays == [] and result.retries == 0  # no backoff on a network that is plainly down
    assert result.failed_entirely
    assert result.summary() == f"bybit: cannot reach 127.0.0.1:{port} (connection refused): {OFFLINE}"
    assert "ExchangeNotAvailable" not in result.summary() and "loading markets" not in result.summary()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            "auth",
            "refused the request (authentication failed): check the API key, secret and IP whitelist, or the REST URL",
        ),
        ("http_429", "is rate-limiting requests (HTTP 429): wait a minute and try again"),
        ("rate_limit", "is rate-limiting requests (rate limit): wait a minute and try again"),
        ("server_error", "is failing (HTTP 502): the venue may be down or in maintenance; try again later"),
        ("maintenance", "is failing (unavailable): the venue may be down or in maintenance; try again later"),
    ],
)
def test_http_statuses_say_why_and_what_to_do(kind: str, expected: str) -> None:
    sleeps = _Sleeps()

    async def main_() -> tuple[VenueResult, str]:
        async with FakeRestServer("gate") as fake:
            fake.fail_next(kind, 6)  # every attempt to load the markets (with and without coin-margined)
            result = await download_venue(
                "gate", symbols=["BTC/USDT:USDT"], rest_url=fake.url, retry=Retry(attempts=3, sleep=sleeps)
            )
            return result, fake.url

    result, url = asyncio.run(main_())
    host = url.removeprefix("http://")
    assert result.summary() == f"gate: {host} {expected}"
    # transient failures (429, 5xx) are retried briefly; an auth failure is not
    assert len(sleeps.delays) == (0 if kind == "auth" else 4)


def test_tiers_update_cli_prints_the_reason_once(capsys: pytest.CaptureFixture[str]) -> None:
    with refused_port() as port:
        code = main(
            [
                "tiers",
                "update",
                "--exchange",
                "bybit",
                "--symbol",
                "SOL/USDT:USDT",
                "--rest-url",
                f"http://127.0.0.1:{port}",
            ]
        )
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"bybit: cannot reach 127.0.0.1:{port} (connection refused): {OFFLINE}"
    assert sum("connection refused" in line for line in err) == 1
    assert err[1:] == ["liqwatch: error: tiers update failed for bybit; their caches were left as they were"]


def _market(*args: str) -> tuple[int, str, str]:
    import argparse
    import io

    from liqwatch.cli import market as market_cli

    parser = argparse.ArgumentParser()
    market_cli.add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = market_cli.run(parser.parse_args([*args, "--no-history"]), out, err)
    return code, out.getvalue(), err.getvalue()


def test_market_names_no_internal_path_and_no_doubled_line() -> None:
    with refused_port() as port:
        code, out, err = _market("--exchange", "okx", "--rest-url", f"http://127.0.0.1:{port}")
    assert code == 1
    assert out == ""  # the problem is said once, on stderr
    assert err.count("connection refused") == 1 and len(err.splitlines()) == 1
    code, out, err = _market("--exchange", "deribit")
    assert "market.py" not in err and "liqwatch/" not in err
    assert err == "liqwatch market: warning: deribit: liqwatch does not read this venue's market data yet; skipped\n"


def test_venues_unreachable_for_one_reason_are_said_once() -> None:
    from liqwatch.feeds.ccxt_client import merge_unreachable

    lines = [
        "binance: brackets are private and no binance account with keys is configured; kept the bundled set",
        f"bybit: cannot reach api.bybit.com (DNS lookup failed): {OFFLINE}",
        f"okx: cannot reach www.okx.com (DNS lookup failed): {OFFLINE}",
        f"gate: cannot reach 127.0.0.1:9 (connection refused): {OFFLINE}",
        f"hyperliquid: cannot reach api.hyperliquid.xyz (DNS lookup failed): {OFFLINE}",
    ]
    assert merge_unreachable(lines) == [
        lines[0],
        f"bybit, okx, hyperliquid: cannot reach any of them (DNS lookup failed): {OFFLINE}",
        lines[3],  # another reason stays its own line
    ]
    assert merge_unreachable(lines[:2]) == lines[:2]
