"""okx: the venue's home (maths in liqwatch/core/venues/okx.py; see liqwatch/venues/_template/README.md)."""

from __future__ import annotations

from liqwatch.core.venues import get_venue
from liqwatch.venues.home import VenueHome
from liqwatch.venues.okx.marks import OkxMarks
from liqwatch.venues.okx.private import OkxPrivate
from liqwatch.venues.okx.rest import OkxRest

HOME = VenueHome(
    name="okx",
    maths=get_venue("okx"),
    rest=OkxRest(),
    marks=OkxMarks,
    private=OkxPrivate(),
    credentials="key_secret_passphrase",
    ws_urls={
        "mainnet": "wss://ws.okx.com:8443/ws/v5/public",
        "testnet": "wss://wspap.okx.com:8443/ws/v5/public",
    },
    symbol_forms={"BTC/USDT:USDT": "BTC-USDT-SWAP"},
)
