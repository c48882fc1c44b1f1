"""gate market data (public, no keys): the futures insurance fund history per settle currency,
mark / index / funding. See :class:`GateMarket`."""

from __future__ import annotations

from typing import Any

from liqwatch.feeds.parse import as_dict, as_list, num
from liqwatch.market.model import InsurancePool, SymbolMarket
from liqwatch.market.venue import HistoryRow, Problems, VenueMarket, mark_and_index, market_id, need

SETTLE = "usdt"
HISTORY_LIMIT = 100


class GateMarket(VenueMarket):
    """Gate v4 USDT perpetuals.

    insurance: ``GET /futures/usdt/insurance?limit=`` an array of ``{"t": <unix s>, "b":
    "<balance>"}`` (a daily history; the newest is the balance, every row a backfill point). One
    pool per settle currency (``USDT``). Field names as Gate's SDK model ``InsuranceRecord``.
    ADL: not read (Gate publishes a per-position ``adl_ranking`` only to the account).
    marks: ``GET /futures/usdt/tickers`` ``mark_price``, ``index_price``, ``funding_rate``; the
    contract's ``funding_interval`` (s) and ``funding_next_apply`` (unix s).
    """

    name = "gate"
    insurance_endpoint = "GET /futures/usdt/insurance"
    no_adl = "Gate: no public ADL signal (its ADL ranking is per position, in the private API)"
    backfill = True
    insurance_interval = 3600.0

    async def _rows(self, ex: Any, problems: Problems) -> list[tuple[float, float]]:
        raw = await ex.publicFuturesGetSettleInsurance({"settle": SETTLE, "limit": HISTORY_LIMIT})
        if not isinstance(raw, list):
            raise ValueError("expected an array of {t, b}")
        rows: list[tuple[float, float]] = []
        for i, item in enumerate(raw):
            row = as_dict(item)
            try:
                rows.append((need(row, "t", f"row {i}"), need(row, "b", f"row {i}")))
            except ValueError as exc:
                problems.append(f"{self.insurance_endpoint}: {exc}")
        rows.sort()
        return rows

    async def insurance(self, ex: Any, symbols: list[str], problems: Problems) -> list[InsurancePool]:
        rows = await self._rows(ex, problems)
        if not rows:
            problems.append(f"{self.insurance_endpoint}: no usable row")
            return []
        ts, balance = rows[-1]
        return [
            InsurancePool(
                pool="USDT futures",
                asset="USDT",
                symbols=[],
                balance=balance,
                balance_usd=balance,
                source=self.insurance_endpoint + " (daily history; newest row)",
                as_of=ts,
            )
        ]

    async def insurance_history(self, ex: Any, symbols: list[str], problems: Problems) -> list[HistoryRow]:
        return [("USDT futures", "USDT", ts, balance) for ts, balance in await self._rows(ex, problems)]

    async def symbols(self, ex: Any, symbols: list[str], problems: Problems) -> list[SymbolMarket]:
        raw = await ex.publicFuturesGetSettleTickers({"settle": SETTLE})
        rows = {str(as_dict(r).get("contract")): as_dict(r) for r in as_list(raw)}
        out: list[SymbolMarket] = []
        for symbol in symbols:
            row = rows.get(market_id(ex, symbol))
            if row is None:
                problems.append(f"GET /futures/usdt/tickers: no row for {symbol}")
                continue
            mark, index = mark_and_index(
                row, "mark_price", "index_price", "GET /futures/usdt/tickers", symbol, problems
            )
            info = as_dict(as_dict(ex.markets.get(symbol)).get("info"))
            seconds = num(info.get("funding_interval"))
            nxt = num(info.get("funding_next_apply"))
            out.append(
                SymbolMarket(
                    symbol=symbol,
                    mark_price=mark,
                    index_price=index,
                    funding_rate=num(row.get("funding_rate")),
                    next_funding_time=nxt if nxt and nxt > 0 else None,
                    funding_interval_h=seconds / 3600.0 if seconds else None,
                    source="GET /futures/usdt/tickers; contract funding_interval, funding_next_apply",
                )
            )
        return out


MARKET = GateMarket()
