"""The state store: what every feed has said, per account, and the risk computed from it.

Feeds push normalised events in (:meth:`State.apply`); views ask for a :class:`Snapshot`, which runs
the pure risk core over the latest positions, balances, tiers and marks. Every mark carries its
age: a symbol whose mark has not updated for 3x its stream's interval is stale and reported so.

Where the venue reports a liquidation price, each position record says how far ours is from it in
the market's ticks (``liquidation_price_diff_ticks``); :meth:`State.mismatches` returns, once per
position, a record of the inputs behind any difference over one tick.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from liqwatch.core.collateral import (
    CollateralAsset,
    CollateralRisk,
    CollateralTier,
    assess_collateral,
    liability_warnings,
)
from liqwatch.core.engine import SolvedPool, assess_solved
from liqwatch.core.errors import InputError
from liqwatch.core.model import PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.tiers import TierTable, build_table
from liqwatch.core.venues import VENUES, Venue, get_venue
from liqwatch.markets import find_market
from liqwatch.numfmt import plain
from liqwatch.records import diff_ticks, snapshot_record
from liqwatch.records import live_account_record as account_record
from liqwatch.records import live_position_record as position_record
from liqwatch.records import num as _num
from liqwatch.venue_collateral import venue_collateral
from liqwatch.views import AccountView as AccountView  # noqa: PLC0414 (re-exported: the views' first home)
from liqwatch.views import DataStatus as DataStatus  # noqa: PLC0414
from liqwatch.views import PositionView as PositionView  # noqa: PLC0414
from liqwatch.views import Snapshot as Snapshot  # noqa: PLC0414
from liqwatch.views import VenueCollateral

if TYPE_CHECKING:  # events are told apart by their ``type``: pydantic loads with the first event,
    # not with the dashboard's first frame
    from liqwatch.feeds.events import Event, PositionData, Positions, Status

log = logging.getLogger(__name__)

STALE_FACTOR = 3.0
FEED_ERRORS_KEPT = 100
"""How many errors of feeds outside any venue account the store keeps (the latest)."""
MISMATCH_TICKS = 1.0
"""A liquidation price further than this many ticks from the venue's is reported (once)."""
_HINT_KEEP = (
    "leverage",
    "isolated_margin",
    "mark_price",
    "exchange_liquidation_price",
    "adl_lights",
    "contract_size",
    "tick_size",
    "fee_rate",
)

PositionKey = tuple[str, str]  # (symbol, side): one-way positions and each hedge leg

_Prepared = tuple[str, "TierTable | None", str, float, "float | None", "float | None", str]
"""What a position's risk inputs need besides its mark (:meth:`State._prepare`): the symbol the
table is known by, the table, the note, the fee rate, the isolated margin, the tick, and why the
risk is not computed ("" when it is)."""

RATIO_DIFF = 0.01
"""Our account margin ratio further than this share of the venue's from it is logged (once)."""

MODE_NOTES = {
    "multi_assets": "multi-assets account: liqwatch does not compute it yet; the venue's ratio is shown",
    "portfolio": (
        "portfolio-margin account: the venue's requirement comes from risk scenarios liqwatch cannot "
        "reproduce; the venue's ratio is shown"
    ),
    "unknown": "account mode unknown: no single-collateral figure is shown; the venue's ratio is shown where read",
}
"""Why a ``multi_assets`` / ``portfolio`` / ``unknown`` account and its cross positions have no
liqwatch margin ratio, liquidation, bankruptcy price or distance (the venue's own figures stand in)."""
POOLED_NOTE = (
    "multi-assets account: liqwatch's figures from every collateral asset at the venue's collateral rates "
    "(other marks and collateral prices held); the venue's ratio beside them"
)
"""A ``multi_assets`` account whose collateral the venue publishes how it values (Binance index
bid/ask rates, Bybit tiered collateral value ratios, OKX discount-rate tiers, Bitget and Gate
discount tiers by USD value): ours."""
MODE_LABELS = {"multi_assets": "multi-assets", "portfolio": "portfolio margin", "unknown": "mode unknown"}
"""The card's words for each mode liqwatch does not compute."""

