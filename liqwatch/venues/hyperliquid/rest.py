"""hyperliquid REST adapter: see the class docstring for which field means what."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Literal

from liqwatch.feeds.events import AccountModeName, TierRowData
from liqwatch.feeds.parse import DataError, as_dict, as_list, ms_to_s, num, positive
from liqwatch.feeds.venue_rest import (
    Leg,
    PositionSnapshot,
    VenueRest,
    ratio_of,
    taken,
)

if TYPE_CHECKING:
    from liqwatch.feeds.account import Account as AccountConfig

_ABSTRACTIONS: dict[str, tuple[AccountModeName, str]] = {
    "default": ("single", "perp margin in USDC"),
    "disabled": ("single", "perp margin in USDC"),
    "dexAbstraction": ("single", "perp margin in USDC, shared across dexes"),
    "unifiedAccount": ("multi_assets", "unified account: spot and perp balances pooled"),
    "portfolioMargin": ("portfolio", "portfolio margin"),
}
"""``info`` ``userAbstraction`` -> (liqwatch's mode, what it means)."""

STATE = "clearinghouseState"
"""The positions snapshot's context key for the whole ``clearinghouseState`` it was read from."""


class HyperliquidRest(VenueRest):
    """Hyperliquid perps, monitored by wallet address (no key).

    positions: ``POST /info {"type": "clearinghouseState", "user": wallet}``; isolated margin =
    ``leverage.rawUsd + szi*entryPx`` (the margin posted; ``marginUsed`` includes unrealized PnL),
    falling back to ``marginUsed - unrealizedPnl``; mark = ``positionValue / |szi|``;
    ``liquidationPx`` null -> None; no ADL indicator.
    balance: ``crossMarginSummary.accountValue`` minus the unrealized PnL of cross positions
    (account value is wallet + PnL; isolated positions are outside the cross summary). USDC. From
    the positions' own ``clearinghouseState`` read: one read per reconcile.
    tiers: ``POST /info {"type": "meta"}``: ``universe[].marginTableId`` -> ``marginTables``;
    mmr = 1/(2 x maxLeverage) per tier; a table id without an entry means one tier at the asset's
    ``maxLeverage``. No maintenance amount (derived by the core).
    marks: ``POST /info {"type": "metaAndAssetCtxs"}`` ``markPx`` (not ``midPx``).
    venue ratio: ``crossMaintenanceMarginUsed / crossMarginSummary.accountValue`` (liquidation when
    the account value falls below the maintenance margin); a ``unifiedAccount`` (whose balances are
    reported in the spot clearinghouse) as Hyperliquid's "Unified Account Ratio" defines it for the
    USDC dex: ``crossMaintenanceMarginUsed / (spot USDC total - isolated marginUsed)`` (the main
    dex's only: the page also adds HIP-3 dexes posting USDC, which liqwatch does not read). None for
    ``portfolioMargin`` (pre-alpha): Hyperliquid publishes no formula or liquidation level for its
    portfolio margin ratio, and the perp clearinghouse alone leaves out the spot collateral and loans.
    """

    name = "hyperliquid"
    tier_source = "/info"
    public_host = "https://api.hyperliquid.xyz"
    tier_download = "all_at_once"
    tier_tick = False  # prices: 5 significant figures
    ccxt_id = "hyperliquid"
    settle = "USDC"
    balance_uses_positions = True  # the balance comes from the positions' clearinghouseState

    def __init__(self) -> None:
        super().__init__()
        self._states: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()

    def options(self) -> dict[str, Any]:
        return {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"}

    async def account_mode(self, ex: Any, account: AccountConfig) -> tuple[AccountModeName, str]:
        """``POST /info {"type": "userAbstraction", "user": wallet}`` (a JSON string)."""
        state = await ex.publicPostInfo({"type": "userAbstraction", "user": account.wallet})
        name = state.strip().strip('"') if isinstance(state, str) else ""  # ccxt hands the JSON string over as sent
        found = _ABSTRACTIONS.get(name)
        if found is None:
            return "unknown", f"hyperliquid userAbstraction {name or '(none)'} is not one liqwatch knows"
        return found[0], f"hyperliquid userAbstraction {name} ({found[1]})"

    def config(self, account: AccountConfig) -> dict[str, Any]:
        return {"walletAddress": account.wallet} if account.wallet else {}

    def tier_market_id(self, market: dict[str, Any]) -> Any:
        return as_dict(market.get("info")).get("name") or market.get("base")  # the coin, not the asset index

    def positions_params(self, account: AccountConfig) -> dict[str, Any]:
        return {"user": account.wallet}

    def leverage(self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any]) -> float | None:
        lev = as_dict(as_dict(info.get("position")).get("leverage"))
        return positive(lev.get("value")) or positive(p.get("leverage"))

    def isolated_margin(
        self, p: dict[str, Any], info: dict[str, Any], context: dict[str, Any], leg: Leg
    ) -> tuple[float | None, str]:
        # rawUsd + szi x mark is marginUsed (the isolated account value: funding included), so
        # rawUsd + szi x entryPx is that value at entry; the core adds szi x (mark - entryPx) back.
        entry = as_dict(info.get("position"))
        raw_usd = num(as_dict(entry.get("leverage")).get("rawUsd"))
        szi = num(entry.get("szi"))
        entry_px = num(entry.get("entryPx"))
        if raw_usd is not None and szi is not None and entry_px is not None:
            return raw_usd + szi * entry_px, ""
        used = num(entry.get("marginUsed"))
        upnl = num(entry.get("unrealizedPnl")) or 0.0
        if used is None:
            return None, ""
        return used - upnl, "marginUsed - unrealizedPnl (no leverage.rawUsd): off by the PnL's rounding"

    def liquidation_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        return positive(as_dict(info.get("position")).get("liquidationPx"))

    def mark_price(self, p: dict[str, Any], info: dict[str, Any]) -> float | None:
        entry = as_dict(info.get("position"))
        value = num(entry.get("positionValue"))
        szi = num(entry.get("szi"))
        if value is not None and szi:
            return positive(abs(value / szi))
        return positive(p.get("markPrice"))

    async def _state(self, ex: Any, account: AccountConfig) -> dict[str, Any]:
        return as_dict(await ex.publicPostInfo({"type": "clearinghouseState", "user": account.wallet}))

    async def venue_ratio(
        self, ex: Any, account: AccountConfig, mode: AccountModeName
    ) -> tuple[float | None, dict[str, float | str | None]]:
        """See the class docstring: the ``clearinghouseState`` :meth:`balance` read this cycle (else a
        fresh read), and ``spotClearinghouseState`` for a unified account."""
        state = taken(self._states, ex) or await self._state(ex, account)
        if mode == "portfolio":  # spot, borrows and perps margined together: no published ratio
            return None, {}
        mm = num(state.get("crossMaintenanceMarginUsed"))
        if mode != "multi_assets":
            value = num(as_dict(state.get("crossMarginSummary")).get("accountValue"))
            return ratio_of(mm, value), {"crossMaintenanceMarginUsed": mm, "crossMarginSummary.accountValue": value}
        spot = as_dict(await ex.publicPostInfo({"type": "spotClearinghouseState", "user": account.wallet}))
        rows = [as_dict(b) for b in as_list(spot.get("balances"))]
        usdc = next((num(b.get("total")) for b in rows if b.get("coin") == self.settle), 0.0)
        isolated = 0.0
        for item in as_list(state.get("assetPositions")):
            entry = as_dict(as_dict(item).get("position"))
            if as_dict(entry.get("leverage")).get("type") == "isolated":
                isolated += num(entry.get("marginUsed")) or 0.0
        available = None if usdc is None else usdc - isolated
        inputs: dict[str, float | str | None] = {
            "crossMaintenanceMarginUsed": mm,
            "spot USDC total": usdc,
            "isolated marginUsed": isolated,
        }
        return ratio_of(mm, available), inputs

    async def snapshot(self, ex: Any, account: AccountConfig) -> PositionSnapshot:
        """One ``clearinghouseState`` read: ccxt parses its positions (as ``fetch_positions`` would
        from the same response) and the whole state stays in the context for :meth:`balance`."""
        state = await self._state(ex, account)
        rows = [as_dict(ex.parse_position(as_dict(item))) for item in as_list(state.get("assetPositions"))]
        return await self.snapshot_of(ex, account, rows, {STATE: state})

    async def balance(
        self, ex: Any, account: AccountConfig, positions: PositionSnapshot
    ) -> tuple[float, str, float | None]:
        kept = positions.context.get(STATE)
        state = kept if isinstance(kept, dict) else await self._state(ex, account)
        self._states[ex] = state
        summary = as_dict(state.get("crossMarginSummary"))
        value = num(summary.get("accountValue"))
        if value is None:
            raise DataError("clearinghouseState has no crossMarginSummary.accountValue")
        cross_upnl = 0.0
        for item in as_list(state.get("assetPositions")):
            entry = as_dict(as_dict(item).get("position"))
            if as_dict(entry.get("leverage")).get("type") != "isolated":
                cross_upnl += num(entry.get("unrealizedPnl")) or 0.0
        return value - cross_upnl, self.settle, ms_to_s(state.get("time"))

    def _market_by_name(self, ex: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for symbol, market in ex.markets.items():
            m = as_dict(market)
            if m.get("swap"):
                name = as_dict(m.get("info")).get("name") or m.get("base")
                if isinstance(name, str):
                    out[name] = symbol
        return out

    async def tiers(
        self, ex: Any, symbols: list[str], has_keys: bool
    ) -> list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]]:
        wanted = {s for s in symbols if s in ex.markets}
        if not wanted:
            return []
        meta = as_dict(await ex.publicPostInfo({"type": "meta"}))
        tables: dict[int, list[dict[str, Any]]] = {}
        for item in as_list(meta.get("marginTables")):
            if isinstance(item, list) and len(item) == 2:
                table_id = num(item[0])
                if table_id is not None:
                    tables[int(table_id)] = [as_dict(t) for t in as_list(as_dict(item[1]).get("marginTiers"))]
        by_name = self._market_by_name(ex)
        out: list[tuple[str, Literal["notional", "quantity"], list[TierRowData], str]] = []
        for asset in as_list(meta.get("universe")):
            a = as_dict(asset)
            symbol = by_name.get(str(a.get("name")))
            if symbol not in wanted or symbol is None:
                continue
            table_id = num(a.get("marginTableId"))
            tiers = tables.get(int(table_id)) if table_id is not None else None
            if not tiers:
                max_lev = positive(a.get("maxLeverage"))
                if max_lev is None:
                    continue
                tiers = [{"lowerBound": "0", "maxLeverage": max_lev}]
            bounds: list[tuple[float, float]] = []
            for t in tiers:
                lev = positive(t.get("maxLeverage"))
                if lev is not None:
                    bounds.append((num(t.get("lowerBound")) or 0.0, lev))
            bounds.sort()
            rows = [
                TierRowData(
                    min_notional=lower,
                    max_notional=bounds[i + 1][0] if i + 1 < len(bounds) else None,
                    mmr=1.0 / (2.0 * lev),
                    max_leverage=lev,
                    maint_amount=None,
                )
                for i, (lower, lev) in enumerate(bounds)
            ]
            if rows:
                out.append((symbol, "notional", rows, "mmr = 1/(2 x max leverage) of the Hyperliquid margin table"))
        return out

    async def marks(self, ex: Any, symbols: list[str]) -> list[tuple[str, float, float | None]]:
        wanted = {s for s in symbols if s in ex.markets}
        if not wanted:
            return []
        response = as_list(await ex.publicPostInfo({"type": "metaAndAssetCtxs"}))
        if len(response) < 2:
            raise DataError("metaAndAssetCtxs: expected [meta, assetCtxs]")
        universe = as_list(as_dict(response[0]).get("universe"))
        contexts = as_list(response[1])
        by_name = self._market_by_name(ex)
        out: list[tuple[str, float, float | None]] = []
        for asset, ctx in zip(universe, contexts, strict=False):
            symbol = by_name.get(str(as_dict(asset).get("name")))
            if symbol is None or symbol not in wanted:
                continue
            price = positive(as_dict(ctx).get("markPx"))
            if price is not None:
                out.append((symbol, price, None))
        return out
