"""bitget: the venue's home (maths in liqwatch/core/venues/bitget.py; see liqwatch/venues/_template/README.md)."""

from __future__ import annotations

from liqwatch.core.venues import get_venue
from liqwatch.venues.bitget.marks import BitgetMarks
from liqwatch.venues.bitget.rest import BitgetRest
from liqwatch.venues.home import VenueHome

HOME = VenueHome(
    name="bitget",
    maths=get_venue("bitget"),
    rest=BitgetRest(),
    marks=BitgetMarks,
    private=None,
    no_private="ccxt.pro position stream not wired for this venue yet; REST reconciliation only",
    credentials="key_secret_passphrase",
    ws_urls={
        "mainnet": "wss://ws.bitget.com/v2/ws/public",
        "testnet": "wss://wspap.bitget.com/v2/ws/public",
    },
    symbol_forms={"BTC/USDT:USDT": "BTCUSDT"},
)
