"""binance: the venue's home (maths in liqwatch/core/venues/binance.py; see liqwatch/venues/_template/README.md)."""

from __future__ import annotations

from liqwatch.core.venues import get_venue
from liqwatch.venues.binance.marks import BinanceMarks
from liqwatch.venues.binance.private import BinancePrivate
from liqwatch.venues.binance.rest import BinanceRest
from liqwatch.venues.home import VenueHome

HOME = VenueHome(
    name="binance",
    maths=get_venue("binance"),
    rest=BinanceRest(),
    marks=BinanceMarks,
    private=BinancePrivate(),
    credentials="key_secret",
    ws_urls={
        # 2026 URL split: mark prices live under /market (ecosystem 1.6); testnet keeps the legacy layout.
        "mainnet": "wss://fstream.binance.com/market/ws",
        "testnet": "wss://fstream.binancefuture.com/ws",
    },
    symbol_forms={"BTC/USDT:USDT": "BTCUSDT"},
    aliases=("binanceusdm",),
)
