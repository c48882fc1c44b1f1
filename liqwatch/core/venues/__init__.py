"""Registry of venues. The rest of liqwatch looks venues up here and never branches on names."""

from __future__ import annotations

from liqwatch.core.venues.base import AdlContext, Venue, effective_leverage
from liqwatch.core.venues.binance import Binance
from liqwatch.core.venues.bitget import Bitget
from liqwatch.core.venues.bybit import Bybit
from liqwatch.core.venues.deribit import Deribit
from liqwatch.core.venues.gate import Gate
from liqwatch.core.venues.hyperliquid import Hyperliquid
from liqwatch.core.venues.okx import Okx

VENUES: dict[str, Venue] = {v.name: v for v in (Binance(), Bybit(), Okx(), Bitget(), Gate(), Hyperliquid(), Deribit())}


def get_venue(name: str) -> Venue:
    try:
        return VENUES[name.lower()]
    except KeyError:
        raise KeyError(name) from None


__all__ = ["VENUES", "AdlContext", "Venue", "effective_leverage", "get_venue"]
