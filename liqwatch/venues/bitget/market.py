"""bitget market data (public, no keys): no public insurance fund; mark / index / funding.
See :class:`BitgetMarket`."""

from __future__ import annotations

from typing import Any

from liqwatch.feeds.parse import as_dict, as_list, num
from liqwatch.market.model import SymbolMarket
from liqwatch.market.venue import Problems, VenueMarket, guarded, mark_and_index, market_id, ms

PRODUCT = "USDT-FUTURES"


class BitgetMarket(VenueMarket):
    """Bitget v2 mix, USDT-M.

    insurance: none public (no endpoint in ccxt 4.5.90's v2 mix list nor in the API docs; the
    balance is on a web page only).
    ADL: no public rating.
    marks: ``GET /api/v2/mix/market/tickers?productType=USDT-FUTURES`` ``markPrice``,
    ``indexPrice``, ``fundingRate``; ``GET /api/v2/mix/market/current-fund-rate`` per symbol
    ``fundingRateInterval`` (h) and ``nextUpdate`` (ms).
    """

    name = "bitget"
    no_insurance = "Bitget publishes no insurance fund balance through its API (a web page only)"
    no_adl = "Bitget: no public ADL rating"

    async def symbols(self, ex: Any, symbols: list[str], problems: Problems) -> list[SymbolMarket]:
        response = as_dict(await ex.publicMixGetV2MixMarketTickers({"productType": PRODUCT}))
        rows = {str(as_dict(r).get("symbol")): as_dict(r) for r in as_list(response.get("data"))}
        out: list[SymbolMarket] = []
        for symbol in symbols:
            vid = market_id(ex, symbol)
            row = rows.get(vid)
            if row is None:
                problems.append(f"GET /api/v2/mix/market/tickers: no row for {symbol}")
                continue

            async def funding(v: str = vid) -> dict[str, Any]:
                data = as_list(
                    as_dict(await ex.publicMixGetV2MixMarketCurrentFundRate({"symbol": v, "productType": PRODUCT})).get(
                        "data"
                    )
                )
                return as_dict(data[0]) if data else {}

            fund = await guarded(problems, "GET /api/v2/mix/market/current-fund-rate", funding) or {}
            mark, index = mark_and_index(
                row, "markPrice", "indexPrice", "GET /api/v2/mix/market/tickers", symbol, problems
            )
            hours = num(fund.get("fundingRateInterval"))
            out.append(
                SymbolMarket(
                    symbol=symbol,
                    mark_price=mark,
                    index_price=index,
                    funding_rate=num(fund.get("fundingRate")) if fund else num(row.get("fundingRate")),
                    next_funding_time=ms(fund.get("nextUpdate")),
                    funding_interval_h=hours if hours and hours > 0 else None,
                    source="GET /api/v2/mix/market/tickers, /current-fund-rate",
                    as_of=ms(row.get("ts")),
                )
            )
        return out


MARKET = BitgetMarket()
