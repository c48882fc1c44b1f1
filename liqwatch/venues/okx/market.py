"""okx market data (public, no keys): the insurance fund per instrument family (with its own
8-hour maximum and ADL state), mark / index / funding. See :class:`OkxMarket`."""

from __future__ import annotations

from typing import Any

from liqwatch.feeds.parse import as_dict, as_list, num
from liqwatch.market.compute import drawdown
from liqwatch.market.model import AdlRisk, InsurancePool, SymbolMarket
from liqwatch.market.venue import HistoryRow, Problems, VenueMarket, guarded, market_id, ms, need

ADL_TYPES = {
    "rate_adl_start": ("active", "ADL started: the fund's decline rate is too high"),
    "bal_adl_start": ("active", "ADL started: the fund's balance fell"),
    "pos_adl_start": ("active", "ADL started (pre-market position)"),
    "adl_end": ("ended", "ADL ended"),
    "": ("none", "no ADL event"),
}


def family(ex: Any, symbol: str) -> str:
    info = as_dict(as_dict(ex.markets.get(symbol)).get("info"))
    return str(info.get("instFamily") or info.get("uly") or market_id(ex, symbol).removesuffix("-SWAP"))


class OkxMarket(VenueMarket):
    """OKX v5 SWAP.

    insurance: ``GET /api/v5/public/insurance-fund?instType=SWAP&instFamily=<family>`` ``data:
    [{"total" (USD), "instFamily", "details": [{"balance", "amt", "ccy", "type", "maxBal"
    (8-hour max), "maxBalTs", "adlType", "ts"}]}]``: the newest detail is the balance; every detail
    is a history point (backfill). ``drawdown_8h`` prefers ``maxBal`` (the venue's own max).
    ADL: that newest detail's ``adlType``: ``rate_adl_start`` / ``bal_adl_start`` /
    ``pos_adl_start`` = active, ``adl_end`` = ended, "" = none.
    marks: ``GET /api/v5/public/mark-price`` ``markPx``, ``GET /api/v5/market/index-tickers``
    ``idxPx`` (index = the family), ``GET /api/v5/public/funding-rate`` ``fundingRate``,
    ``nextFundingTime``... (interval = ``nextFundingTime - fundingTime``).
    """

    name = "okx"
    insurance_endpoint = "GET /api/v5/public/insurance-fund"
    adl_endpoint = "GET /api/v5/public/insurance-fund (adlType)"
    backfill = True

    async def _fund(self, ex: Any, fam: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        response = as_dict(
            await ex.publicGetPublicInsuranceFund({"instType": "SWAP", "instFamily": fam, "limit": "100"})
        )
        data = [as_dict(d) for d in as_list(response.get("data"))]
        if not data:
            raise ValueError(f"{fam}: field 'data' empty")
        head = data[0]
        details = [as_dict(d) for d in as_list(head.get("details"))]
        details.sort(key=lambda d: num(d.get("ts")) or 0.0, reverse=True)
        return head, details

    async def _fund_or_none(
        self, ex: Any, fam: str, problems: Problems, what: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        found = await guarded(problems, what, lambda: self._fund(ex, fam))
        return found if found is not None else ({}, [])

    def _families(self, ex: Any, symbols: list[str]) -> list[str]:
        return list(dict.fromkeys(family(ex, s) for s in symbols))

    async def insurance(self, ex: Any, symbols: list[str], problems: Problems) -> list[InsurancePool]:
        out: list[InsurancePool] = []
        for fam in self._families(ex, symbols):
            head, details = await self._fund_or_none(ex, fam, problems, self.insurance_endpoint)
            if not head:
                continue
            if not details:
                problems.append(f"{self.insurance_endpoint}: {fam}: field 'details' empty")
                continue
            newest = details[0]
            ccy = str(newest.get("ccy") or "")
            try:
                if not ccy:
                    raise ValueError(f"{fam}: field 'ccy' missing")
                balance = need(newest, "balance", fam)
            except ValueError as exc:
                problems.append(f"{self.insurance_endpoint}: {exc}")
                continue
            peak = num(newest.get("maxBal"))
            out.append(
                InsurancePool(
                    pool=fam,
                    asset=ccy,
                    symbols=[market_id(ex, s) for s in symbols if family(ex, s) == fam],
                    balance=balance,
                    balance_usd=num(head.get("total")),
                    max_8h=peak,
                    drawdown_8h=drawdown(balance, peak),
                    source=self.insurance_endpoint,
                    as_of=ms(newest.get("ts")),
                )
            )
        return out

    async def insurance_history(self, ex: Any, symbols: list[str], problems: Problems) -> list[HistoryRow]:
        rows: list[HistoryRow] = []
        for fam in self._families(ex, symbols):
            _, details = await self._fund_or_none(ex, fam, problems, self.insurance_endpoint)
            for d in details:
                ts, balance, ccy = ms(d.get("ts")), num(d.get("balance")), d.get("ccy")
                if ts is not None and balance is not None and isinstance(ccy, str) and ccy:
                    rows.append((fam, ccy, ts, balance))
        return rows

    async def adl_risk(self, ex: Any, symbols: list[str], problems: Problems) -> list[AdlRisk]:
        out: list[AdlRisk] = []
        for fam in self._families(ex, symbols):
            _, details = await self._fund_or_none(ex, fam, problems, self.adl_endpoint)
            if not details:
                continue
            newest = details[0]
            adl_type = str(newest.get("adlType") or "")
            known = ADL_TYPES.get(adl_type)
            if known is None:
                problems.append(f"{self.adl_endpoint}: {fam}: unknown adlType {adl_type!r}")
                continue
            level, why = known
            for symbol in symbols:
                if family(ex, symbol) == fam:
                    out.append(
                        AdlRisk(
                            symbol=symbol,
                            level=level,
                            detail=f"{fam} fund adlType {adl_type or '(none)'}: {why}",
                            source=self.adl_endpoint,
                            as_of=ms(newest.get("ts")),
                        )
                    )
        return out

    @staticmethod
    async def _first(call: Any, params: dict[str, str], symbol: str, problems: Problems, what: str) -> dict[str, Any]:
        async def one() -> dict[str, Any]:
            rows = as_list(as_dict(await call(params)).get("data"))
            if not rows:
                raise ValueError(f"no row for {symbol}")
            return as_dict(rows[0])

        return await guarded(problems, what, one) or {}

    async def symbols(self, ex: Any, symbols: list[str], problems: Problems) -> list[SymbolMarket]:
        out: list[SymbolMarket] = []
        for symbol in symbols:
            inst, fam = market_id(ex, symbol), family(ex, symbol)

            mark_row = await self._first(
                ex.publicGetPublicMarkPrice,
                {"instType": "SWAP", "instId": inst},
                symbol,
                problems,
                "GET /api/v5/public/mark-price",
            )
            index_row = await self._first(
                ex.publicGetMarketIndexTickers, {"instId": fam}, symbol, problems, "GET /api/v5/market/index-tickers"
            )
            funding_row = await self._first(
                ex.publicGetPublicFundingRate, {"instId": inst}, symbol, problems, "GET /api/v5/public/funding-rate"
            )
            mark, index = num(mark_row.get("markPx")), num(index_row.get("idxPx"))
            if mark_row and mark is None:
                problems.append(f"GET /api/v5/public/mark-price: {symbol}: field 'markPx' missing or not a number")
            if index_row and index is None:
                problems.append(f"GET /api/v5/market/index-tickers: {symbol}: field 'idxPx' missing or not a number")
            nxt, cur = ms(funding_row.get("nextFundingTime")), ms(funding_row.get("fundingTime"))
            interval = (nxt - cur) / 3600.0 if nxt is not None and cur is not None and nxt > cur else None
            if not mark_row and not index_row and not funding_row:
                continue
            out.append(
                SymbolMarket(
                    symbol=symbol,
                    mark_price=mark,
                    index_price=index,
                    funding_rate=num(funding_row.get("fundingRate")),
                    next_funding_time=cur,
                    funding_interval_h=interval,
                    source="GET /api/v5/public/mark-price, /market/index-tickers, /public/funding-rate",
                    as_of=ms(mark_row.get("ts")),
                )
            )
        return out


MARKET = OkxMarket()
