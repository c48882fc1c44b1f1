"""binance market data (public, no keys): insurance pools, the ADL risk rating, mark / index /
funding. See :class:`BinanceMarket`."""

from __future__ import annotations

from typing import Any

from liqwatch.feeds.parse import as_dict, as_list, num
from liqwatch.market.model import AdlRisk, InsurancePool, SymbolMarket
from liqwatch.market.venue import Problems, VenueMarket, guarded, mark_and_index, market_id, ms, need, unified

USD_ASSETS = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "USD"})
DEFAULT_FUNDING_H = 8.0
"""``/fapi/v1/fundingInfo`` lists only symbols whose cap, floor or interval was adjusted."""
RATINGS = ("low", "medium", "high")


class BinanceMarket(VenueMarket):
    """Binance USDⓈ-M.

    insurance: ``GET /fapi/v1/insuranceBalance`` (no symbol: an array of pools, each
    ``{"symbols": [...], "assets": [{"asset", "marginBalance", "updateTime"}]}``; with one, a single
    pool). A periodic snapshot with no history: liqwatch records it. Pool name: ``pool <first
    symbol>``; ``balance_usd`` for USD stablecoins only.
    ADL: ``GET /fapi/v1/symbolAdlRisk`` ``adlRisk`` high / medium / low (updated every 30 min).
    marks: ``GET /fapi/v1/premiumIndex`` ``markPrice``, ``indexPrice``, ``lastFundingRate``,
    ``nextFundingTime``; interval ``GET /fapi/v1/fundingInfo`` ``fundingIntervalHours`` (8 h when
    the symbol is not listed).
    """

    name = "binance"
    insurance_endpoint = "GET /fapi/v1/insuranceBalance"
    adl_endpoint = "GET /fapi/v1/symbolAdlRisk"
    adl_interval = 300.0

    async def insurance(self, ex: Any, symbols: list[str], problems: Problems) -> list[InsurancePool]:
        raw = await ex.fapiPublicGetInsuranceBalance()
        pools = [as_dict(p) for p in (raw if isinstance(raw, list) else [raw])]
        wanted = {market_id(ex, s) for s in symbols}
        out: list[InsurancePool] = []
        for i, pool in enumerate(pools):
            members = [str(s) for s in as_list(pool.get("symbols"))]
            if not members:
                problems.append(f"{self.insurance_endpoint}: pool {i} has no 'symbols'")
                continue
            if wanted and not wanted.intersection(members):
                continue
            assets = as_list(pool.get("assets"))
            if not assets:
                problems.append(f"{self.insurance_endpoint}: pool {members[0]} has no 'assets'")
            for item in assets:
                row = as_dict(item)
                asset = str(row.get("asset") or "")
                try:
                    if not asset:
                        raise ValueError(f"pool {members[0]}: field 'asset' missing")
                    balance = need(row, "marginBalance", f"pool {members[0]} {asset}")
                except ValueError as exc:
                    problems.append(f"{self.insurance_endpoint}: {exc}")
                    continue
                out.append(
                    InsurancePool(
                        pool=f"pool {members[0]}",
                        asset=asset,
                        symbols=members,
                        balance=balance,
                        balance_usd=balance if asset in USD_ASSETS else None,
                        source=self.insurance_endpoint,
                        as_of=ms(row.get("updateTime")),
                    )
                )
        return out

    async def adl_risk(self, ex: Any, symbols: list[str], problems: Problems) -> list[AdlRisk]:
        raw = await ex.fapiPublicGetSymbolAdlRisk()
        rows = {str(as_dict(r).get("symbol")): as_dict(r) for r in (raw if isinstance(raw, list) else [raw])}
        out: list[AdlRisk] = []
        for symbol in symbols:
            row = rows.get(market_id(ex, symbol))
            if row is None:
                problems.append(f"{self.adl_endpoint}: no rating for {symbol}")
                continue
            rating = str(row.get("adlRisk", "")).lower()
            if rating not in RATINGS:
                problems.append(f"{self.adl_endpoint}: {symbol}: field 'adlRisk' is {row.get('adlRisk')!r}")
                continue
            out.append(
                AdlRisk(
                    symbol=symbol,
                    level=rating,
                    detail=f"Binance ADL risk rating {rating} (updated every 30 min)",
                    source=self.adl_endpoint,
                    as_of=ms(row.get("updateTime")),
                )
            )
        return out

    async def symbols(self, ex: Any, symbols: list[str], problems: Problems) -> list[SymbolMarket]:
        raw = await ex.fapiPublicGetPremiumIndex()
        rows = {str(as_dict(r).get("symbol")): as_dict(r) for r in (raw if isinstance(raw, list) else [raw])}

        async def intervals() -> dict[str, float]:
            info = await ex.fapiPublicGetFundingInfo()
            found: dict[str, float] = {}
            for r in as_list(info):
                hours = num(as_dict(r).get("fundingIntervalHours"))
                if hours is not None and hours > 0:
                    found[str(as_dict(r).get("symbol"))] = hours
            return found

        hours = await guarded(problems, "GET /fapi/v1/fundingInfo", intervals)
        out: list[SymbolMarket] = []
        for symbol in symbols:
            vid = market_id(ex, symbol)
            row = rows.get(vid)
            if row is None:
                problems.append(f"GET /fapi/v1/premiumIndex: no row for {symbol}")
                continue
            mark, index = mark_and_index(row, "markPrice", "indexPrice", "GET /fapi/v1/premiumIndex", symbol, problems)
            out.append(
                SymbolMarket(
                    symbol=unified(ex, vid) if symbol == vid else symbol,
                    mark_price=mark,
                    index_price=index,
                    funding_rate=num(row.get("lastFundingRate")),
                    next_funding_time=ms(row.get("nextFundingTime")),
                    funding_interval_h=None if hours is None else hours.get(vid, DEFAULT_FUNDING_H),
                    source="GET /fapi/v1/premiumIndex",
                    as_of=ms(row.get("time")),
                )
            )
        return out


MARKET = BinanceMarket()
