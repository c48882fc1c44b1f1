"""The state store: what every feed has said, per account, and the risk computed from it.

Feeds push normalised events in (:meth:`State.apply`); views ask for a :class:`Snapshot`, which runs
the pure risk core over the latest positions, balances, tiers and marks. Every mark carries its
age: a symbol whose mark has not updated for 3x its stream's interval is stale and reported so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from liqwatch.core.engine import assess
from liqwatch.core.errors import InputError
from liqwatch.core.model import PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.tiers import TierTable, build_table
from liqwatch.core.venues import VENUES, Venue, get_venue
from liqwatch.feeds.events import Balance, Event, MarkPrice, PositionData, Positions, Status, Tiers
from liqwatch.markets import find_market

STALE_FACTOR = 3.0
_HINT_KEEP = ("leverage", "isolated_margin", "mark_price", "exchange_liquidation_price", "adl_lights", "contract_size")

PositionKey = tuple[str, str]  # (symbol, side): one-way positions and each hedge leg


@dataclass(slots=True)
class Mark:
    price: float
    ts: float
    received: float
    interval: float


@dataclass(slots=True)
class Notice:
    """Something the state store noticed that no single event says: a position that vanished or
    shrank between two complete snapshots."""

    account: str
    exchange: str
    ts: float
    kind: Literal["vanished", "shrunk"]
    symbol: str
    side: str
    size_before: float
    size_after: float
    message: str


@dataclass(slots=True)
class AccountState:
    name: str
    venue: Venue
    wallet_balance: float | None = None
    positions: dict[PositionKey, PositionData] = field(default_factory=dict)
    positions_ts: float | None = None
    tiers: dict[str, TierTable] = field(default_factory=dict)
    tier_notes: dict[str, str] = field(default_factory=dict)
    marks: dict[str, Mark] = field(default_factory=dict)
    status: dict[str, Status] = field(default_factory=dict)
    last_risk: dict[PositionKey, PositionRisk] = field(default_factory=dict)
    last_specs: list[PositionSpec] = field(default_factory=list)
    """The positions as the risk core last saw them (what-if scenarios start from these)."""


@dataclass(slots=True)
class PositionView:
    account: str
    exchange: str
    data: PositionData
    mark_price: float
    mark_age_s: float | None
    stale: bool
    risk: PositionRisk | None
    note: str = ""


@dataclass(slots=True)
class AccountView:
    name: str
    exchange: str
    wallet_balance: float | None
    risk: PortfolioRisk | None
    status: dict[str, str]
    detail: str
    stale: bool


@dataclass(slots=True)
class Snapshot:
    ts: float
    accounts: list[AccountView]
    positions: list[PositionView]


class State:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.accounts: dict[str, AccountState] = {}
        self.version = 0
        """Incremented by every applied event: views skip work when nothing changed."""
        self.feed_errors: list[Status] = []
        """Errors of feeds that are not tied to a known venue account."""

    # ------------------------------------------------------------------ ingest

    def _account(self, event: Event) -> AccountState:
        acc = self.accounts.get(event.account)
        if acc is None:
            acc = AccountState(event.account, get_venue(event.exchange))
            self.accounts[event.account] = acc
        return acc

    def apply(self, event: Event) -> list[Notice]:
        """Apply one event; returns what it revealed (vanished or shrunk positions)."""
        self.version += 1
        if event.exchange not in VENUES:
            if isinstance(event, Status):
                self.feed_errors.append(event)
            return []
        acc = self._account(event)
        if isinstance(event, MarkPrice):
            prev = acc.marks.get(event.symbol)
            if prev is None or event.ts >= prev.ts:  # out-of-order updates never go backwards
                acc.marks[event.symbol] = Mark(event.price, event.ts, self.clock(), event.interval)
            return []
        if isinstance(event, Positions):
            return self._positions(acc, event)
        if isinstance(event, Balance):
            acc.wallet_balance = event.wallet_balance
        elif isinstance(event, Tiers):
            rows = [
                {
                    "min": r.min_notional,
                    "max": r.max_notional,
                    "mmr": r.mmr,
                    "max_leverage": r.max_leverage,
                    "maint_amount": r.maint_amount,
                }
                for r in event.tiers
            ]
            if rows:
                acc.tiers[event.symbol.upper()] = build_table(
                    rows,
                    basis=event.basis,
                    boundary=acc.venue.default_boundary,
                    derive_maint_amount=acc.venue.derives_maint_amount,
                    source=f"{event.source}: {event.note}".rstrip(": "),
                    as_of=time.strftime("%Y-%m-%d", time.gmtime(event.ts)),
                )
            if event.note:
                acc.tier_notes[event.symbol.upper()] = event.note
        elif isinstance(event, Status):
            acc.status[event.channel] = event
        return []

    def _positions(self, acc: AccountState, event: Positions) -> list[Notice]:
        incoming: dict[PositionKey, PositionData] = {(p.symbol, str(p.side)): p for p in event.positions}
        notices: list[Notice] = []
        if event.complete:
            changed = any(
                (new := incoming.get(key)) is None or new.size < old.size - 1e-12 for key, old in acc.positions.items()
            )
            if changed and acc.positions_ts is not None:
                self._account_views(acc, self.clock())  # the risk at the latest marks, for the notice
            if acc.positions_ts is not None:
                for key, old in acc.positions.items():
                    new = incoming.get(key)
                    if new is None or new.size < old.size - 1e-12:
                        notices.append(self._notice(acc, event.ts, key, old, new))
            acc.positions = incoming
        else:
            # A hint (private stream) may leave out what its venue does not send (Binance
            # ACCOUNT_UPDATE has no mark or liquidation price): keep what REST last said there.
            for key, hint in incoming.items():
                prev = acc.positions.get(key)
                if prev is not None:
                    kept = {name: getattr(prev, name) for name in _HINT_KEEP if getattr(hint, name) is None}
                    acc.positions[key] = hint.model_copy(update=kept)
                else:
                    acc.positions[key] = hint
        acc.positions_ts = event.ts
        return notices

    def _notice(
        self, acc: AccountState, ts: float, key: PositionKey, old: PositionData, new: PositionData | None
    ) -> Notice:
        risk = acc.last_risk.get(key)
        after = 0.0 if new is None else new.size
        kind: Literal["vanished", "shrunk"] = "vanished" if new is None else "shrunk"
        what = "closed" if new is None else f"reduced from {old.size:g} to {after:g}"
        near = risk is not None and (
            (risk.margin_ratio is not None and risk.margin_ratio >= 0.75)
            or (risk.distance_to_liquidation is not None and risk.distance_to_liquidation < 0.03)
        )
        if risk is not None and near:
            guess = (
                f"likely liquidated (margin ratio was {fmt_ratio(risk.margin_ratio)}, "
                f"{fmt_ratio(risk.distance_to_liquidation)} from liquidation at the last mark)"
            )
        elif risk is not None and risk.unrealized_pnl > 0 and risk.adl.lights >= 4:
            guess = f"possibly auto-deleveraged (ADL {risk.adl.lights}/5, in profit)"
        else:
            guess = "liquidated or ADL'd? (or your own order: liqwatch cannot see your trades)"
        message = f"{old.symbol} {old.side} {what} — {guess}"
        return Notice(acc.name, acc.venue.name, ts, kind, old.symbol, old.side, old.size, after, message)

    # ------------------------------------------------------------------ risk

    def _table(self, acc: AccountState, data: PositionData) -> tuple[str, TierTable | None, str]:
        symbol = data.symbol
        table = acc.tiers.get(symbol.upper())
        if table is not None:
            return symbol, table, ""
        try:
            unified, market = find_market(acc.venue, symbol)
        except InputError:
            return symbol, None, "no tier table for this symbol"
        if market is not None:
            note = f"bundled tiers as of {market.table.as_of} (the venue's own could not be fetched)"
            return unified, market.table, note
        return unified, None, "no tier table for this symbol: risk not computed"

    def snapshot(self) -> Snapshot:
        now = self.clock()
        accounts: list[AccountView] = []
        positions: list[PositionView] = []
        for acc in self.accounts.values():
            view, views = self._account_views(acc, now)
            accounts.append(view)
            positions.extend(views)
        return Snapshot(now, accounts, positions)

    def _account_views(self, acc: AccountState, now: float) -> tuple[AccountView, list[PositionView]]:
        specs: list[PositionSpec] = []
        kept: list[tuple[PositionKey, PositionData, float, float | None, bool, str]] = []
        views: list[PositionView] = []
        any_stale = False
        for key, data in acc.positions.items():
            mark_state = acc.marks.get(data.symbol)
            if mark_state is not None:
                mark = mark_state.price
                age: float | None = max(0.0, now - mark_state.received)
                stale = age is not None and age > STALE_FACTOR * mark_state.interval
            else:
                mark = data.mark_price or data.entry_price
                age = None
                stale = True  # no live mark at all
            any_stale = any_stale or stale
            symbol, table, note = self._table(acc, data)
            if table is None:
                views.append(PositionView(acc.name, acc.venue.name, data, mark, age, stale, None, note))
                continue
            margin = data.isolated_margin
            if data.margin_mode == "isolated" and margin is None and data.leverage:
                margin = data.size * data.entry_price / data.leverage
            if data.margin_mode == "isolated" and not (margin and margin > 0):
                views.append(
                    PositionView(
                        acc.name,
                        acc.venue.name,
                        data,
                        mark,
                        age,
                        stale,
                        None,
                        "isolated margin unknown: risk not computed",
                    )
                )
                continue
            specs.append(
                PositionSpec(
                    symbol=symbol,
                    side=data.side,
                    size=data.size,
                    entry_price=data.entry_price,
                    mark_price=mark,
                    tiers=table,
                    margin_mode=data.margin_mode,
                    position_side=data.position_side,
                    leverage=data.leverage,
                    isolated_margin=margin if data.margin_mode == "isolated" else None,
                    fee_rate=acc.venue.default_fee_rate,
                    adl_lights=data.adl_lights,
                    exchange_liquidation_price=data.exchange_liquidation_price,
                )
            )
            kept.append((key, data, mark, age, stale, note))
        risk: PortfolioRisk | None = None
        acc.last_specs = specs
        if acc.wallet_balance is not None or not any(s.margin_mode == "cross" for s in specs):
            risk = assess(acc.venue, specs, acc.wallet_balance or 0.0)
            acc.last_risk = {}
            for (key, data, mark, age, stale, note), prisk in zip(kept, risk.positions, strict=True):
                acc.last_risk[key] = prisk
                views.append(PositionView(acc.name, acc.venue.name, data, mark, age, stale, prisk, note))
        else:
            for _key, data, mark, age, stale, _note in kept:
                views.append(
                    PositionView(
                        acc.name, acc.venue.name, data, mark, age, stale, None, "waiting for the account balance"
                    )
                )
        states: dict[str, str] = {ch: str(st.state) for ch, st in acc.status.items()}
        errors = [st.detail for st in acc.status.values() if st.state == "error" and st.detail]
        view = AccountView(acc.name, acc.venue.name, acc.wallet_balance, risk, states, "; ".join(errors), any_stale)
        return view, views


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


# ---------------------------------------------------------------------- JSON shapes


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def position_record(view: PositionView) -> dict[str, Any]:
    """One position as `liqwatch watch` prints it."""
    data = view.data
    risk = view.risk
    ours = None if risk is None else _num(risk.liquidation_price)
    venue_lp = data.exchange_liquidation_price
    record: dict[str, Any] = {
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
        "bankruptcy_price": None if risk is None else _num(risk.bankruptcy_price),
        "margin_ratio": None if risk is None else _num(risk.margin_ratio),
        "tier": None if risk is None else risk.tier.index,
        "distance_to_liquidation": None if risk is None else _num(risk.distance_to_liquidation),
        "unrealized_pnl": None if risk is None else risk.unrealized_pnl,
        "status": "unknown" if risk is None else risk.status,
        "adl": None
        if risk is None
        else {"score": risk.adl.score, "lights": risk.adl.lights, "source": risk.adl.source},
        "note": "; ".join(
            n
            for n in (
                view.note,
                "" if venue_lp is not None else "the venue gave no liquidation price; liqwatch's is shown",
            )
            if n
        ),
    }
    return record


def account_record(view: AccountView) -> dict[str, Any]:
    risk = view.risk
    a = None if risk is None else risk.account
    return {
        "account": view.name,
        "exchange": view.exchange,
        "wallet_balance": view.wallet_balance,
        "margin_balance": None if a is None else a.margin_balance,
        "maintenance_margin": None if a is None else a.maintenance_margin,
        "margin_ratio": None if a is None else _num(a.margin_ratio),
        "cross_margin_ratio": None if a is None else _num(a.cross_margin_ratio),
        "feed": view.status,
        "stale": view.stale,
        "error": view.detail or None,
    }


def snapshot_record(snap: Snapshot) -> dict[str, Any]:
    return {
        "type": "snapshot",
        "ts": snap.ts,
        "accounts": [account_record(a) for a in snap.accounts],
        "positions": [position_record(p) for p in snap.positions],
    }