NO_INVERSE_MATHS = "coin-margined: this venue's inverse maths is not supported (the venue's liquidation price is shown)"


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
    """The cross wallet of the venue's settle currency (``Venue.settle``)."""
    wallets: dict[str, float] = field(default_factory=dict)
    """Every pool's cross wallet, per settle currency (the settle currency's included): a BTC
    wallet backs the BTC-margined contracts only."""
    venue_figures: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """Per currency, (maintenance margin, equity) as the venue reports them (account-level margin)."""
    positions: dict[PositionKey, PositionData] = field(default_factory=dict)
    positions_ts: float | None = None
    tiers: dict[str, TierTable] = field(default_factory=dict)
    marks: dict[str, Mark] = field(default_factory=dict)
    status: dict[str, Status] = field(default_factory=dict)
    last_risk: dict[PositionKey, PositionRisk] = field(default_factory=dict)
    last_specs: list[PositionSpec] = field(default_factory=list)
    """The positions as the risk core last saw them (what-if scenarios start from these)."""
    tiers_version: int = 0
    """Incremented whenever :attr:`tiers` changes (prepared inputs from older tables are redone)."""
    prepared: dict[PositionKey, tuple[PositionData, int, _Prepared, PositionSpec | None]] = field(default_factory=dict)
    """Per position of the last snapshot: its data object, :attr:`tiers_version` then, what
    :meth:`State._prepare` derived from them (reused while both are the same) and the spec the
    risk core got (reused while the mark is the same too: the core then keeps its figures)."""
    solved: list[SolvedPool] | None = None
    """The collateral pools of the last assessment (the next one reuses what did not change)."""
    last_pooled: tuple[list[PositionSpec], list[CollateralAsset], CollateralRisk] | None = None
    """A ``multi_assets`` account's last collateral assessment, its specs and collateral (reused
    while all are the same objects)."""
    last_error: str = ""
    """The detail of the latest ``error`` status of any channel, kept when the channel goes back to
    ``connecting``: why an account that never got data has none (a retry in progress included)."""
    lasting_error: bool = False
    """The latest ``error`` status is one waiting cannot heal (``Status.lasting``: a rejected key,
    a missing permission or credential); kept, like :attr:`last_error`, while the feed retries."""
    mode: str = "single"
    """The venue's margin mode (an ``account_mode`` event; ``single`` until one says otherwise:
    the demo and replays of older recordings)."""
    mode_detail: str | None = None
    margin_ratio_venue: float | None = None
    venue_inputs: dict[str, float | str | None] = field(default_factory=dict)
    account_status_venue: str | None = None
    ratio_logged: bool = False
    """A difference between our ratio and the venue's was logged already (once per account)."""
    collateral_assets: list[CollateralAsset] = field(default_factory=list)
    """A ``multi_assets`` account's collateral as the venue values it ([]: not computed)."""
    collateral_error: str = ""
    collateral_venue: VenueCollateral | None = None
    """A ``portfolio`` account's collateral as the venue reports it (None: not read, or another mode)."""

    def collateral(self) -> float | dict[str, float]:
        """The cross collateral as ``assess`` (and what-if scenarios on :attr:`last_specs`) take it:
        the settle currency's wallet while every position settles in it, else one wallet per
        settle currency (a BTC pool's inverse cross positions must not see the USDT wallet)."""
        return State.pool_wallets(self, self.last_specs)[0]


