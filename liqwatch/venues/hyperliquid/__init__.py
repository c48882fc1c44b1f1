"""hyperliquid: the venue's home (maths: liqwatch/core/venues/hyperliquid.py; guide: liqwatch/venues/_template)."""

from __future__ import annotations

from liqwatch.core.venues import get_venue
from liqwatch.venues.home import VenueHome
from liqwatch.venues.hyperliquid.marks import HyperliquidMarks
from liqwatch.venues.hyperliquid.private import HyperliquidPrivate
from liqwatch.venues.hyperliquid.rest import HyperliquidRest

HOME = VenueHome(
    name="hyperliquid",
    maths=get_venue("hyperliquid"),
    rest=HyperliquidRest(),
    marks=HyperliquidMarks,
    private=HyperliquidPrivate(),
    credentials="wallet",
    ws_urls={
        "mainnet": "wss://api.hyperliquid.xyz/ws",
        "testnet": "wss://api.hyperliquid-testnet.xyz/ws",
    },
    symbol_forms={"BTC/USDC:USDC": "BTC", "XYZ-XYZ100/USDC:USDC": "xyz:XYZ100"},
)
