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
        # Binance split its USD-M websocket URLs on 2026-03-06 (/public, /market, /private; legacy ones retired
        # 2026-04-23): mark prices live under /market. Testnet keeps the legacy layout. See docs/venues/binance.md.
        "mainnet": "wss://fstream.binance.com/market/ws",
        "testnet": "wss://fstream.binancefuture.com/ws",
    },
    symbol_forms={"BTC/USDT:USDT": "BTCUSDT"},
    aliases=("binanceusdm",),
)
