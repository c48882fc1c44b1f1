"""The JSON records of a position and an account: one builder each, for every surface.

``liqwatch calc --json`` prints :func:`position_record` / :func:`account_record` (inside
:func:`portfolio_record`); the what-if ``before`` / ``after`` / ``steps`` documents are
:func:`portfolio_record` too (with each survivor's ``index``). ``liqwatch watch`` prints
:func:`live_position_record` / :func:`live_account_record`: the same risk fields (same names, same
meaning, nulls where the core gave no number) framed by what only a live feed knows — account,
exchange, the mark's age, the venue's own liquidation price and a note.

Numbers are raw floats, never rounded; :func:`num` maps the non-finite values the core can produce
(the open end of a tier table) to null. Human rendering lives in :mod:`liqwatch.output`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from liqwatch.core.model import AccountRisk, PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.venues import Venue

if TYPE_CHECKING:  # the state store imports this module: no import back at run time
    from liqwatch.state import AccountView, PositionView, Snapshot


def num(x: float | None) -> float | None:
    """``x``, or None for None, NaN and the infinities (JSON has no such numbers)."""
    return x if x is None or x - x == 0.0 else None  # x - x is NaN for NaN and the infinities


def settle_currency(spec: PositionSpec, venue: Venue) -> str:
    """The currency of a position's money fields (margin, PnL, maintenance): its settle currency
    (the coin of a coin-margined market, the ``:SETTLE`` of a linear symbol, else the venue's)."""
    return spec.settle or spec.symbol.rpartition(":")[2] or venue.settle


def contracts_of(spec: PositionSpec) -> float | None:
    """The position's size in contracts: as given when it still matches the size (a what-if that
    changed the size leaves the given count behind), else size / contract size; None when the
    contract size is unknown."""
    cs = spec.contract_size
    given = spec.contracts
    if cs and (given is None or given * cs != spec.size):
        return spec.size / cs
    return given


def next_tier_info(p: PositionRisk) -> tuple[float | None, float | None]:
    """(notional where the next bracket starts, in the settle currency — the coin for a coin-margined
    position —, distance to it as a fraction of the current value)."""
    nxt = p.next_tier_floor
    if nxt is None:
        return None, None
    spec = p.spec
    if spec.tiers.basis == "notional":
        current = p.bracket_value
        notional = nxt
    else:
        current = spec.size
        notional = nxt / spec.mark_price if spec.inverse else nxt * spec.mark_price
    distance = (nxt - current) / current if current > 0 else None
    return notional, distance


# ---------------------------------------------------------------------- calc


def position_record(p: PositionRisk, venue: Venue) -> dict[str, Any]:
    """One position as ``calc --json`` prints it. Every quantity the core derives by a division (a
    ratio, a price, a distance) is mapped to null when not finite (as :func:`num` does, written out
    here: this runs once per position of a portfolio file): a margin balance of ~1e-320 makes a
    ratio infinite, and the open end of a table (``tier_cap``, an override's ``max_leverage``) is."""
    spec = p.spec
    tier = p.tier
    table = spec.tiers
    adl = p.adl
    nxt = p.next_tier_floor
    if nxt is None:
        next_notional = next_distance = None
    else:  # next_tier_info, inline
        if table.basis == "notional":
            current = p.bracket_value
            next_notional = nxt
        else:  # the size; its value: coin-margined Q / P, linear size x P
            current = spec.size
            next_notional = nxt / spec.mark_price if spec.inverse else nxt * spec.mark_price
        next_distance = (nxt - current) / current if current > 0 else None
    # x - x is 0.0 for a finite x, NaN for NaN and the infinities
    lp = p.liquidation_price
    bp = p.bankruptcy_price
    ratio = p.margin_ratio
    native = p.margin_ratio_native
    im = p.initial_margin
    max_lev = tier.max_leverage
    cap = tier.cap
    distance = p.distance_to_liquidation
    eff = p.effective_leverage
    score = adl.score
    inverse = spec.inverse
    contracts = spec.contracts  # contracts_of, inline
    cs = spec.contract_size
    if cs and (contracts is None or contracts * cs != spec.size):
        contracts = spec.size / cs
    return {
        "symbol": spec.symbol,
        "side": spec.side,
        "position_side": spec.position_side,
        "size": spec.size,
        "settle": spec.settle or spec.symbol.rpartition(":")[2] or venue.settle,  # settle_currency, inline
        "inverse": inverse,
        "contracts": contracts,
        "contract_size": spec.contract_size,
        "notional_usd": spec.size if inverse else p.notional,
        "entry_price": spec.entry_price,
        "mark_price": spec.mark_price,
        "margin_mode": spec.margin_mode,
        "leverage": spec.leverage,
        "isolated_margin": spec.isolated_margin,
        "liquidation_price": lp if lp is None or lp - lp == 0.0 else None,
        "bankruptcy_price": bp if bp is None or bp - bp == 0.0 else None,
        "margin_ratio": ratio if ratio is None or ratio - ratio == 0.0 else None,
        "margin_ratio_native": native if native is None or native - native == 0.0 else None,
        "margin_ratio_native_name": venue.native_margin_ratio_name,
        "maintenance_margin": p.maintenance_margin,
        "liquidation_fee": p.liquidation_fee,
        "fee_rate": spec.fee_rate,
        "initial_margin": im if im is None or im - im == 0.0 else None,
        "margin_balance": p.margin_balance,
        "unrealized_pnl": p.unrealized_pnl,
        "notional": p.notional,
        "tier": tier.index,
        "mmr": tier.mmr,
        "maint_amount": tier.maint_amount,
        "max_leverage": max_lev if max_lev - max_lev == 0.0 else None,
        "tier_floor": tier.floor,
        "tier_cap": cap if cap - cap == 0.0 else None,
        "tier_basis": table.basis,
        "next_tier_notional": next_notional if next_notional is None or next_notional - next_notional == 0.0 else None,
        "distance_to_next_tier": next_distance
        if next_distance is None or next_distance - next_distance == 0.0
        else None,
        "tiers_source": table.origin or "bundled",
        "tiers_source_detail": table.source,
        "tiers_as_of": table.as_of,
        "distance_to_liquidation": distance if distance is None or distance - distance == 0.0 else None,
        "effective_leverage": eff if eff is None or eff - eff == 0.0 else None,
        "status": p.status,
        "adl": {
            "score": score if score - score == 0.0 else None,
            "lights": adl.lights,
            "source": adl.source,
            "method": adl.method,
        },
    }


def account_record(a: AccountRisk) -> dict[str, Any]:
    """One collateral pool (the account, for a single-currency account) as ``calc --json`` prints it."""
    return {
        "wallet_balance": a.wallet_balance,
        "margin_balance": a.margin_balance,
        "maintenance_margin": a.maintenance_margin,
        "margin_ratio": num(a.margin_ratio),
        "unrealized_pnl": a.unrealized_pnl,
        "initial_margin": num(a.initial_margin),
        "cross_wallet_balance": a.cross_wallet_balance,
        "cross_margin_balance": a.cross_margin_balance,
        "cross_maintenance_margin": a.cross_maintenance_margin,
        "cross_margin_ratio": num(a.cross_margin_ratio),
    }


def portfolio_record(risk: PortfolioRisk, venue: Venue, indices: Sequence[int] | None = None) -> dict[str, Any]:
    """The whole ``calc --json`` document; ``indices`` (what-if survivors) adds each position's
    ``index`` in the original portfolio."""
    positions = [position_record(p, venue) for p in risk.positions]
    if indices is not None:
        for pos, i in zip(positions, indices, strict=True):
            pos["index"] = i
    inverse_only = bool(positions) and all(p.spec.inverse for p in risk.positions)
    return {
        "exchange": risk.venue,
        "formula": venue.inverse_family if inverse_only and venue.inverse_family else venue.family,
        "positions": positions,
        "account": pools_record(risk, venue),
    }


def pools_record(risk: PortfolioRisk, venue: Venue) -> dict[str, Any]:
    """The ``account`` section: the default pool's fields (:func:`account_record`; the venue's
    settle currency, or the only pool held) with its ``settle``, and ``pools``: every collateral
    pool, the default one first, as ``{"settle": ..., **account_record}``. Money is in each pool's
    settle currency; cross collateral never crosses pools."""
    default = account_record(risk.account)
    pools = risk.pools
    if not pools:
        default_settle = venue.settle
        entries = [{"settle": default_settle, **default}]
    else:
        default_settle = next((ccy for ccy, a in pools.items() if a is risk.account), venue.settle)
        entries = [{"settle": default_settle, **default}]
        entries += [{"settle": ccy, **account_record(a)} for ccy, a in pools.items() if a is not risk.account]
    return {"settle": default_settle, **default, "pools": entries}


# ---------------------------------------------------------------------- watch


def diff_ticks(view: PositionView) -> float | None:
    """(ours - the venue's liquidation price) / the market's tick; None when either price or the
    tick is unknown."""
    risk = view.risk
    venue_lp = view.data.exchange_liquidation_price
    if risk is None or venue_lp is None:
        return None
    ours = num(risk.liquidation_price)
    tick = risk.spec.tick_size
    if ours is None or not tick:
        return None
    return num((ours - venue_lp) / tick)


def live_position_record(view: PositionView) -> dict[str, Any]:
    """One position as ``liqwatch watch`` prints it: the position as the feed reported it, the
    risk fields of :func:`position_record` (null until the risk is computed) and the live ones."""
    data = view.data
    risk = view.risk
    ours = None if risk is None else num(risk.liquidation_price)
    venue_lp = data.exchange_liquidation_price
    return {
        "account": view.account,
        "exchange": view.exchange,
        "symbol": data.symbol,
        "side": data.side,
        "position_side": data.position_side,
        "margin_mode": data.margin_mode,
        "size": data.size,
        "entry_price": data.entry_price,
        "mark_price": view.mark_price,
        "mark_age_s": None if view.mark_age_s is None else round(view.mark_age_s, 3),
        "stale": view.stale,
        "liquidation_price": ours,
        "exchange_liquidation_price": venue_lp,
        "liquidation_price_diff": None if ours is None or venue_lp is None else ours - venue_lp,
        "liquidation_price_diff_ticks": diff_ticks(view),
        "bankruptcy_price": None if risk is None else num(risk.bankruptcy_price),
        "margin_ratio": num(view.venue_margin_ratio) if risk is None else num(risk.margin_ratio),
        "tier": None if risk is None else risk.tier.index,
        "distance_to_liquidation": None if risk is None else num(risk.distance_to_liquidation),
        "unrealized_pnl": None if risk is None else risk.unrealized_pnl,
        "status": "unknown" if risk is None else risk.status,
        "adl": None
        if risk is None
        else {"score": num(risk.adl.score), "lights": risk.adl.lights, "source": risk.adl.source},
        "note": "; ".join(
            n
            for n in (
                view.note,
                "" if venue_lp is not None else "the venue gave no liquidation price; liqwatch's is shown",
            )
            if n
        ),
    }


def live_account_record(view: AccountView) -> dict[str, Any]:
    """One account as ``liqwatch watch`` prints it."""
    risk = view.risk
    a = None if risk is None else risk.account
    return {
        "account": view.name,
        "exchange": view.exchange,
        "wallet_balance": view.wallet_balance,
        "margin_balance": None if a is None else a.margin_balance,
        "maintenance_margin": None if a is None else a.maintenance_margin,
        "margin_ratio": None if a is None else num(a.margin_ratio),
        "cross_margin_ratio": None if a is None else num(a.cross_margin_ratio),
        "feed": view.status,
        "stale": view.stale,
        "error": view.detail or None,
    }


def snapshot_record(snap: Snapshot) -> dict[str, Any]:
    """A ``{"type": "snapshot"}`` line of ``liqwatch watch``."""
    return {
        "type": "snapshot",
        "ts": snap.ts,
        "accounts": [live_account_record(a) for a in snap.accounts],
        "positions": [live_position_record(p) for p in snap.positions],
    }