class State:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.accounts: dict[str, AccountState] = {}
        self.version = 0
        """Incremented by every applied event: views skip work when nothing changed."""
        self.feed_errors: deque[Status] = deque(maxlen=FEED_ERRORS_KEPT)
        """The latest errors of feeds that are not tied to a known venue account (the oldest drop
        out: a feed failing for days must not grow the store)."""
        self._mismatched: set[tuple[str, str, str]] = set()
        """(account, symbol, side) of positions whose mismatch was already reported."""

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
            if event.type == "status":
                self.feed_errors.append(event)
            return []
        acc = self._account(event)
        if event.type == "mark":
            prev = acc.marks.get(event.symbol)
            if prev is None:
                acc.marks[event.symbol] = Mark(event.price, event.ts, self.clock(), event.interval)
            elif event.ts >= prev.ts:  # out-of-order updates never go backwards
                # updated in place: the store's own record (views copy the price and age), one
                # object per symbol for the run instead of one per update
                prev.price, prev.ts, prev.received, prev.interval = event.price, event.ts, self.clock(), event.interval
            return []
        if event.type == "positions":
            return self._positions(acc, event)
        if event.type == "balance":
            currency = event.currency.upper()
            acc.wallets[currency] = event.wallet_balance
            if event.maintenance_margin is not None or event.equity is not None:
                acc.venue_figures[currency] = (event.maintenance_margin, event.equity)
            if currency == acc.venue.settle.upper() or acc.wallet_balance is None:
                acc.wallet_balance = event.wallet_balance
        elif event.type == "tiers":
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
                acc.tiers_version += 1
                acc.tiers[event.symbol.upper()] = build_table(
                    rows,
                    basis=event.basis,
                    boundary=acc.venue.default_boundary,
                    derive_maint_amount=acc.venue.derives_maint_amount,
                    source=f"{event.source}: {event.note}".rstrip(": "),
                    as_of=time.strftime("%Y-%m-%d", time.gmtime(event.ts)),
                    origin="live",
                )
        elif event.type == "account_mode":
            acc.mode = event.mode
            acc.mode_detail = event.mode_detail or None
            acc.margin_ratio_venue = event.margin_ratio_venue
            acc.venue_inputs = dict(event.venue_inputs)
            acc.account_status_venue = event.account_status_venue
            acc.collateral_venue = None
            if event.mode == "portfolio":  # the venue's figures, shown as the venue's (none of ours)
                acc.collateral_assets, acc.collateral_error = [], ""
                if event.collateral:
                    try:
                        acc.collateral_venue = venue_collateral(event.exchange, event.collateral, event.venue_inputs)
                    except InputError as exc:
                        acc.collateral_error = f"{exc.field}: {exc.message}"
                return []
            try:
                acc.collateral_assets = [
                    CollateralAsset(
                        r.asset,
                        r.amount,
                        r.price,
                        ratio=r.ratio,
                        tiers=tuple(CollateralTier(t.min, t.max, t.ratio) for t in r.tiers),
                        tier_basis=r.tier_basis,
                        bid_buffer=r.bid_buffer,
                        ask_buffer=r.ask_buffer,
                    )
                    for r in event.collateral
                ]
                acc.collateral_error = ""
            except InputError as exc:
                acc.collateral_assets, acc.collateral_error = [], f"{exc.field}: {exc.message}"
        elif event.type == "status":
            acc.status[event.channel] = event
            if event.state == "error" and event.detail:
                acc.last_error = event.detail
                acc.lasting_error = event.lasting
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
                    if "isolated_margin" in kept:
                        kept["margin_note"] = prev.margin_note
                    if "fee_rate" in kept and not hint.fee_note:
                        kept["fee_note"] = prev.fee_note  # hints carry no rate: REST's stands
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
        what = "closed" if new is None else f"reduced from {_bare(old.size)} to {_bare(after)}"
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
            unified, market = find_market(acc.venue, symbol, inverse=data.inverse)
        except InputError:
            return symbol, None, "no tier table for this symbol"
        if market is not None:
            note = f"{market.origin} tiers as of {market.table.as_of} (the venue's own could not be fetched)"
            return unified, market.table, note
        return unified, None, "no tier table for this symbol: risk not computed"

    @staticmethod
    def _tick(acc: AccountState, data: PositionData) -> float | None:
        """The market's tick: the live market's (ccxt ``precision.price``), else the bundled one."""
        if data.tick_size:
            return data.tick_size
        return _bundled_tick(acc.venue, data.symbol, data.inverse)

    @staticmethod
    def fee_rate(venue: Venue, data: PositionData) -> float:
        """The fee rate of the venue's formula for ``data``: the account's own taker rate where
        the feed read one, else the venue's default. Venues whose default is 0 (Binance and
        Hyperliquid count no fee; Bybit's published formula leaves the fee to close out) stay at 0."""
        if venue.default_fee_rate > 0 and data.fee_rate is not None:
            return data.fee_rate
        return venue.default_fee_rate

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
        kept: list[PositionView] = []  # the views of ``specs``, in order (risk filled in below)
        kept_keys: list[PositionKey] = []
        views: list[PositionView] = []
        any_stale = False
        prepared: dict[PositionKey, tuple[PositionData, int, _Prepared, PositionSpec | None]] = {}
        isolated: dict[str, float | None] = {}
        pooled = acc.mode == "multi_assets" and bool(acc.collateral_assets)
        pooled_specs: list[PositionSpec] = []
        pooled_views: list[PositionView] = []
        for key, data in acc.positions.items():
            if data.margin_mode == "isolated":
                ccy = (data.settle or acc.venue.settle).upper()
                margin, held = isolated_margin_of(data), isolated.get(ccy, 0.0)
                isolated[ccy] = None if margin is None or held is None else held + margin
            mark_state = acc.marks.get(data.symbol)
            if mark_state is not None:
                mark = mark_state.price
                since = now - mark_state.received
                age: float | None = since if since > 0.0 else 0.0  # max(0.0, since), without the call
                stale = since > STALE_FACTOR * mark_state.interval
            else:
                mark = data.mark_price or data.entry_price
                age = None
                stale = True  # no live mark at all
            any_stale = any_stale or stale
            if acc.mode != "single" and data.margin_mode == "cross" and not (pooled and not data.inverse):
                why = MODE_NOTES.get(acc.mode, MODE_NOTES["unknown"])
                views.append(PositionView(acc.name, acc.venue.name, data, mark, age, stale, None, why))
                continue
            if data.inverse and not acc.venue.supports_inverse:  # no table can help: say why
                why = acc.venue.inverse_refusal or NO_INVERSE_MATHS
                ratio = _venue_ratio(acc, data)
                if ratio is not None:
                    why += (
                        f"; margin ratio: the {data.settle} account's maintenance margin / equity (the venue's figures)"
                    )
                views.append(PositionView(acc.name, acc.venue.name, data, mark, age, stale, None, why, ratio))
                continue
            hit = acc.prepared.get(key)
            last: PositionSpec | None = None
            if hit is not None and hit[0] is data and hit[1] == acc.tiers_version:
                prep = hit[2]
                last = hit[3]
            else:
                prep = self._prepare(acc, data)
            symbol, table, note, fee_rate, margin, tick, refusal = prep
            if table is None or refusal:
                prepared[key] = (data, acc.tiers_version, prep, None)
                views.append(PositionView(acc.name, acc.venue.name, data, mark, age, stale, None, refusal or note))
                continue
            if last is not None and last.mark_price == mark:
                spec = last  # the same inputs: the risk core keeps what it computed from them
            else:
                spec = PositionSpec(  # positional (its fields' order): once per position and second
                    symbol,
                    data.side,
                    data.size,
                    data.entry_price,
                    mark,
                    table,
                    data.margin_mode,
                    data.position_side,
                    data.leverage,
                    margin,
                    fee_rate,
                    None,  # max_leverage
                    data.adl_lights,
                    data.exchange_liquidation_price,
                    tick,
                    data.inverse,
                    data.settle,
                    data.contracts,
                    data.contract_size,
                )
            prepared[key] = (data, acc.tiers_version, prep, spec)
            if pooled and data.margin_mode == "cross":  # computed from the collateral below
                pooled_specs.append(spec)
                pooled_views.append(PositionView(acc.name, acc.venue.name, data, mark, age, stale, None, note))
                continue
            specs.append(spec)
            kept.append(PositionView(acc.name, acc.venue.name, data, mark, age, stale, None, note))
            kept_keys.append(key)
        acc.prepared = prepared  # the positions held now only
        risk: PortfolioRisk | None = None
        solved: list[SolvedPool] | None = None
        acc.last_specs = specs
        wallet, missing = self.pool_wallets(acc, specs)
        refusal = "waiting for the account balance" + (f" ({', '.join(missing)})" if missing else "")
        if acc.positions_ts is None:  # nothing read yet: no figures (not those of an empty portfolio)
            refusal = "no positions read yet"
        elif not missing:
            try:
                risk, solved = assess_solved(acc.venue, specs, wallet, acc.solved)
            except InputError as exc:  # e.g. a position past the end of a (bundled) tier table
                risk = None
                refusal = f"risk not computed: {exc.message}"
        acc.solved = solved
        if risk is not None:
            acc.last_risk = {}
            for key, kept_view, prisk in zip(kept_keys, kept, risk.positions, strict=True):
                acc.last_risk[key] = prisk
                kept_view.risk = prisk
        else:
            for kept_view in kept:
                kept_view.note = refusal
        views.extend(kept)
        collateral_risk = self._pooled(acc, pooled_specs, pooled_views) if pooled and risk is not None else None
        views.extend(pooled_views)
        states: dict[str, str] = {ch: str(st.state) for ch, st in acc.status.items()}
        detail = "; ".join(st.detail for st in acc.status.values() if st.state == "error" and st.detail)
        data_status: DataStatus = "ok"
        reason = ""
        if risk is None:
            if acc.positions_ts is None:  # no data: the feed's error (a retry under way too), else connecting
                reason = detail or acc.last_error
                data_status = "error" if reason else "connecting"
                reason = reason or refusal
            elif missing and not detail:
                data_status, reason = "connecting", refusal
            else:
                data_status, reason = "error", "; ".join(r for r in (detail, refusal) if r)
            if data_status == "error":
                detail = reason
        view = AccountView(
            acc.name,
            acc.venue.name,
            acc.wallet_balance,
            risk,
            states,
            detail,
            any_stale or data_status != "ok",
            dict(acc.wallets),
            data_status,
            reason,
            isolated,
            acc.mode,
            acc.mode_detail,
            acc.margin_ratio_venue,
            None
            if acc.mode == "single"
            else POOLED_NOTE
            if collateral_risk is not None
            else MODE_NOTES.get(acc.mode, MODE_NOTES["unknown"]),
            collateral_risk,
            acc.account_status_venue,
            solved=solved if risk is not None else None,
        )
        view.collateral_venue = acc.collateral_venue
        native = view.margin_ratio_native_name
        if native is not None:
            value = acc.venue_inputs.get(native)
            view.margin_ratio_native = float(value) if isinstance(value, int | float) else None
        self._log_ratio_diff(acc, view)
        return view, views

    @staticmethod
    def _pooled(acc: AccountState, specs: list[PositionSpec], views: list[PositionView]) -> CollateralRisk | None:
        """A ``multi_assets`` account from its collateral (:func:`assess_collateral`): each cross
        view gets its liquidation price; None (each view saying why) where the core refuses."""
        note = MODE_NOTES["multi_assets"]
        last = acc.last_pooled
        if (
            last is not None
            and last[1] is acc.collateral_assets
            and len(last[0]) == len(specs)
            and all(a is b for a, b in zip(last[0], specs, strict=True))
        ):
            found = last[2]  # the same positions at the same marks on the same collateral
        else:
            try:
                found = assess_collateral(acc.venue, specs, acc.collateral_assets)
            except InputError as exc:
                acc.last_pooled = None
                for view in views:
                    view.note = f"{note} (not computed: {exc.message})"
                return None
            acc.last_pooled = (specs, acc.collateral_assets, found)
        understated = liability_warnings(found)  # Gate, Bitget: a liability's MM, not modelled
        for view, position in zip(views, found.positions, strict=True):
            view.collateral = position
            view.note = POOLED_NOTE + "".join(f"; {line}" for line in understated)
        return found

    @staticmethod
    def _log_ratio_diff(acc: AccountState, view: AccountView) -> None:
        """Log (once per account, a stderr line) our account margin ratio further than
        :data:`RATIO_DIFF` of the venue's from it, with the inputs on both sides."""
        diff = view.margin_ratio_diff
        if acc.ratio_logged or diff is None or view.risk is None or view.margin_ratio_venue is None:
            return
        venue = view.margin_ratio_venue
        if abs(diff) <= RATIO_DIFF * abs(venue) * (1 + 1e-9):
            return
        acc.ratio_logged = True
        cr = view.collateral_risk
        if cr is not None:
            ours, mm, balance = cr.margin_ratio, cr.maintenance_margin_usd, cr.effective_equity
        else:
            a = view.risk.account
            ours, mm, balance = a.margin_ratio, a.maintenance_margin, a.margin_balance
        theirs = ", ".join(f"{k} {v}" for k, v in acc.venue_inputs.items())
        log.warning(
            "%s account '%s': margin ratio %.6g (liqwatch: maintenance margin %.10g / margin balance %.10g) "
            "vs the venue's %.6g (%s): %+.6g",
            view.exchange,
            view.name,
            ours,
            mm,
            balance,
            venue,
            theirs or "no inputs",
            diff,
        )

    def _prepare(self, acc: AccountState, data: PositionData) -> _Prepared:
        """What ``data``'s risk inputs need besides the mark: a function of the data and the
        account's tier tables only (the bundled markets and ticks do not change while running)."""
        symbol, table, note = self._table(acc, data)
        fee_rate = self.fee_rate(acc.venue, data)
        if data.fee_note:
            note = "; ".join(n for n in (note, f"fee: {data.fee_note}") if n)
        if table is None:
            return symbol, None, note, fee_rate, None, None, ""
        margin = isolated_margin_of(data)
        if data.margin_mode == "isolated" and not (margin and margin > 0):
            return symbol, table, note, fee_rate, None, None, "isolated margin unknown: risk not computed"
        isolated = margin if data.margin_mode == "isolated" else None
        return symbol, table, note, fee_rate, isolated, self._tick(acc, data), ""

    @staticmethod
    def pool_wallets(acc: AccountState, specs: list[PositionSpec]) -> tuple[float | dict[str, float], list[str]]:
        """What ``assess`` takes as the cross collateral: the settle currency's wallet (a float) while
        every position settles in it, else one wallet per settle currency held (a mapping); and the
        currencies whose wallet a cross position needs but no balance has said yet."""
        default = acc.venue.settle.upper()
        settles = {(s.settle or default).upper() for s in specs}
        cross = {(s.settle or default).upper() for s in specs if s.margin_mode == "cross"}
        wallets = dict(acc.wallets)
        if acc.wallet_balance is not None:
            wallets.setdefault(default, acc.wallet_balance)
        missing = sorted(c for c in cross if c not in wallets)
        if settles <= {default}:
            return acc.wallet_balance or 0.0, missing
        return {c: wallets.get(c, 0.0) for c in sorted(settles | {default})}, missing

    def mismatches(self, snap: Snapshot) -> list[dict[str, Any]]:
        """Event records for the positions of ``snap`` whose liquidation price is more than
        :data:`MISMATCH_TICKS` ticks from the venue's, with the inputs that explain it. Each
        position is reported once (again only after it has gone and come back)."""
        present = {(v.account, v.data.symbol, v.data.side) for v in snap.positions}
        self._mismatched &= present
        accounts = {a.name: a for a in snap.accounts}
        out: list[dict[str, Any]] = []
        for view in snap.positions:
            ticks = diff_ticks(view)
            if ticks is None or abs(ticks) <= MISMATCH_TICKS * (1 + 1e-9):
                continue
            key = (view.account, view.data.symbol, view.data.side)
            if key in self._mismatched:
                continue
            self._mismatched.add(key)
            acc = self.accounts.get(view.account)
            out.append(mismatch_record(view, accounts.get(view.account), acc.venue if acc else None, snap.ts))
        return out


