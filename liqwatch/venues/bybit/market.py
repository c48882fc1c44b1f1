"""bybit market data (public, no keys): insurance pools (isolated vs shared), the ADL alert
(pnlRatio against its trigger), mark / index / funding. See :class:`BybitMarket`."""

from __future__ import annotations

from typing import Any

from liqwatch.feeds.parse import as_dict, as_list, num
from liqwatch.market.compute import drawdown_adl_level
from liqwatch.market.model import AdlRisk, InsurancePool, SymbolMarket
from liqwatch.market.venue import Problems, VenueMarket, mark_and_index, market_id, ms, need, unified
from liqwatch.numfmt import plain

USD_COINS = frozenset({"USDT", "USDC"})


class BybitMarket(VenueMarket):
    """Bybit v5 linear.

    insurance: ``GET /v5/market/insurance`` ``{"updatedTime", "list": [{"coin", "symbols",
    "balance", "value"}]}``; ``symbols`` comma-joined = a shared pool (updated every 24 h), one
    symbol = an isolated pool (each minute); ``value`` is USD. Pool name ``<coin> isolated
    <symbol>`` / ``<coin> shared <first symbol>``.
    ADL: ``GET /v5/market/adlAlert`` per symbol ``balance``, ``insurancePnlRatio`` (trigger, e.g.
    -0.30), ``pnlRatio``, ``adlTriggerThreshold``, ``adlStopRatio``: active while balance <= 0, or
    balance > threshold and pnlRatio < insurancePnlRatio; ``near`` within 0.05 of the trigger.
    marks: ``GET /v5/market/tickers?category=linear`` ``markPrice``, ``indexPrice``,
    ``fundingRate``, ``nextFundingTime``; interval: the instrument's ``fundingInterval`` (minutes).
    """

    name = "bybit"
    insurance_endpoint = "GET /v5/market/insurance"
    adl_endpoint = "GET /v5/market/adlAlert"

    async def insurance(self, ex: Any, symbols: list[str], problems: Problems) -> list[InsurancePool]:
        result = as_dict(as_dict(await ex.publicGetV5MarketInsurance()).get("result"))
        as_of = ms(result.get("updatedTime"))
        wanted = {market_id(ex, s) for s in symbols}
        out: list[InsurancePool] = []
        rows = as_list(result.get("list"))
        if "list" not in result:
            problems.append(f"{self.insurance_endpoint}: field 'result.list' missing")
        for item in rows:
            row = as_dict(item)
            coin = str(row.get("coin") or "")
            members = [s for s in str(row.get("symbols") or "").split(",") if s]
            if wanted and members and not wanted.intersection(members):
                continue
            try:
                if not coin:
                    raise ValueError("field 'coin' missing")
                balance = need(row, "balance", f"{coin} pool")
            except ValueError as exc:
                problems.append(f"{self.insurance_endpoint}: {exc}")
                continue
            shared = len(members) > 1 if members else None
            pool = coin if not members else f"{coin} {'shared' if shared else 'isolated'} {members[0]}"
            value = num(row.get("value"))
            out.append(
                InsurancePool(
                    pool=pool,
                    asset=coin,
                    symbols=members,
                    balance=balance,
                    balance_usd=value if value is not None else (balance if coin in USD_COINS else None),
                    shared=shared,
                    source=self.insurance_endpoint + (" (shared pool: updated every 24 h)" if shared else ""),
                    as_of=as_of,
                )
            )
        return out

    async def adl_risk(self, ex: Any, symbols: list[str], problems: Problems) -> list[AdlRisk]:
        result = as_dict(as_dict(await ex.publicGetV5MarketAdlAlert()).get("result"))
        as_of = ms(result.get("updatedTime") or result.get("updateTime"))
        rows = {str(as_dict(r).get("symbol")): as_dict(r) for r in as_list(result.get("list"))}
        out: list[AdlRisk] = []
        for symbol in symbols:
            row = rows.get(market_id(ex, symbol))
            if row is None:
                problems.append(f"{self.adl_endpoint}: no row for {symbol}")
                continue
            balance = num(row.get("balance"))
            ratio, trigger = num(row.get("pnlRatio")), num(row.get("insurancePnlRatio"))
            stop, threshold = num(row.get("adlStopRatio")), num(row.get("adlTriggerThreshold"))
            missing = [
                f for f, v in (("balance", balance), ("pnlRatio", ratio), ("insurancePnlRatio", trigger)) if v is None
            ]
            if missing:
                problems.append(f"{self.adl_endpoint}: {symbol}: field {missing[0]!r} missing or not a number")
                if balance is None or balance > 0:
                    continue  # balance <= 0 alone still says ADL is active
            level, why = drawdown_adl_level(balance, ratio, trigger, threshold)
            stop_text = f", stop {plain(stop, 4)}" if stop is not None else ""
            shown = "?" if balance is None else f"{balance:,.2f}"
            out.append(
                AdlRisk(
                    symbol=symbol,
                    level=level,
                    detail=f"{why}{stop_text}; pool {row.get('coin', '?')} balance {shown}",
                    source=self.adl_endpoint,
                    as_of=ms(row.get("updatedTime")) or as_of,
                    pnl_ratio=ratio,
                    trigger_ratio=trigger,
                    stop_ratio=stop,
                )
            )
        return out

    async def symbols(self, ex: Any, symbols: list[str], problems: Problems) -> list[SymbolMarket]:
        params: dict[str, str] = {"category": "linear"}
        if len(symbols) == 1:
            params["symbol"] = market_id(ex, symbols[0])
        response = as_dict(await ex.publicGetV5MarketTickers(params))
        result = as_dict(response.get("result"))
        rows = {str(as_dict(r).get("symbol")): as_dict(r) for r in as_list(result.get("list"))}
        out: list[SymbolMarket] = []
        for symbol in symbols:
            vid = market_id(ex, symbol)
            row = rows.get(vid)
            if row is None:
                problems.append(f"GET /v5/market/tickers: no row for {symbol}")
                continue
            mark, index = mark_and_index(row, "markPrice", "indexPrice", "GET /v5/market/tickers", symbol, problems)
            minutes = num(as_dict(as_dict(ex.markets.get(symbol)).get("info")).get("fundingInterval"))
            out.append(
                SymbolMarket(
                    symbol=unified(ex, vid) if symbol == vid else symbol,
                    mark_price=mark,
                    index_price=index,
                    funding_rate=num(row.get("fundingRate")),
                    next_funding_time=ms(row.get("nextFundingTime")),
                    funding_interval_h=minutes / 60.0 if minutes else None,
                    source="GET /v5/market/tickers",
                    as_of=ms(response.get("time")),
                )
            )
        return out


MARKET = BybitMarket()
