"""``records.settle_currency``: a symbol without a ``:SETTLE`` part settles in the venue's
currency (it took the whole symbol, ``XRPUSDT``, as the currency)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from liqwatch.core import PositionSpec, flat_table, get_venue
from liqwatch.records import settle_currency


def spec(symbol: str, **kw: object) -> PositionSpec:
    base = PositionSpec(symbol, "long", 1.0, 100.0, 100.0, flat_table(0.005, 0.0, 100.0))
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("venue", "symbol", "expected"),
    [
        ("binance", "XRPUSDT", "USDT"),
        ("hyperliquid", "BTC", "USDC"),
        ("binance", "XRP/USDT", "USDT"),
        ("binance", "XRP/USDT:", "USDT"),
        ("binance", "XRP/USDT:USDT", "USDT"),
        ("hyperliquid", "BTC/USDC:USDC", "USDC"),
        ("binance", "BTC/USDT:USDC", "USDC"),  # the symbol's own settle part wins
    ],
)
def test_settle_currency_of_a_linear_symbol(venue: str, symbol: str, expected: str) -> None:
    assert settle_currency(spec(symbol), get_venue(venue)) == expected


def test_coin_margined_and_given_settle() -> None:
    binance = get_venue("binance")
    assert settle_currency(spec("BTC/USD:BTC", inverse=True), binance) == "BTC"
    assert settle_currency(spec("ETH/USD", inverse=True), binance) == "ETH"  # its coin, not the venue's USDT
    assert settle_currency(spec("XRPUSDT", settle="USDC"), binance) == "USDC"