def isolated_margin_of(data: PositionData) -> float | None:
    """An isolated position's margin: as the feed read it, else its initial margin (value at entry /
    leverage; USD linear, coin Q/EP inverse); None where neither is known. A cross position's: as read."""
    margin = data.isolated_margin
    if data.margin_mode == "isolated" and margin is None and data.leverage:
        value = data.size / data.entry_price if data.inverse else data.size * data.entry_price
        margin = value / data.leverage
    return margin


def _venue_ratio(acc: AccountState, data: PositionData) -> float | None:
    """The venue's account-level ratio for ``data``'s settle currency (maintenance margin / equity)."""
    mm, equity = acc.venue_figures.get((data.settle or acc.venue.settle).upper(), (None, None))
    if mm is None or equity is None or equity <= 0:
        return None
    return mm / equity


@lru_cache(maxsize=8192)
def _bundled_tick(venue: Venue, symbol: str, inverse: bool = False) -> float | None:
    """The bundled market's tick (looked up once per symbol, not once per position per snapshot)."""
    try:
        _, market = find_market(venue, symbol, inverse=inverse)
    except InputError:
        return None
    return market.tick_size if market is not None else None


def fmt_ratio(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


# ---------------------------------------------------------------------- JSON shapes
# The snapshot records are built in liqwatch.records (position_record, account_record and
# snapshot_record are kept importable from here); the mismatch event stays with the state store.


def _implied(view: PositionView, venue: Venue | None) -> dict[str, float | None]:
    """For an isolated position: the margin that would give the venue's liquidation price with
    liqwatch's bracket and fee rate, and (venues that count a fee) the fee rate that would with
    liqwatch's margin. Same maths as the core, solved the other way round."""
    risk = view.risk
    venue_lp = view.data.exchange_liquidation_price
    if risk is None or venue_lp is None or risk.spec.margin_mode != "isolated" or venue is None:
        return {}
    spec = risk.spec
    q, ep, s = spec.size, spec.entry_price, spec.sign
    if spec.inverse:
        return _implied_inverse(risk, venue, venue_lp)
    if venue.mm_at_entry_isolated:  # Bybit: LP = EP - s x (margin - MM at entry - fee) / Q
        return {"isolated_margin": _num(risk.maintenance_margin + risk.liquidation_fee + s * q * (ep - venue_lp))}
    mmr, cum, fee = risk.tier.mmr, risk.tier.maint_amount, spec.fee_rate
    # equity(LP) = MM(LP) + fee(LP): margin + s Q (LP - EP) = Q LP (mmr + f) - cum
    out: dict[str, float | None] = {"isolated_margin": _num(q * venue_lp * (mmr + fee) - cum - s * q * (venue_lp - ep))}
    margin = spec.isolated_margin
    if venue.default_fee_rate > 0 and margin is not None:
        out["fee_rate"] = _num((margin + cum + s * q * (venue_lp - ep)) / (q * venue_lp) - mmr)
    return out


def _implied_inverse(risk: PositionRisk, venue: Venue, venue_lp: float) -> dict[str, float | None]:
    """``_implied`` for a coin-margined position (amounts in the coin): equity(LP) = MM(LP) + fee(LP),
    M + s Q (1/EP - 1/LP) = Q (mmr + f) / LP - cum (the venues whose inverse MM is at the LP)."""
    if venue.inverse_mm_at_entry_isolated:
        return {}
    spec = risk.spec
    q, ep, s = spec.size, spec.entry_price, spec.sign
    mmr, cum, fee = risk.tier.mmr, risk.tier.maint_amount, spec.fee_rate
    pnl = s * q * (1 / ep - 1 / venue_lp)
    out: dict[str, float | None] = {"isolated_margin": _num(q * (mmr + fee) / venue_lp - cum - pnl)}
    margin = spec.isolated_margin
    if venue.default_fee_rate > 0 and margin is not None:
        out["fee_rate"] = _num((margin + cum + pnl) * venue_lp / q - mmr)
    return out


def _bare(x: float, digits: int = 6) -> str:
    """A number in an event's ``detail``: positional (never scientific), no thousands separators."""
    return plain(x, digits, grouping=False)


def mismatch_record(view: PositionView, account: AccountView | None, venue: Venue | None, ts: float) -> dict[str, Any]:
    """A ``liquidation_price_mismatch`` event: both prices, the inputs liqwatch used and what
    would explain the difference."""
    data = view.data
    risk = view.risk
    assert risk is not None
    spec = risk.spec
    ticks = diff_ticks(view)
    implied = _implied(view, venue)
    fee_source: str | None = None  # the venue's formula counts no fee
    if venue is not None and venue.default_fee_rate > 0:
        fee_source = "account" if data.fee_rate is not None else "default"
    inputs: dict[str, Any] = {
        "size": spec.size,
        "entry_price": spec.entry_price,
        "mark_price": spec.mark_price,
        "mark_stale": view.stale,
        "leverage": spec.leverage,
        "isolated_margin": spec.isolated_margin,
        "margin_note": data.margin_note or None,
        "tier": risk.tier.index,
        "mmr": risk.tier.mmr,
        "maint_amount": risk.tier.maint_amount,
        "tiers_source": spec.tiers.source or None,
        "fee_rate": spec.fee_rate,
        "fee_rate_source": fee_source,
        "fee_note": data.fee_note or None,
    }
    if spec.margin_mode == "cross" and account is not None and account.risk is not None:
        a = account.risk.account
        inputs["cross_wallet_balance"] = a.cross_wallet_balance
        inputs["cross_margin_balance"] = a.cross_margin_balance
        inputs["cross_maintenance_margin"] = a.cross_maintenance_margin
    why: list[str] = []
    if data.margin_note:
        why.append(f"margin: {data.margin_note}")
    if "bundled tiers" in view.note:
        why.append(f"tiers: {view.note}")
    margin, implied_margin = spec.isolated_margin, implied.get("isolated_margin")
    if margin is not None and implied_margin is not None and abs(implied_margin - margin) > 1e-9 * max(1.0, margin):
        why.append(
            f"a margin of {_bare(implied_margin, 10)} (liqwatch used {_bare(margin, 10)}) gives the venue's price"
        )
    if data.fee_note:
        why.append(f"fee: {data.fee_note}")
    implied_fee = implied.get("fee_rate")
    if implied_fee is not None and fee_source == "account":
        why.append(
            f"the liquidation fee is counted at {_bare(spec.fee_rate * 100)}% (the account's taker rate, read from "
            f"{view.exchange}); {_bare(implied_fee * 100, 4)}% would give the venue's price"
        )
    elif implied_fee is not None:
        why.append(
            f"the liquidation fee is counted at {_bare(spec.fee_rate * 100)}% (liqwatch's default for "
            f"{view.exchange}); "
            f"{_bare(implied_fee * 100, 4)}% gives the venue's price (the account's own taker rate?)"
        )
    if spec.margin_mode == "cross":
        why.append("cross: the venue prices every position at its own marks and time; liqwatch at its latest marks")
    venue_lp = data.exchange_liquidation_price
    assert risk.liquidation_price is not None and venue_lp is not None and spec.tick_size  # diff_ticks had them
    head = (
        f"{data.symbol} {data.side}: liqwatch {_bare(risk.liquidation_price, 10)} vs the venue's {_bare(venue_lp, 10)} "
        f"({ticks:+.1f} ticks of {_bare(spec.tick_size)})"
    )
    return {
        "type": "event",
        "ts": ts,
        "account": view.account,
        "exchange": view.exchange,
        "kind": "liquidation_price_mismatch",
        "symbol": data.symbol,
        "side": data.side,
        "position_side": data.position_side,
        "margin_mode": data.margin_mode,
        "liquidation_price": _num(risk.liquidation_price),
        "exchange_liquidation_price": venue_lp,
        "liquidation_price_diff_ticks": ticks,
        "tick_size": spec.tick_size,
        "inputs": {k: (_num(v) if isinstance(v, float) else v) for k, v in inputs.items()},
        "implied": implied,
        "detail": "; ".join([head, *why]),
    }


__all__ = [
    "FEED_ERRORS_KEPT",
    "MISMATCH_TICKS",
    "STALE_FACTOR",
    "AccountState",
    "AccountView",
    "DataStatus",
    "Mark",
    "Notice",
    "PositionView",
    "Snapshot",
    "State",
    "account_record",
    "diff_ticks",
    "fmt_ratio",
    "isolated_margin_of",
    "mismatch_record",
    "position_record",
    "snapshot_record",
]
