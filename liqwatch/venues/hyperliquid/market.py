"""hyperliquid market data (public, wallet-free): no insurance fund (the backstop is the
liquidator vault inside HLP, shown as a vault); mark / oracle / funding. See
:class:`HyperliquidMarket`."""

from __future__ import annotations

import math
from typing import Any

from liqwatch.feeds.parse import as_dict, as_list, num
from liqwatch.market.compute import HOUR
from liqwatch.market.model import InsurancePool, SymbolMarket
from liqwatch.market.venue import Problems, VenueMarket, mark_and_index, ms

HLP_VAULT = "0xdfc24b077bc1425ad1dea75bcb6f8158e10df303"
"""The Hyperliquidity Provider (HLP) vault; its liquidator sub-vault is the backstop."""


class HyperliquidMarket(VenueMarket):
    """Hyperliquid perpetuals (USDC).

    insurance: **none**: the backstop is the liquidator vault inside HLP. Shown instead, as a
    ``vault`` (not an insurance fund): HLP's account value, the newest point of ``POST /info
    {"type": "vaultDetails", "vaultAddress": HLP}`` ``portfolio`` (period ``day``)
    ``accountValueHistory`` ``[[ms, "value"], ...]`` [field list unverified against a live
    answer]. ADL: no public signal.
    marks: ``POST /info {"type": "metaAndAssetCtxs"}`` ``markPx`` and ``oraclePx`` (the index),
    ``funding`` (hourly rate); funding is paid every hour, on the hour.
    """

    name = "hyperliquid"
    insurance_endpoint = "POST /info vaultDetails (HLP)"
    no_insurance = (
        "Hyperliquid has no insurance fund: its backstop is the liquidator vault inside HLP (shown as a vault)"
    )
    no_adl = "Hyperliquid: no public ADL signal"

    async def insurance(self, ex: Any, symbols: list[str], problems: Problems) -> list[InsurancePool]:
        response = as_dict(await ex.publicPostInfo({"type": "vaultDetails", "vaultAddress": HLP_VAULT}))
        portfolio = as_list(response.get("portfolio"))
        history: list[Any] = []
        for item in portfolio:
            pair = as_list(item)
            if len(pair) == 2 and pair[0] == "day":
                history = as_list(as_dict(pair[1]).get("accountValueHistory"))
        points = [(ms(as_list(p)[0]), num(as_list(p)[1])) for p in history if len(as_list(p)) == 2]
        points = [(t, v) for t, v in points if t is not None and v is not None]
        if not points:
            raise ValueError("HLP vaultDetails: field 'portfolio' has no day accountValueHistory")
        ts, value = max(points, key=lambda p: p[0] or 0.0)
        assert value is not None
        return [
            InsurancePool(
                pool="HLP vault",
                asset="USDC",
                symbols=[],
                balance=value,
                balance_usd=value,
                kind="vault",
                source=self.insurance_endpoint + ": account value (a vault, not an insurance fund)",
                as_of=ts,
            )
        ]

    async def symbols(self, ex: Any, symbols: list[str], problems: Problems) -> list[SymbolMarket]:
        import time

        response = as_list(await ex.publicPostInfo({"type": "metaAndAssetCtxs"}))
        if len(response) < 2:
            raise ValueError("metaAndAssetCtxs: expected [meta, assetCtxs]")
        universe = as_list(as_dict(response[0]).get("universe"))
        by_name = {
            str(as_dict(a).get("name")): as_dict(c) for a, c in zip(universe, as_list(response[1]), strict=False)
        }
        now = time.time()
        next_hour = math.floor(now / HOUR) * HOUR + HOUR
        out: list[SymbolMarket] = []
        for symbol in symbols:
            market = as_dict(ex.markets.get(symbol))
            name = as_dict(market.get("info")).get("name") or market.get("base")
            ctx = by_name.get(str(name))
            if ctx is None:
                problems.append(f"POST /info metaAndAssetCtxs: no asset context for {symbol}")
                continue
            mark, oracle = mark_and_index(ctx, "markPx", "oraclePx", "POST /info metaAndAssetCtxs", symbol, problems)
            out.append(
                SymbolMarket(
                    symbol=symbol,
                    mark_price=mark,
                    index_price=oracle,
                    funding_rate=num(ctx.get("funding")),
                    next_funding_time=next_hour,
                    funding_interval_h=1.0,
                    source="POST /info metaAndAssetCtxs (index = oraclePx)",
                    as_of=now,
                )
            )
        return out


MARKET = HyperliquidMarket()
