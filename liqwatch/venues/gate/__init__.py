"""gate: the venue's home (maths in liqwatch/core/venues/gate.py; see liqwatch/venues/_template/README.md)."""

from __future__ import annotations

from liqwatch.core.venues import get_venue
from liqwatch.venues.gate.marks import GateMarks
from liqwatch.venues.gate.rest import GateRest
from liqwatch.venues.home import VenueHome

HOME = VenueHome(
    name="gate",
    maths=get_venue("gate"),
    rest=GateRest(),
    marks=GateMarks,
    private=None,
    no_private="ccxt.pro position stream not wired for this venue yet; REST reconciliation only",
    credentials="key_secret",
    ws_urls={
        "mainnet": "wss://fx-ws.gateio.ws/v4/ws/usdt",
        "testnet": "wss://fx-ws-testnet.gateio.ws/v4/ws/usdt",
    },
    symbol_forms={"BTC/USDT:USDT": "BTC_USDT"},
    aliases=("gateio",),
)
