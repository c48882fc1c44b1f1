"""bybit: the venue's home (maths in liqwatch/core/venues/bybit.py; see liqwatch/venues/_template/README.md)."""

from __future__ import annotations

from liqwatch.core.venues import get_venue
from liqwatch.venues.bybit.marks import BybitMarks
from liqwatch.venues.bybit.private import BybitPrivate
from liqwatch.venues.bybit.rest import BybitRest
from liqwatch.venues.home import VenueHome

HOME = VenueHome(
    name="bybit",
    maths=get_venue("bybit"),
    rest=BybitRest(),
    marks=BybitMarks,
    private=BybitPrivate(),
    credentials="key_secret",
    ws_urls={
        "mainnet": "wss://stream.bybit.com/v5/public/linear",
        "testnet": "wss://stream-testnet.bybit.com/v5/public/linear",
    },
    symbol_forms={"BTC/USDT:USDT": "BTCUSDT"},
)
