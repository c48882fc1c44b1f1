"""deribit: the venue's home (maths in liqwatch/core/venues/deribit.py; see liqwatch/venues/_template/README.md)."""

from __future__ import annotations

from liqwatch.core.venues import get_venue
from liqwatch.venues.deribit.marks import DeribitMarks
from liqwatch.venues.deribit.rest import DeribitRest
from liqwatch.venues.home import VenueHome

HOME = VenueHome(
    name="deribit",
    maths=get_venue("deribit"),
    rest=DeribitRest(),
    marks=DeribitMarks,
    private=None,
    no_private="ccxt.pro position stream not wired for this venue yet; REST reconciliation only",
    credentials="key_secret",  # Deribit's client_id / client_secret
    ws_urls={
        "mainnet": "wss://www.deribit.com/ws/api/v2",
        "testnet": "wss://test.deribit.com/ws/api/v2",
    },
    symbol_forms={"BTC/USDC:USDC": "BTC_USDC-PERPETUAL", "BTC/USD:BTC": "BTC-PERPETUAL"},
)
