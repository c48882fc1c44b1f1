"""`liqwatch watch --demo --demo-positions N --demo-accounts A` (issue #22's desk-sized bench,
`bench/watch_accounts.py`): N synthetic positions spread over A accounts on Binance, Bybit and
Hyperliquid in turn; counts that cannot make a demo are one line naming the flag."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from liqwatch.cli import main
from liqwatch.feeds.demo import DemoMarket, synthetic_accounts
from tests.cli.test_demo_lines_hash import demo_lines


def test_positions_spread_evenly_over_the_accounts_on_three_venues() -> None:
    accounts, symbols = synthetic_accounts(10_000, 500, 7, 50)
    assert len(symbols) == 500 and len(accounts) == 50
    assert [len(a.positions) for a in accounts] == [200] * 50
    assert Counter(a.exchange for a in accounts) == {"binance": 17, "bybit": 17, "hyperliquid": 16}
    for acc in accounts:
        settle = "USDC" if acc.exchange == "hyperliquid" else "USDT"
        assert all(p.symbol.endswith(f"/{settle}:{settle}") for p in acc.positions)
        assert len({p.symbol for p in acc.positions}) == len(acc.positions)  # one-way: one per symbol
    # without --demo-accounts: the synthetic demo of before (500 positions an account, Binance)
    default, _ = synthetic_accounts(2000, 500, 7)
    assert [(a.exchange, len(a.positions)) for a in default] == [("binance", 500)] * 4


def test_every_account_is_watched_with_figures() -> None:
    accounts, symbols = synthetic_accounts(60, 20, 7, 6)
    lines = [orjson.loads(line) for line in demo_lines(DemoMarket(7, accounts, symbols), ticks=3)]
    snapshot = [line for line in lines if line["type"] == "snapshot"][-1]
    assert [(a["account"], a["exchange"], a["status"]) for a in snapshot["accounts"]] == [
        (f"demo-0{i}", venue, "ok")
        for i, venue in zip(range(1, 7), ["binance", "bybit", "hyperliquid"] * 2, strict=True)
    ]
    assert Counter(p["account"] for p in snapshot["positions"]) == {f"demo-0{i}": 10 for i in range(1, 7)}
    assert {line["exchange"] for line in lines if line["type"] == "market"} == {"binance", "bybit", "hyperliquid"}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--demo-accounts", "3"], "--demo-accounts: needs --demo-positions N"),
        (["--demo-positions", "10", "--demo-accounts", "0"], "--demo-accounts: must be between 1 and --demo-positions"),
        (
            ["--demo-positions", "10", "--demo-accounts", "11"],
            "--demo-accounts: must be between 1 and --demo-positions",
        ),
        (["--demo-positions", "-3"], "--demo-positions: must be >= 1, got -3"),
        (["--demo-positions", "10", "--demo-symbols", "0"], "--demo-symbols: must be >= 1, got 0"),
    ],
)
def test_counts_that_cannot_make_a_demo_are_one_line(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["watch", "--demo", "--once", *flags])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"liqwatch: error: {message}") and err.count("\n") == 1
