"""Multi-collateral accounts (multi-assets, multi-currency, unified, portfolio margin): the account's
effective equity in USD, its maintenance margin in USD, the account margin ratio, and each cross
position's exact liquidation price with the collateral that moves with it.

Pure: no I/O. The boundary (portfolio files, feeds) builds :class:`CollateralAsset` records and
hands them in with the positions (``PositionSpec``, as for :func:`liqwatch.core.engine.assess`).
Research notes: shared reference ``collateral.md``; every venue rule below names its page.

Effective equity (``collateral.md`` §0 and §10.2)::

    EffEq = sum over assets A of value(e_A, p_A)
    e_A   = amount_A + unrealized PnL of the positions settled in A       (the asset's equity)

A positive equity is valued at its price times the venue's collateral ratio: flat; tiered by
quantity (Bybit ``collateralRatioList``, OKX ``discount-rate-interest-free-quota``: each slice of
the quantity at its tier's ratio); tiered by USD value (Bitget multi-asset haircut, Binance PM Pro
``collateralRate`` tiers); or Binance Multi-Assets' bid rate ``index x (1 - bidBuffer)``. A negative
equity (a liability) is counted at full value, or at Binance's ask rate ``index x (1 + askBuffer)``
("Account Equity = sum min(assetEquity x bidRate, assetEquity x askRate)"). No maintenance margin on
a liability is modelled; where a venue adds one (Gate, Bitget, Bybit, OKX), :func:`liability_warnings` says
where it applies.

Maintenance margin in USD: each position's requirement (its bracket MM plus the liquidation fee the
venue counts, exactly as :mod:`liqwatch.core.engine` computes it, in its settle asset) converted at
the settle asset's price; at its ask rate where the asset has bid/ask buffers (Binance FAQ "How to
Calculate Margin in Multi-Assets Mode": MM 0.5 x 20,000 x 0.008 x 0.99495).

Account margin ratio: ``trigger x MM / EffEq``, 1.0 = liquidation (liqwatch's convention). The
trigger is 1 except on Binance Portfolio Margin, which liquidates at uniMMR = EffEq / MM <= 1.05,
i.e. at MM / EffEq = 1 / 1.05. The venue's own figure (uniMMR, OKX ``mgnRatio``, Gate
``total_maintenance_margin_rate``, all EffEq / MM) is ``margin_ratio_native``.

Liquidation price of a cross position (all legs of its symbol together, as in the engine): its
mark P moves, every other mark is held, and so is every collateral price except the asset that IS
the position's underlying (the symbol's base: BTC behind BTC/USDT:USDT), whose price moves in
proportion, ``p(P) = p_now x P / mark``. Then the settle asset's equity is linear in P, the
underlying's price is linear in P, and within one haircut tier, one sign of each equity and one MM
bracket the whole condition ``EffEq(P) = trigger x MM(P)`` is linear in P. The breakpoints are
known in closed form (bracket floors / size; where the settle equity crosses zero or a quantity or
value tier boundary; where the underlying's value crosses a value tier boundary), so each segment
is solved exactly (no iteration to a tolerance). Each side of the mark is taken on its own: where
the slope of ``h = EffEq - trigger x MM`` keeps one sign over every piece that side can reach (and
no bracket jump is possible), that side holds at most one crossing, found by solving the segment's
line and re-reading the pieces at its root until they give the same line (the engine's "recompute
with the bracket at the liquidation price"), or shown absent; otherwise the side is walked segment
by segment from the mark, a jump of h across zero at a bracket floor (tables without maintenance
amounts) counting as a crossing there. The crossing nearest the mark is the liquidation price; the
nearest below and above are reported too. A long backed by its own coin liquidates nearer; a short
can liquidate on a fall when its collateral outweighs it; a short fully hedged by collateral has no
liquidation price (None) until a haircut tier changes the balance.

Underlying matching is by name: the collateral asset named like the symbol's base co-moves (BTC
behind BTC/USDT:USDT); a scaled contract (1000PEPE) or a wrapped asset (WBETH) does not.

Scope (refused with a one-line message naming the field): cross positions only (an isolated
position keeps its own margin: assess it with the engine), linear positions only (an inverse
position's PnL is in its own coin, whose price moves with its mark: not linear), and portfolio mode
only where the venue's MM is the bracket formula (Binance PM: futuresMM = |MMR x Q x mark| - cum);
OKX, Bybit, Gate, Deribit and Hyperliquid portfolio margin set MM by stress scenarios.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from math import isfinite
from typing import Literal

from liqwatch.core.engine import beyond_table_error, check_covered, settle_of, solver_leg
from liqwatch.core.errors import InputError
from liqwatch.core.model import PositionSpec, Status
from liqwatch.core.numfmt import plain, typed
from liqwatch.core.solver import Leg
from liqwatch.core.symbols import unified_parts
from liqwatch.core.tiers import Tier, TierTable
from liqwatch.core.venues import Venue
from liqwatch.core.venues.collateral_conventions import (
    ACCOUNT_CONVENTIONS,
    LARGER_HEDGE_LEG_ONLY,
    LIABILITY_MM_UNMODELLED,
    PORTFOLIO_BRACKET_MM,
    AccountConvention,
)

TierBasis = Literal["quantity", "value"]
AccountMode = Literal["single", "multi_assets", "portfolio"]
Valuation = Literal["ratio", "tiers", "buffers"]

_INF = float("inf")

NEGLIGIBLE_PRICE = 1e-9
"""A crossing below this fraction of the mark, or above the mark divided by it, is float rounding,
not a price: of a zero root (a hedged pair with no collateral: its equity and requirement both
vanish at P = 0), or of a zero slope (a short hedged exactly by its own coin: 1e-17 left over puts
the root at 1e20)."""

_Shape = tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...]]
"""Per bracket k: lowest and highest MMR of brackets 0..k, then of brackets k..last."""


_Coefficients = Callable[[float], tuple[float, float]]
"""h(P) = a + b P on the segment that holds the probe price."""


@dataclass(frozen=True, slots=True)
class CollateralTier:
    """One haircut tier: the slice of the asset's quantity (``tier_basis`` "quantity") or USD value
    ("value") between ``min`` and ``max`` (None = no end) counts at ``ratio``."""

    min: float
    max: float | None
    ratio: float


@dataclass(frozen=True, slots=True)
class CollateralAsset:
    """One collateral asset: a balance ``amount`` (negative for a borrowed balance) at ``price``
    (USD per unit: the venue's collateral index), valued by exactly one of: a flat ``ratio``;
    ``tiers`` with their ``tier_basis``; or Binance's ``bid_buffer`` and ``ask_buffer``.

    Raises InputError (field ``collateral.<ASSET>.<field>``) for anything that would give a wrong
    number. The derived fields are for the hot path."""

    asset: str
    amount: float
    price: float
    ratio: float | None = None
    tiers: tuple[CollateralTier, ...] = ()
    tier_basis: TierBasis = "quantity"
    bid_buffer: float | None = None
    ask_buffer: float | None = None
    source: str = field(default="", repr=False, compare=False)
    """Where the valuation came from when not given with the asset (e.g. ``bybit cache as of
    2026-12-07 (https://...)``); "" when given. Provenance only: no figure depends on it."""
    kind: Valuation = field(init=False, repr=False, compare=False)
    floors: tuple[float, ...] = field(init=False, repr=False, compare=False)
    """Tier floors (quantity or USD), ascending; one entry (0) for a flat ratio or buffers."""
    rates: tuple[float, ...] = field(init=False, repr=False, compare=False)
    """The ratio of each tier (or the flat ratio, or 1 - bid buffer)."""
    cums: tuple[float, ...] = field(init=False, repr=False, compare=False)
    """Per tier: value = rate x x - cum for x (quantity or USD) in that tier (cum_1 = 0,
    cum_k = cum_(k-1) + floor_k x (rate_k - rate_(k-1))): each slice at its own tier's ratio."""
    liability_rate: float = field(init=False, repr=False, compare=False)
    """A negative equity's multiplier of its USD value: 1, or 1 + ask buffer."""
    conversion: float = field(init=False, repr=False, compare=False)
    """USD per unit at which an MM owed in this asset is counted: price, or the ask rate."""

    def __post_init__(self) -> None:
        name = self.asset.strip().upper()
        where = f"collateral.{name or '?'}"
        if not name:
            raise InputError("collateral.asset", "an asset needs a name (e.g. USDT)")
        object.__setattr__(self, "asset", name)
        if not isfinite(self.amount):
            raise InputError(f"{where}.amount", f"must be a finite number, got {self.amount!r}")
        if not (isfinite(self.price) and self.price > 0):
            raise InputError(f"{where}.price", f"must be > 0, got {self.price!r}")
        given = [k for k, on in (("ratio", self.ratio is not None), ("tiers", bool(self.tiers))) if on]
        if self.bid_buffer is not None or self.ask_buffer is not None:
            given.append("bid_buffer/ask_buffer")
        if len(given) != 1:
            raise InputError(
                where,
                "give exactly one valuation: ratio, tiers (with tier_basis) or bid_buffer and ask_buffer"
                + (f" (got {' and '.join(given)})" if given else ""),
            )
        price = self.price
        floors: tuple[float, ...]
        rates: tuple[float, ...]
        cums: tuple[float, ...]
        if self.ratio is not None:
            _check_ratio(f"{where}.ratio", self.ratio)
            kind: Valuation = "ratio"
            floors, rates, cums = (0.0,), (float(self.ratio),), (0.0,)
            liability = 1.0
        elif self.tiers:
            kind = "tiers"
            if self.tier_basis not in ("quantity", "value"):
                raise InputError(f"{where}.tier_basis", f"must be quantity or value, got {self.tier_basis!r}")
            floors, rates, cums = _tier_table(where, self.tiers)
            liability = 1.0
        else:
            kind = "buffers"
            bid, ask = self.bid_buffer, self.ask_buffer
            if bid is None or ask is None:
                raise InputError(
                    f"{where}.{'bid' if bid is None else 'ask'}_buffer", "give both bid_buffer and ask_buffer"
                )
            if not (isfinite(bid) and 0.0 <= bid <= 1.0):
                raise InputError(f"{where}.bid_buffer", f"must be between 0 and 1, got {bid!r}")
            if not (isfinite(ask) and ask >= 0.0):
                raise InputError(f"{where}.ask_buffer", f"must be >= 0, got {ask!r}")
            floors, rates, cums = (0.0,), (1.0 - bid,), (0.0,)
            liability = 1.0 + ask
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "floors", floors)
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "cums", cums)
        object.__setattr__(self, "liability_rate", liability)
        object.__setattr__(self, "conversion", price * liability if kind == "buffers" else price)

    @property
    def value_basis(self) -> bool:
        return self.kind == "tiers" and self.tier_basis == "value"


def _check_ratio(where: str, ratio: float) -> None:
    if not (isfinite(ratio) and 0.0 <= ratio <= 1.0):
        raise InputError(where, f"must be between 0 and 1, got {ratio!r}")


def _tier_table(
    where: str, tiers: Sequence[CollateralTier]
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """(floors, rates, cums) of contiguous tiers from 0 to no end."""
    floors: list[float] = []
    rates: list[float] = []
    cums: list[float] = []
    expected = 0.0
    for i, tier in enumerate(tiers):
        at = f"{where}.tiers[{i}]"
        if tier.min != expected:
            what = (
                "the first tier must start at 0"
                if i == 0
                else f"must start where tiers[{i - 1}] ends ({typed(expected)})"
            )
            raise InputError(f"{at}.min", f"{what}, got {tier.min!r}")
        _check_ratio(f"{at}.ratio", tier.ratio)
        last = i == len(tiers) - 1
        if tier.max is None:
            if not last:
                raise InputError(f"{at}.max", "only the last tier may have no end (max null)")
        else:
            if not (isfinite(tier.max) and tier.max > tier.min):
                raise InputError(f"{at}.max", f"must be above min {typed(tier.min)}, got {typed(tier.max)}")
            if last:
                raise InputError(
                    f"{at}.max",
                    "the last tier must have no end (max null); add the venue's last tier "
                    "(ratio 0 if it stops counting)",
                )
            expected = float(tier.max)
        cums.append(0.0 if i == 0 else cums[-1] + tier.min * (tier.ratio - rates[-1]))
        floors.append(float(tier.min))
        rates.append(float(tier.ratio))
    return tuple(floors), tuple(rates), tuple(cums)


def shocked(asset: CollateralAsset, pct: float) -> CollateralAsset:
    """The asset with its price moved by ``pct`` percent (``--collateral-shock ASSET=PCT``)."""
    if not (isfinite(pct) and pct > -100.0):
        raise InputError(f"collateral-shock.{asset.asset}", f"must be above -100 %, got {pct!r}")
    return replace(asset, price=asset.price * (1.0 + pct / 100.0))


@dataclass(slots=True)
class AssetValue:
    """One asset valued (the JSON ``account.collateral`` entries): ``equity`` = amount + PnL settled
    in it; ``value_usd`` = equity x price; ``collateral_value_usd`` what it counts for;
    ``ratio`` = collateral value / value (the tier or buffer rate at zero equity)."""

    asset: str
    amount: float
    equity: float
    price: float
    value_usd: float
    collateral_value_usd: float
    ratio: float


def _piece(a: CollateralAsset, e: float, p: float) -> tuple[float, float, float]:
    """(rate, cum_q, cum_v) with value = rate x e x p - cum_q x p - cum_v at equity e, price p."""
    if e < 0.0:
        return a.liability_rate, 0.0, 0.0
    floors = a.floors
    if len(floors) == 1:
        return a.rates[0], 0.0, 0.0
    if a.tier_basis == "value":
        k = bisect_right(floors, e * p) - 1
        return a.rates[k], 0.0, a.cums[k]
    k = bisect_right(floors, e) - 1
    return a.rates[k], a.cums[k], 0.0


def collateral_value(a: CollateralAsset, equity: float, price: float) -> float:
    """USD that ``equity`` units of the asset count for at ``price``."""
    rate, cum_q, cum_v = _piece(a, equity, price)
    return rate * equity * price - cum_q * price - cum_v


def value_asset(a: CollateralAsset, pnl: float = 0.0, price: float | None = None) -> AssetValue:
    """The asset valued with ``pnl`` (PnL settled in it, in its units) added to its balance, at its
    own price or ``price``."""
    p = a.price if price is None else price
    e = a.amount + pnl
    value = e * p
    cv = collateral_value(a, e, p)
    ratio = cv / value if value != 0.0 else _piece(a, e, p)[0]
    return AssetValue(a.asset, a.amount, e, p, value, cv, ratio)


CONVENTIONS = ACCOUNT_CONVENTIONS
"""(venue, mode) -> :class:`AccountConvention` (``liqwatch.core.venues.collateral_conventions``)."""


def convention(venue: Venue, mode: AccountMode) -> AccountConvention:
    """The convention of ``mode`` on ``venue``; refuses modes the core cannot compute."""
    if mode == "single":
        raise InputError("account_mode", "single-collateral accounts are assessed by the engine (engine.assess)")
    if mode == "portfolio" and venue.name not in PORTFOLIO_BRACKET_MM:
        raise InputError(
            "account_mode",
            f"{venue.name} portfolio margin sets maintenance margin by stress scenarios, which liqwatch does not "
            "model: use account_mode multi_assets, or read the venue's own account ratio",
        )
    if mode not in ("multi_assets", "portfolio"):
        raise InputError("account_mode", f"must be single, multi_assets or portfolio, got {mode!r}")
    return ACCOUNT_CONVENTIONS.get((venue.name, mode), AccountConvention())


def settle_asset(spec: PositionSpec, venue: Venue) -> str:
    """The asset a linear position's PnL and MM are in: ``spec.settle``, else the settle part of its
    unified symbol (``ETH/USDC:USDC`` -> USDC), else the venue's default (the engine's rule)."""
    if spec.settle:
        return spec.settle.strip().upper()
    parts = unified_parts(spec.symbol)
    return parts[2] if parts else settle_of(spec, venue)


def underlying_of(spec: PositionSpec) -> str:
    """The asset whose price the position's mark follows: the base of its unified symbol."""
    parts = unified_parts(spec.symbol)
    base = parts[0] if parts else spec.symbol.split("/")[0]
    return base.strip().upper()


def _names(spec: PositionSpec, venue: Venue) -> tuple[str, str]:
    """(:func:`settle_asset`, :func:`underlying_of`) with one parse of the symbol."""
    parts = unified_parts(spec.symbol)
    if parts is None:
        settle = spec.settle.strip().upper() if spec.settle else settle_of(spec, venue)
        return settle, spec.symbol.split("/")[0].strip().upper()
    settle = spec.settle.strip().upper() if spec.settle else parts[2]
    return settle, parts[0].strip().upper()


@dataclass(slots=True)
class CollateralPosition:
    """One cross position in a multi-collateral account. Money in ``settle`` units unless ``_usd``."""

    spec: PositionSpec
    settle: str
    underlying: str
    co_moving: bool
    """True when a collateral asset is the position's underlying and moves with its mark."""
    unrealized_pnl: float
    requirement: float
    """Bracket maintenance margin plus the venue's liquidation fee, as the engine computes it."""
    requirement_usd: float
    liquidation_price: float | None
    """The crossing nearest the mark (None: no positive price liquidates the account)."""
    liquidation_price_below: float | None
    liquidation_price_above: float | None
    distance_to_liquidation: float | None
    """(mark - liquidation) / mark for a long, (liquidation - mark) / mark for a short: negative when
    the price that liquidates lies on the position's winning side (collateral outweighs it)."""


@dataclass(slots=True)
class CollateralRisk:
    """A multi-collateral account (JSON ``account``: ``mode``, ``effective_equity``, ``collateral``)."""

    venue: str
    mode: AccountMode
    assets: list[AssetValue]
    equity_usd: float
    """Sum of value_usd: the account's equity before haircuts (Binance ``actualEquity``)."""
    effective_equity: float
    maintenance_margin_usd: float
    margin_ratio: float | None
    """trigger x MM / effective equity; 1.0 = liquidation; None when effective equity <= 0."""
    margin_ratio_native: float | None
    native_name: str | None
    trigger: float
    positions: list[CollateralPosition]
    status: Status
    """``bankrupt`` when effective equity <= 0, ``liquidatable`` when the ratio is >= 1, else ``ok``."""


class _Setup:
    """Everything the account and each solve share, computed once."""

    __slots__ = (
        "assets",
        "conv",
        "equity",
        "legs",
        "mm_usd",
        "others",
        "pnl",
        "pnl_by",
        "req",
        "req_by",
        "settles",
        "specs",
        "trigger",
        "unders",
        "unique",
        "venue",
    )

    def __init__(
        self, venue: Venue, specs: Sequence[PositionSpec], collateral: Sequence[CollateralAsset], trigger: float
    ) -> None:
        assets: dict[str, CollateralAsset] = {}
        for a in collateral:
            if a.asset in assets:
                raise InputError(f"collateral.{a.asset}", f"{a.asset} is listed twice; give one row per asset")
            assets[a.asset] = a
        if venue.size_dependent_tiers:
            specs = [venue.sized_spec(s) for s in specs]
        pnl_by = dict.fromkeys(assets, 0.0)
        req_by = dict.fromkeys(assets, 0.0)
        legs: list[Leg] = []
        pnl: list[float] = []
        req: list[float] = []
        settles: list[str] = []
        unders: list[str] = []
        counts: dict[str, int] = {}
        for i, spec in enumerate(specs):
            if spec.margin_mode != "cross":
                raise InputError(
                    f"positions[{i}].margin_mode",
                    f"{spec.symbol} is isolated: a multi-collateral account shares collateral across cross "
                    "positions only (assess isolated positions on their own margin)",
                )
            if spec.inverse:
                raise InputError(
                    f"positions[{i}].inverse",
                    f"{spec.symbol} is coin-margined: multi-collateral accounts cover linear positions "
                    "(assess inverse positions in single mode)",
                )
            settle, under = _names(spec, venue)
            if settle not in assets:
                raise InputError(
                    "collateral",
                    f"no row for {settle}, the settle asset of {spec.symbol}: add "
                    f'{{"asset": "{settle}", "amount": 0, "price": ..., "ratio": ...}} with its venue rate',
                )
            if under == settle:
                raise InputError(f"positions[{i}].settle", f"{spec.symbol} settles in its own underlying {under}")
            counts[spec.symbol] = counts.get(spec.symbol, 0) + 1
            legs.append(solver_leg(venue, spec))
            settles.append(settle)
            unders.append(under)
        if venue.name in LARGER_HEDGE_LEG_ONLY and len(counts) != len(specs):
            hedged = next(s.symbol for s in specs if counts[s.symbol] > 1)
            raise InputError(
                "positions",
                f"{hedged} is held long and short: {venue.name}'s multi-asset maintenance margin counts only the "
                "larger hedge leg, which liqwatch does not model (assess each leg on its own)",
            )
        if venue.cross_legs_share_bracket and len(counts) != len(specs):
            totals: dict[str, float] = {}
            for spec in specs:
                totals[spec.symbol] = totals.get(spec.symbol, 0.0) + spec.size
            for spec, leg in zip(specs, legs, strict=True):
                if counts[spec.symbol] > 1:
                    leg.tier_qty = totals[spec.symbol]
        for spec, leg, settle in zip(specs, legs, settles, strict=True):
            mark = spec.mark_price
            value = leg.bracket_value(mark)
            tier = spec.tiers.holding(value)  # the engine's requirement (solver.requirement), read once
            if tier is None:
                raise beyond_table_error(spec, venue, value, "at the mark")
            qty = leg.qty
            u = leg.sign * qty * (mark - leg.entry)
            r = qty * mark * (tier.mmr + leg.fee_rate) - tier.maint_amount
            pnl.append(u)
            req.append(r)
            pnl_by[settle] += u
            req_by[settle] += r
        self.venue = venue
        self.unique = len(counts) == len(specs)
        self.assets = assets
        self.specs = specs
        self.legs = legs
        self.pnl = pnl
        self.req = req
        self.settles = settles
        self.unders = unders
        self.pnl_by = pnl_by
        self.equity = {name: a.amount + pnl_by[name] for name, a in assets.items()}
        self.req_by = req_by
        self.conv = {name: a.conversion for name, a in assets.items()}
        self.mm_usd = 0.0
        for name, r in req_by.items():
            self.mm_usd += r * self.conv[name]
        self.trigger = trigger
        self.others: dict[tuple[str, str], tuple[float, float]] = {}


_SHAPES: dict[int, tuple[tuple[Tier, ...], _Shape | None]] = {}
"""Memo of :func:`_shape` by the identity of a bracket tuple (kept alive by the entry, so an id is
never reused while cached); cleared when it grows past ``_SHAPES_MAX`` entries."""
_SHAPES_MAX = 20_000


def _shape(table: TierTable) -> _Shape | None:
    """The MMR ranges of the brackets at or below / at or above each bracket; None where the
    requirement jumps at a floor (value x MMR - maintenance amount differs on its two sides: a table
    without maintenance amounts)."""
    tiers = table.tiers
    hit = _SHAPES.get(id(tiers))
    if hit is not None and hit[0] is tiers:
        return hit[1]
    got: _Shape | None = None
    n = len(tiers)
    for k in range(1, n):
        prev, tier = tiers[k - 1], tiers[k]
        jump = tier.floor * (tier.mmr - prev.mmr) - (tier.maint_amount - prev.maint_amount)
        if abs(jump) > 1e-9 * max(1.0, abs(tier.maint_amount)):
            break
    else:
        mmrs = [t.mmr for t in tiers]
        lo_up, hi_up = mmrs[:], mmrs[:]
        for k in range(1, n):  # over brackets 0..k
            lo_up[k] = min(lo_up[k - 1], mmrs[k])
            hi_up[k] = max(hi_up[k - 1], mmrs[k])
        lo_down, hi_down = mmrs[:], mmrs[:]
        for k in range(n - 2, -1, -1):  # over brackets k..last
            lo_down[k] = min(lo_down[k + 1], mmrs[k])
            hi_down[k] = max(hi_down[k + 1], mmrs[k])
        got = (tuple(lo_up), tuple(hi_up), tuple(lo_down), tuple(hi_down))
    if len(_SHAPES) >= _SHAPES_MAX:
        _SHAPES.clear()
    _SHAPES[id(tiers)] = (tiers, got)
    return got


def assess_collateral(
    venue: Venue,
    specs: Sequence[PositionSpec],
    collateral: Sequence[CollateralAsset],
    mode: AccountMode = "multi_assets",
) -> CollateralRisk:
    """The account (effective equity, MM in USD, margin ratios, each asset valued) and every
    position's liquidation price with co-moving collateral. ``specs`` are cross linear positions
    validated as for the engine (``check_position`` / ``check_account``); positions are reported in
    input order, assets in ``collateral`` order."""
    conv = convention(venue, mode)
    setup = _Setup(venue, specs, collateral, conv.trigger)
    values = [value_asset(a, setup.pnl_by[name]) for name, a in setup.assets.items()]
    eff = 0.0
    gross = 0.0
    for v in values:
        eff += v.collateral_value_usd
        gross += v.value_usd
    mm = setup.mm_usd
    positions = _solve_all(setup, eff, values)
    ratio = conv.trigger * mm / eff if eff > 0.0 else None
    native = (eff / mm if mm > 0.0 else None) if conv.native_name else None
    status: Status = "bankrupt" if ratio is None else "liquidatable" if ratio >= 1.0 else "ok"
    return CollateralRisk(
        venue.name, mode, values, gross, eff, mm, ratio, native, conv.native_name, conv.trigger, positions, status
    )


def liability_warnings(risk: CollateralRisk) -> list[str]:
    """On a venue that adds a maintenance margin on liabilities liqwatch does not model
    (:data:`LIABILITY_MM_UNMODELLED`: Gate, Bitget, Bybit, OKX): one line saying where it applies, each asset
    whose equity is negative now and each position whose reported liquidation price lies where its
    settle asset's equity is negative (its legs' PnL moved there); [] where none is, or elsewhere."""
    rule = LIABILITY_MM_UNMODELLED.get(risk.venue)
    if rule is None:
        return []
    equity = {v.asset: v.equity for v in risk.assets}
    where = [f"{name} equity {plain(e)} now" for name, e in equity.items() if e < 0.0]
    legs: dict[str, tuple[float, float]] = {}  # symbol -> (sum s Q, sum s Q mark): its PnL moves by these
    for q in risk.positions:
        sq, sqm = legs.get(q.spec.symbol, (0.0, 0.0))
        legs[q.spec.symbol] = (sq + q.spec.sign * q.spec.size, sqm + q.spec.sign * q.spec.size * q.spec.mark_price)
    for p in risk.positions:
        price = p.liquidation_price
        if price is None:
            continue
        sq, sqm = legs[p.spec.symbol]
        e = equity[p.settle] + sq * price - sqm
        if e < 0.0:
            where.append(f"{p.settle} equity {plain(e)} at {p.spec.symbol}'s liquidation price {plain(price)}")
    if not where:
        return []
    return [
        f"{risk.venue}: a negative equity is a liability ({'; '.join(where)}); {rule}, which liqwatch does not "
        "model: the maintenance margin is understated there (the liquidation is nearer than shown)"
    ]


def account_margin_ratio(
    venue: Venue,
    specs: Sequence[PositionSpec],
    collateral: Sequence[CollateralAsset],
    mode: AccountMode = "multi_assets",
) -> float | None:
    """The account margin ratio alone (trigger x MM / effective equity), summed directly from each
    asset's value and each position's requirement, without solving anything."""
    conv = convention(venue, mode)
    setup = _Setup(venue, specs, collateral, conv.trigger)
    eff = 0.0
    for name, a in setup.assets.items():
        eff += collateral_value(a, setup.equity[name], a.price)
    mm = setup.mm_usd
    return conv.trigger * mm / eff if eff > 0.0 else None


def target_marks(
    venue: Venue,
    specs: Sequence[PositionSpec],
    collateral: Sequence[CollateralAsset],
    ratio: float,
    mode: AccountMode = "multi_assets",
) -> list[float | None]:
    """Each position's mark (its symbol's legs together, the collateral on its base moving with it,
    every other price held) at which the account margin ratio reaches ``ratio`` (1.0: the
    liquidation price), nearest the mark; None where no positive price reaches it. The liquidation
    solve itself, with the trigger divided by ``ratio`` (trigger x MM / EffEq = ratio <=> EffEq =
    (trigger / ratio) x MM)."""
    if not (isfinite(ratio) and ratio > 0.0):
        raise InputError("target_margin_ratio", f"must be > 0, got {ratio!r}")
    conv = convention(venue, mode)
    setup = _Setup(venue, specs, collateral, conv.trigger / ratio)
    values = [value_asset(a, setup.pnl_by[name]) for name, a in setup.assets.items()]
    eff = 0.0
    for v in values:
        eff += v.collateral_value_usd
    return [p.liquidation_price for p in _solve_all(setup, eff, values)]


def moved(
    specs: Sequence[PositionSpec], collateral: Sequence[CollateralAsset], symbol: str, price: float
) -> tuple[list[PositionSpec], list[CollateralAsset]]:
    """The account with ``symbol``'s mark at ``price`` and the collateral asset that is its
    underlying moved in proportion; every other mark and price held (what the solve assumes)."""
    out: list[PositionSpec] = []
    mark: float | None = None
    under = ""
    for spec in specs:
        if spec.symbol == symbol:
            if mark is None:
                mark = spec.mark_price
                under = underlying_of(spec)
            out.append(replace(spec, mark_price=price))
        else:
            out.append(spec)
    if mark is None:
        raise InputError("symbol", f"no position in {symbol}")
    factor = price / mark
    assets = [replace(a, price=a.price * factor) if a.asset == under else a for a in collateral]
    return out, assets


def _solve_all(setup: _Setup, eff: float, values: list[AssetValue]) -> list[CollateralPosition]:
    specs = setup.specs
    value_of = {v.asset: v.collateral_value_usd for v in values}
    found: list[tuple[float | None, float | None]]
    if setup.unique:  # one position per symbol: each is its own group
        found = [_solve_group(setup, [i], eff, value_of) for i in range(len(specs))]
    else:
        groups: dict[str, list[int]] = {}
        for i, spec in enumerate(specs):
            groups.setdefault(spec.symbol, []).append(i)
        found = [(None, None)] * len(specs)
        for members in groups.values():
            result = _solve_group(setup, members, eff, value_of)
            for i in members:
                found[i] = result
    out: list[CollateralPosition] = []
    conv = setup.conv
    assets = setup.assets
    for i, spec in enumerate(specs):
        below, above = found[i]
        mark = spec.mark_price
        if above is not None and above * NEGLIGIBLE_PRICE >= mark:
            above = None
        if below is None:
            lp = above
        elif above is None:
            lp = below
        else:
            lp = below if mark - below <= above - mark else above
        if not spec.tiers.complete:
            for price, where in ((below, "at the liquidation price below"), (above, "at the liquidation price above")):
                if price is not None:
                    check_covered(spec, setup.venue, setup.legs[i], price, where)
        sign = 1 if spec.side == "long" else -1
        settle = setup.settles[i]
        under = setup.unders[i]
        out.append(
            CollateralPosition(
                spec,
                settle,
                under,
                under in assets,
                setup.pnl[i],
                setup.req[i],
                setup.req[i] * conv[settle],
                lp,
                below,
                above,
                None if lp is None else sign * (mark - lp) / mark,
            )
        )
    return out


def _solve_group(
    setup: _Setup, members: list[int], eff: float, value_of: dict[str, float]
) -> tuple[float | None, float | None]:
    """(nearest crossing below the mark, nearest above) of one symbol's legs, exactly, per segment."""
    specs = setup.specs
    first = members[0]
    mark = specs[first].mark_price
    settle = setup.settles[first]
    under = setup.unders[first]
    assets = setup.assets
    trig = setup.trigger
    legs = [setup.legs[i] for i in members]
    s_asset = assets[settle]
    u_asset = assets.get(under)
    p_s = s_asset.price
    conv_s = s_asset.conversion
    beta = 0.0
    g_req = 0.0
    for i in members:
        leg = setup.legs[i]
        beta += leg.sign * leg.qty
        g_req += setup.req[i]
    e_s_now = setup.equity[settle]
    alpha_s = e_s_now - beta * mark
    # Constant part: every asset but the settle asset and the underlying, minus every requirement
    # but this group's and those owed in the underlying (which move with its price).
    # (Summed over the other assets directly, once per settle/underlying pair: subtracting the
    # pair's values from the total would cancel digits when they dominate it.)
    pair = (settle, under if u_asset is not None else "")
    others = setup.others.get(pair)
    if others is None:
        other_value = 0.0
        other_mm = 0.0
        for name, value in value_of.items():
            if name not in pair:
                other_value += value
                other_mm += setup.req_by[name] * setup.conv[name]
        others = setup.others[pair] = (other_value, other_mm)
    const_value, other_mm = others
    req_u = setup.req_by.get(under, 0.0) if u_asset is not None else 0.0
    mm_const = other_mm + (setup.req_by[settle] - g_req) * conv_s
    base = const_value - trig * mm_const
    e_u = setup.equity[under] if u_asset is not None else 0.0
    gamma = (u_asset.price / mark) if u_asset is not None else 0.0
    u_mm_slope = trig * req_u * (u_asset.conversion / mark) if u_asset is not None else 0.0
    k_s = trig * conv_s
    s_flat = len(s_asset.floors) == 1
    s_pos, s_neg = s_asset.rates[0], s_asset.liability_rate
    if u_asset is None:
        u_fixed = True
        u_b = 0.0
    else:
        u_fixed = not u_asset.value_basis  # its piece does not move with the price
        if u_fixed:  # the underlying's value is proportional to the price: a fixed slope
            rate, cum_q, _ = _piece(u_asset, e_u, u_asset.price)
            u_b = (rate * e_u - cum_q) * gamma - u_mm_slope
        else:
            u_b = -u_mm_slope
    if u_fixed and s_flat and len(legs) == 1:
        fast = _one_leg(legs[0], mark, base, k_s, alpha_s, beta, p_s, s_pos, s_neg, u_b)
        if fast is not None:
            return fast
    if len(legs) == 1:  # one leg (the usual case): its bracket read directly
        leg = legs[0]
        table = leg.table
        tiers_of = table.tiers
        position = table.position
        qty = leg.qty
        bracket_qty = qty if leg.tier_qty is None else leg.tier_qty
        notional = table.basis == "notional"
        fee = leg.fee_rate

        def legs_part(probe: float) -> tuple[float, float]:
            tier = tiers_of[position(bracket_qty * probe if notional else bracket_qty)]
            return k_s * tier.maint_amount, k_s * qty * (tier.mmr + fee)

    else:

        def legs_part(probe: float) -> tuple[float, float]:
            a = 0.0
            b = 0.0
            for leg in legs:
                table = leg.table
                tier = table.tiers[table.position(leg.bracket_value(probe))]
                a += k_s * tier.maint_amount
                b += k_s * leg.qty * (tier.mmr + leg.fee_rate)
            return a, b

    def coefficients(probe: float) -> tuple[float, float]:
        a, minus_b = legs_part(probe)
        a += base
        b = u_b - minus_b
        if s_flat:
            rate = s_neg if alpha_s + beta * probe < 0.0 else s_pos
            a += rate * alpha_s * p_s
            b += rate * beta * p_s
        else:
            rate, cum_q, cum_v = _piece(s_asset, alpha_s + beta * probe, p_s)
            a += rate * alpha_s * p_s - cum_q * p_s - cum_v
            b += rate * beta * p_s
        if u_asset is not None and not u_fixed:
            rate, _, cum_v = _piece(u_asset, e_u, gamma * probe)
            a -= cum_v
            b += rate * e_u * gamma
        return a, b

    # Each side of the mark on its own: where h's slope keeps one sign there, that side has at most
    # one crossing, found by matching pieces (or shown absent); elsewhere the segment walk.
    fixed = _asset_slopes(s_asset, beta, u_asset, e_u, gamma, u_mm_slope)
    a0, b0 = coefficients(mark)
    h0 = a0 + b0 * mark
    if h0 == 0.0:  # at the trigger now: the mark is the crossing
        return mark, None
    healthy = h0 > 0.0
    points: list[float] | None = None
    found: list[float | None] = []
    slopes = _leg_slopes(legs, mark, k_s, fixed)
    for down in (True, False):
        if slopes is not None:
            lo_b, hi_b = (slopes[0], slopes[1]) if down else (slopes[2], slopes[3])
        if slopes is not None and (lo_b > 0.0 or hi_b < 0.0):
            increasing = lo_b > 0.0
            if healthy != (increasing == down):  # h moves away from zero on this side
                found.append(None)
                continue
            solved, root = _monotone_root(coefficients, a0, b0, mark, down)
            if solved:
                found.append(root)
                continue
        if points is None:
            points = _breakpoints(legs, s_asset, alpha_s, beta, u_asset, e_u, gamma)
        if down:
            below = _walk_down(coefficients, points, bisect_left(points, mark), mark)
            found.append(None if below is not None and below <= NEGLIGIBLE_PRICE * mark else below)
        else:
            found.append(_walk_up(coefficients, points, bisect_right(points, mark), mark))
    return found[0], found[1]


def _one_leg(
    leg: Leg,
    mark: float,
    base: float,
    k_s: float,
    alpha_s: float,
    beta: float,
    p_s: float,
    s_pos: float,
    s_neg: float,
    u_b: float,
) -> tuple[float | None, float | None] | None:
    """The usual group, inline: one leg, a flat settle asset (one ratio, or bid/ask rates), and
    co-moving collateral, if any, whose value is proportional to the price (flat, quantity tiers,
    buffers: slope ``u_b`` net of the MM owed in it); h(P) = base + u_b P + k_s (cum - Q P (MMR + f))
    + rate(e_S(P)) e_S(P) p_s. The same rules as the general path (one sign of the slope on a side:
    the one crossing by matching pieces, or none); None when that does not settle it (the general
    path then walks)."""
    table = leg.table
    tiers = table.tiers
    position = table.position
    qty = leg.qty
    bq = qty if leg.tier_qty is None else leg.tier_qty
    notional = table.basis == "notional"
    fee = leg.fee_rate
    kq = k_s * qty
    i = position(bq * mark) if notional else position(bq)
    tier = tiers[i]
    rate = s_neg if alpha_s + beta * mark < 0.0 else s_pos
    a = base + k_s * tier.maint_amount + rate * alpha_s * p_s
    b = u_b + rate * beta * p_s - kq * (tier.mmr + fee)
    h0 = a + b * mark
    if h0 == 0.0:
        return mark, None
    if notional:
        shape = _shape(table)
        if shape is None:
            return None
        down_lo, down_hi, up_lo, up_hi = shape[0][i], shape[1][i], shape[2][i], shape[3][i]
    else:
        down_lo = down_hi = up_lo = up_hi = tier.mmr
    r_lo, r_hi = (s_pos, s_neg) if s_pos <= s_neg else (s_neg, s_pos)
    bp = beta * p_s
    s_lo, s_hi = (u_b + bp * r_lo, u_b + bp * r_hi) if bp >= 0.0 else (u_b + bp * r_hi, u_b + bp * r_lo)
    healthy = h0 > 0.0
    found: list[float | None] = []
    for down, m_lo, m_hi in ((True, down_lo, down_hi), (False, up_lo, up_hi)):
        lo_b = s_lo - kq * (m_hi + fee)
        hi_b = s_hi - kq * (m_lo + fee)
        if not (lo_b > 0.0 or hi_b < 0.0):
            return None
        if healthy != ((lo_b > 0.0) == down):
            found.append(None)
            continue
        ca, cb = a, b
        for _ in range(8):
            if cb == 0.0:
                return None
            root = -ca / cb
            if root <= NEGLIGIBLE_PRICE * mark:
                if not down:
                    return None
                low = NEGLIGIBLE_PRICE * mark
                lt = tiers[position(bq * low) if notional else i]
                lr = s_neg if alpha_s + beta * low < 0.0 else s_pos
                h_low = (
                    base + k_s * lt.maint_amount + lr * (alpha_s + beta * low) * p_s + (u_b - kq * (lt.mmr + fee)) * low
                )
                if (h_low > 0.0) != healthy:
                    return None
                found.append(None)
                break
            rt = tiers[position(bq * root) if notional else i]
            rr = s_neg if alpha_s + beta * root < 0.0 else s_pos
            a2 = base + k_s * rt.maint_amount + rr * alpha_s * p_s
            b2 = u_b + rr * beta * p_s - kq * (rt.mmr + fee)
            if a2 == ca and b2 == cb:
                if (root <= mark) != down:
                    return None
                found.append(root)
                break
            ca, cb = a2, b2
        else:
            return None
    return found[0], found[1]


def _monotone_root(
    coefficients: _Coefficients, a: float, b: float, mark: float, down: bool
) -> tuple[bool, float | None]:
    """The one crossing of a continuous monotone h, starting from the pieces at the mark: solve the
    segment's line, read the pieces at its root, and stop when they give the same line (the root is
    then an exact zero of h, hence the zero: Binance's "recompute with the bracket at the
    liquidation price", over haircut tiers too). ``(True, None)``: no positive price crosses;
    ``(False, None)``: a piece cycle at a boundary, left to the segment walk."""
    healthy = a + b * mark > 0.0
    for _ in range(8):
        if b == 0.0:
            return False, None
        root = -a / b
        if root <= NEGLIGIBLE_PRICE * mark:
            if not down:
                return False, None
            low = NEGLIGIBLE_PRICE * mark
            low_a, low_b = coefficients(low)  # the pieces just above 0
            if (low_a + low_b * low > 0.0) == healthy:  # the same side at 0+ as at the mark: no crossing
                return True, None
            return False, None
        a2, b2 = coefficients(root)
        if a2 == a and b2 == b:  # an exact zero; the one on this side, or the walk decides
            return (True, root) if (root <= mark) == down else (False, None)
        a, b = a2, b2
    return False, None


def _breakpoints(
    legs: Sequence[Leg],
    s_asset: CollateralAsset,
    alpha_s: float,
    beta: float,
    u_asset: CollateralAsset | None,
    e_u: float,
    gamma: float,
) -> list[float]:
    """Every price where a piece of h(P) changes: bracket floors, the settle equity's zero and tier
    boundaries, the underlying's value tier boundaries."""
    points: list[float] = []
    for leg in legs:
        table = leg.table
        if table.basis != "notional" or len(table.tiers) == 1:
            continue
        q = leg.qty if leg.tier_qty is None else leg.tier_qty
        for tier in table.tiers[1:]:
            if tier.floor > 0.0:
                points.append(tier.floor / q)
    if beta != 0.0:
        points.append(-alpha_s / beta)
        if len(s_asset.floors) > 1:
            scale = 1.0 / s_asset.price if s_asset.tier_basis == "value" else 1.0
            for floor in s_asset.floors[1:]:
                points.append((floor * scale - alpha_s) / beta)
    if u_asset is not None and e_u > 0.0 and len(u_asset.floors) > 1 and u_asset.tier_basis == "value":
        for floor in u_asset.floors[1:]:
            points.append(floor / (e_u * gamma))
    pts = sorted(p for p in points if p > 0.0 and isfinite(p))
    return pts


def _asset_slopes(
    s_asset: CollateralAsset,
    beta: float,
    u_asset: CollateralAsset | None,
    e_u: float,
    gamma: float,
    u_mm_slope: float,
) -> tuple[float, float]:
    """Bounds of the part of h's slope that the settle asset and the underlying give, at any price."""
    lo = hi = -u_mm_slope
    if beta != 0.0:
        rates = (*s_asset.rates, s_asset.liability_rate)
        r_lo, r_hi = min(rates), max(rates)
        if beta > 0.0:
            lo += beta * s_asset.price * r_lo
            hi += beta * s_asset.price * r_hi
        else:
            lo += beta * s_asset.price * r_hi
            hi += beta * s_asset.price * r_lo
    if u_asset is not None and e_u != 0.0:
        if e_u < 0.0:
            slope = e_u * u_asset.liability_rate * gamma
            lo += slope
            hi += slope
        elif u_asset.value_basis:
            lo += min(u_asset.rates) * e_u * gamma
            hi += max(u_asset.rates) * e_u * gamma
        else:  # quantity tiers, flat ratio, buffers: the value is proportional to the price
            rate, cum_q, _ = _piece(u_asset, e_u, 1.0)
            slope = (rate * e_u - cum_q) * gamma
            lo += slope
            hi += slope
    return lo, hi


def _leg_slopes(
    legs: Sequence[Leg], mark: float, k_s: float, fixed: tuple[float, float]
) -> tuple[float, float, float, float] | None:
    """Bounds of h's slope below the mark (low, high) and above it (low, high), where h is
    continuous: the legs' requirements over the brackets each side can reach, plus ``fixed``
    (:func:`_asset_slopes`); None where a bracket change can make h jump."""
    lo_d = lo_u = fixed[0]
    hi_d = hi_u = fixed[1]
    for leg in legs:
        table = leg.table
        k = k_s * leg.qty
        fee = leg.fee_rate
        if table.basis != "notional":  # the bracket follows the size: fixed while the price moves
            mmr = table.lookup(leg.qty if leg.tier_qty is None else leg.tier_qty).mmr
            lo_d -= k * (mmr + fee)
            hi_d -= k * (mmr + fee)
            lo_u -= k * (mmr + fee)
            hi_u -= k * (mmr + fee)
            continue
        shape = _shape(table)
        if shape is None:
            return None
        i = table.position(leg.bracket_value(mark))
        lo_d -= k * (shape[1][i] + fee)
        hi_d -= k * (shape[0][i] + fee)
        lo_u -= k * (shape[3][i] + fee)
        hi_u -= k * (shape[2][i] + fee)
    return lo_d, hi_d, lo_u, hi_u


def _walk_down(coefficients: _Coefficients, points: list[float], idx: int, mark: float) -> float | None:
    """The highest crossing at or below the mark, segment by segment downwards (``points[idx - 1]``
    is the highest breakpoint below the mark); each segment's pieces are read at its midpoint, and
    h jumping across zero at a breakpoint (a bracket table without maintenance amounts) is a
    crossing at that breakpoint."""
    hi = mark
    edge: float | None = None  # h at hi from the segment above
    while True:
        lo = points[idx - 1] if idx > 0 else 0.0
        if lo < hi:
            a, b = coefficients((lo + hi) / 2.0)
            if edge is not None:
                here = a + b * hi
                if (edge > 0.0 >= here) or (edge < 0.0 <= here):
                    return hi
            if b != 0.0:
                root = -a / b
                if lo < root <= hi:
                    return root
            edge = a + b * lo
        if lo <= 0.0:
            return None
        hi = lo
        idx -= 1


def _walk_up(coefficients: _Coefficients, points: list[float], idx: int, mark: float) -> float | None:
    """The lowest crossing above the mark, segment by segment upwards (``points[idx]`` is the lowest
    breakpoint above the mark)."""
    lo = mark
    n = len(points)
    edge: float | None = None  # h at lo from the segment below
    while True:
        hi = points[idx] if idx < n else _INF
        if lo < hi:
            a, b = coefficients((lo + hi) / 2.0 if hi != _INF else lo * 2.0)
            if edge is not None:
                here = a + b * lo
                if (edge > 0.0 >= here) or (edge < 0.0 <= here):
                    return lo
            if b != 0.0:
                root = -a / b
                if lo < root <= hi:
                    return root
            edge = a + b * hi
        if hi == _INF:
            return None
        lo = hi
        idx += 1


__all__ = [
    "CONVENTIONS",
    "AccountConvention",
    "AccountMode",
    "AssetValue",
    "CollateralAsset",
    "CollateralPosition",
    "CollateralRisk",
    "CollateralTier",
    "TierBasis",
    "account_margin_ratio",
    "assess_collateral",
    "collateral_value",
    "convention",
    "liability_warnings",
    "moved",
    "settle_asset",
    "shocked",
    "target_marks",
    "underlying_of",
    "value_asset",
]
