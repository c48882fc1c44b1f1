"""What-if and stress scenarios on a whole account, with each venue's exact maths.

Every scenario re-runs :func:`liqwatch.core.engine.assess` on a changed copy of the account, so
``before`` and ``after`` have the same shape as any other risk result and cross positions always
see each other. Pure: no I/O, no clocks.

* :func:`add_size` — more size at a price: volume-weighted entry, isolated margin added at the
  position's leverage, the bracket re-looked-up, allowed only within the new bracket's max leverage.
* :func:`change_leverage` — isolated: the margin to post or that can be released under the venue's
  convention; cross: the liquidation price does not move (leverage sets initial margin and the
  largest position).
* :func:`add_margin` — isolated margin in or out; the most that can be removed.
* :func:`shock` — every mark (or one symbol's) moves by a percentage, with optional per-symbol beta:
  the account after each step, and the exact order in which positions liquidate.
* :func:`target_mark`, :func:`target_move`, :func:`max_add_for_distance` — solve for a target.
* :func:`ladder`, :func:`partial_liquidation` — the liquidation ladder and a model of the venues'
  published step-wise liquidation rules.

Coin-margined (inverse) positions work in every scenario: sizes are USD face values, margins and
amounts are in the settle coin, shocks and targets are on the USD price P (the solver legs see
x = 1/P: see ``liqwatch.core.engine.solver_leg``). Cross collateral is per settle currency
(``wallet`` is a number or one per currency, as for ``assess``): a cross account liquidates pool by
pool.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from liqwatch.core.bulk import gc_paused
from liqwatch.core.engine import (
    NEGLIGIBLE_X,
    Wallet,
    assess,
    bracket_value,
    check_covered,
    entry_value,
    max_leverage_for,
    mm_at_entry,
    pool_wallets,
    settle_of,
    single_pool,
    solver_leg,
    solver_price,
)
from liqwatch.core.errors import InputError
from liqwatch.core.model import AccountRisk, PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.numfmt import plain, typed
from liqwatch.core.solver import Leg, requirement, solve_price
from liqwatch.core.venues import Venue

GapFn = Callable[[float], tuple[float, tuple[int, ...]]]

# ---------------------------------------------------------------------------- results


@dataclass(slots=True)
class Change:
    """Before/after of one scenario on one position (``index``) and the whole account."""

    kind: str
    index: int
    before: PortfolioRisk
    after: PortfolioRisk
    allowed: bool = True
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class AddSize(Change):
    added_size: float = 0.0
    price: float = 0.0
    new_entry_price: float = 0.0
    margin_added: float = 0.0
    max_add_size: float | None = None
    """Largest size that can still be added at this price within the bracket's max leverage
    (None: no bracket limit applies)."""


@dataclass(slots=True)
class LeverageChange(Change):
    new_leverage: float = 0.0
    margin_change: float = 0.0
    """Margin to post (> 0) or that is released (< 0) by the change."""
    releasable_margin: float = 0.0
    """Isolated, venues that keep the margin: what could be removed afterwards."""
    convention: str = ""
    liquidation_price_moves: bool = True
    max_position_value: float | None = None
    """Cross: the largest position value the new leverage allows (bracket cap, in the table's basis)."""
    max_position_inclusive: bool = True
    """Whether ``max_position_value`` itself is allowed: False on a floor-inclusive table (floor <=
    value < cap), where a value on the cap is the next bracket's."""


@dataclass(slots=True)
class MarginChange(Change):
    amount: float = 0.0
    max_removable: float = 0.0


@dataclass(slots=True)
class ShockStep:
    move: float
    risk: PortfolioRisk
    """The account after the move, over the surviving positions only."""
    survivors: list[int]
    """Original index of each position in ``risk.positions``."""
    liquidated: list[int]
    """Positions liquidated on the way to this move (closed at their liquidation price; the
    isolated margin, or the whole cross wallet, is lost)."""


@dataclass(slots=True)
class LiquidationEvent:
    move: float
    """The common move (fraction of mark, before beta) at which this liquidation triggers."""
    indices: list[int]
    scope: str
    """``"isolated"`` (one position) or ``"cross account"`` (every cross position of one collateral
    pool at once)."""
    pool: str = ""
    """The settle currency of the positions (the cross pool that liquidates)."""


@dataclass(slots=True)
class ShockResult:
    steps: list[ShockStep]
    order: list[LiquidationEvent]


@dataclass(slots=True)
class LadderRung:
    index: int
    symbol: str
    side: str
    margin_mode: str
    mark_price: float
    liquidation_price: float | None
    bankruptcy_price: float | None
    distance_to_liquidation: float | None
    distance_to_bankruptcy: float | None


@dataclass(slots=True)
class PartialStep:
    closed_size: float
    remaining_size: float
    tier_after: int | None
    margin_ratio_after: float | None


@dataclass(slots=True)
class PartialPreview:
    model: str
    description: str
    at_price: float | None
    steps: list[PartialStep]
    fully_liquidated: bool


# ---------------------------------------------------------------------------- helpers


def _replace(specs: Sequence[PositionSpec], index: int, new: PositionSpec) -> list[PositionSpec]:
    out = list(specs)
    out[index] = new
    return out


def resized(spec: PositionSpec, size: float, **changes: float | None) -> PositionSpec:
    """``spec`` with a new ``size`` (and any other ``changes``), its count of contracts kept
    consistent: size / contract size where the contract size is known, else scaled with the size
    (the core checks contracts x contract size against the size)."""
    contracts = spec.contracts
    if contracts is not None:
        cs = spec.contract_size
        contracts = size / cs if cs else contracts * size / spec.size
    return dataclasses.replace(spec, size=size, contracts=contracts, **changes)  # type: ignore[arg-type]


def _check_index(specs: Sequence[PositionSpec], index: int) -> PositionSpec:
    if not 0 <= index < len(specs):
        raise InputError("position", f"no position #{index} (the account has {len(specs)})")
    return specs[index]


def _leverage_of(spec: PositionSpec) -> float | None:
    """Explicit leverage, or for isolated positions the one implied by the margin at entry."""
    if spec.leverage:
        return spec.leverage
    if spec.margin_mode == "isolated" and spec.isolated_margin:
        return entry_value(spec) / spec.isolated_margin
    return None


def _pool_of(risk: PortfolioRisk, venue: Venue, spec: PositionSpec) -> AccountRisk:
    """The account section (collateral pool) a position belongs to."""
    if risk.pools:
        return risk.pools.get(settle_of(spec, venue), risk.account)
    return risk.account


def max_value_for_leverage(spec: PositionSpec, leverage: float) -> float | None:
    """The largest bracket value (table basis) whose bracket allows ``leverage``; None = unlimited.
    (A max-leverage override is part of the table: see ``liqwatch.markets.resolve_table``.)"""
    best: float | None = 0.0
    for tier in spec.tiers.tiers:
        if tier.max_leverage + 1e-12 >= leverage:
            best = None if math.isinf(tier.cap) else tier.cap
    return best


def with_mark(spec: PositionSpec, mark: float) -> PositionSpec:
    """A copy at another mark (built directly: this runs once per position per shock step)."""
    return PositionSpec(
        spec.symbol,
        spec.side,
        spec.size,
        spec.entry_price,
        mark,
        spec.tiers,
        spec.margin_mode,
        spec.position_side,
        spec.leverage,
        spec.isolated_margin,
        spec.fee_rate,
        spec.max_leverage,
        spec.adl_lights,
        spec.exchange_liquidation_price,
        spec.tick_size,
        spec.inverse,
        spec.settle,
        spec.contracts,
        spec.contract_size,
    )


# ---------------------------------------------------------------------------- add size


def _averaged(spec: PositionSpec, size: float, price: float) -> tuple[float, float]:
    """(the entry price after adding ``size`` at ``price``, the added value in the settle
    currency): volume-weighted; coin-weighted (harmonic) for an inverse position."""
    new_q = spec.size + size
    if spec.inverse:  # USD face at a USD price: the entry is the coin-weighted (harmonic) mean
        return new_q / (spec.size / spec.entry_price + size / price), size / price
    return (spec.size * spec.entry_price + size * price) / new_q, size * price


def _leverage_allowed(leverage: float, limit: float) -> bool:
    """The add-size verdict: ``leverage`` within a bracket's maximum ``limit``."""
    return leverage <= limit + 1e-12


def _add_fits(spec: PositionSpec, leverage: float, size: float, price: float) -> bool:
    """Adding ``size`` at ``price`` keeps the position inside its table, in a bracket that allows
    ``leverage`` -- the same spec and the same test as :func:`add_size`'s verdict."""
    new_entry, _ = _averaged(spec, size, price)
    grown = resized(spec, spec.size + size, entry_price=new_entry)
    if spec.tiers.beyond(bracket_value(grown, new_entry)) or spec.tiers.beyond(bracket_value(grown, spec.mark_price)):
        return False  # past the table's end at entry or at the mark: above the venue's maximum, or unknown
    return _leverage_allowed(leverage, max_leverage_for(grown))


def max_allowed_add(spec: PositionSpec, leverage: float, price: float) -> float | None:
    """The largest size that can be added at ``price`` and still be allowed at ``leverage`` (None:
    no bracket limits it): up to the cap of the run of brackets from the position's own that allow
    ``leverage`` (:func:`_contiguous_cap`; a table whose max leverage rose again further up would
    allow sizes beyond a gap, but no size in between). That cap is exclusive on a floor-inclusive
    table (floor <= value < cap: a value on the cap is the next bracket's), so the size is stepped
    down from it until :func:`_add_fits` -- the add-size verdict -- accepts it: the answer lies
    strictly inside the allowed bracket, a few ulps from its cap."""
    cap = _contiguous_cap(spec, leverage)
    if cap is None:
        return None
    current = bracket_value(spec, spec.entry_price)
    per_unit = bracket_value(resized(spec, 1.0), price)  # table value of one unit at price
    size = max(0.0, (cap - current) / per_unit)
    step = 0.0
    while size > 0.0 and not _add_fits(spec, leverage, size, price):
        step = max(2.0 * step, math.ulp(size))
        size = max(0.0, size - step)
    return size


def largest_add(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    index: int,
    leverage: float,
    price: float,
) -> float | None:
    """:func:`max_allowed_add` for position ``index`` of the account, re-checked by running the
    add-size path on it: near the table's end the grown position's liquidation price may value it
    past the last cap (a short's, above the mark), which the add-size path refuses as above the
    venue's maximum (or unknown, for a truncated table); the size is then bisected down to the
    largest it accepts."""
    size = max_allowed_add(specs[index], leverage, price)

    def accepted(x: float) -> bool:
        try:
            return add_size(venue, specs, wallet, index, x, price, with_max=False).allowed
        except InputError:
            return False

    return largest_accepted(size, accepted)


def largest_accepted(size: float | None, accepted: Callable[[float], bool]) -> float | None:
    """``size`` (:func:`max_allowed_add`'s answer) if the add-size path ``accepted`` takes it, else
    the largest size below it that it takes (bisected to 1e-12 of it; adding nothing is the account
    as it is, which was assessed). Shared by every account model's add-size path."""
    if not size:
        return size
    if accepted(size):
        return size
    lo, hi = 0.0, size  # adding nothing is the account as it is, which was assessed
    while hi - lo > 1e-12 * hi:
        mid = (lo + hi) / 2
        if accepted(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _contiguous_cap(spec: PositionSpec, leverage: float) -> float | None:
    """Where the first bracket above the position's own that does not allow ``leverage`` starts
    (None: every bracket up to an open end allows it)."""
    table = spec.tiers
    start = table.position(bracket_value(spec, spec.entry_price))
    for tier in table.tiers[start:]:
        if not _leverage_allowed(leverage, tier.max_leverage):
            return tier.floor
    return None if math.isinf(table.limit) else table.limit


def add_size(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    index: int,
    size: float,
    price: float | None = None,
    *,
    with_max: bool = True,
) -> AddSize:
    """``size`` more at ``price`` (default mark); ``with_max``: also the largest size that can be
    added (``max_add_size``; a solver that only needs the verdict skips it)."""
    spec = _check_index(specs, index)
    if not (size >= 0 and math.isfinite(size)):
        raise InputError("add_size", f"must be a finite number >= 0, got {typed(size)}")
    price = spec.mark_price if price is None else price
    if not (price > 0 and math.isfinite(price)):
        raise InputError("add_price", f"must be a finite number > 0, got {typed(price)}")
    before = assess(venue, specs, wallet)
    new_q = spec.size + size
    new_entry, added_value = _averaged(spec, size, price)
    lev = _leverage_of(spec)
    notes: list[str] = []
    margin_added = 0.0
    new_margin = spec.isolated_margin
    if spec.margin_mode == "isolated":
        assert lev is not None and spec.isolated_margin is not None
        margin_added = added_value / lev
        new_margin = spec.isolated_margin + margin_added
        if not spec.leverage:
            notes.append(f"no leverage given: margin added at the position's entry leverage {plain(lev, 4)}x")
    else:
        notes.append("cross: no margin is posted; the cross wallet backs the larger position")
    new_spec = resized(spec, new_q, entry_price=new_entry, isolated_margin=new_margin) if size else spec
    after = assess(venue, _replace(specs, index, new_spec), wallet) if size else before
    result = AddSize(
        kind="add_size",
        index=index,
        before=before,
        after=after,
        notes=notes,
        added_size=size,
        price=price,
        new_entry_price=new_entry,
        margin_added=margin_added,
    )
    if lev is None:
        result.notes.append("no leverage given: the bracket's max leverage is not checked")
        return result
    if with_max:
        result.max_add_size = largest_add(venue, specs, wallet, index, lev, price)
    limit = max_leverage_for(new_spec)
    if not _leverage_allowed(lev, limit):
        result.allowed = False
        result.reason = (
            f"{plain(lev)}x is above the {plain(limit)}x maximum of the bracket the position would reach "
            f"(tier {after.positions[index].tier.index})"
        )
    return result


# ---------------------------------------------------------------------------- leverage


def change_leverage(
    venue: Venue, specs: Sequence[PositionSpec], wallet: Wallet, index: int, leverage: float
) -> LeverageChange:
    spec = _check_index(specs, index)
    if not (leverage > 0 and math.isfinite(leverage)):
        raise InputError("set_leverage", f"must be a finite number > 0, got {typed(leverage)}")
    before = assess(venue, specs, wallet)
    cap = max_leverage_for(spec)
    old = before.positions[index]
    result = LeverageChange(kind="set_leverage", index=index, before=before, after=before, new_leverage=leverage)
    if leverage > cap + 1e-12:
        result.allowed = False
        result.reason = (
            f"{plain(leverage)}x is above the {plain(cap)}x maximum of the position's bracket (tier {old.tier.index})"
        )
    if spec.margin_mode == "cross":
        new_spec = dataclasses.replace(spec, leverage=leverage)
        result.after = assess(venue, _replace(specs, index, new_spec), wallet)
        new_im = result.after.positions[index].initial_margin or 0.0
        result.margin_change = new_im - (old.initial_margin or 0.0)
        result.liquidation_price_moves = False
        result.convention = (
            "cross: the liquidation price does not depend on leverage; leverage sets the initial "
            "margin held against the wallet and the largest position the bracket allows"
        )
        result.max_position_value = max_value_for_leverage(spec, leverage)
        result.max_position_inclusive = not spec.tiers.floor_inclusive
        return result
    margin = spec.isolated_margin or 0.0
    value_at_entry = entry_value(spec)
    if venue.isolated_leverage_change == "reset_margin":
        old_lev = _leverage_of(spec) or leverage
        extra = max(0.0, margin - value_at_entry / old_lev)
        new_margin = value_at_entry / leverage + extra
        result.convention = (
            f"{venue.name}: the position margin is recomputed from the leverage "
            "(initial margin at entry / leverage; added margin kept)"
        )
    else:
        new_im = old.notional / leverage
        new_margin = max(margin, new_im)
        result.releasable_margin = max(0.0, margin + min(0.0, old.unrealized_pnl) - new_im)
        result.convention = (
            f"{venue.name}: the isolated margin is kept; lowering leverage needs margin up to the "
            "new initial margin (notional / leverage) to be posted first, raising it leaves the "
            "margin in place (remove the releasable part with a margin change)"
        )
    result.margin_change = new_margin - margin
    new_spec = dataclasses.replace(spec, leverage=leverage, isolated_margin=new_margin)
    result.after = assess(venue, _replace(specs, index, new_spec), wallet)
    result.liquidation_price_moves = result.after.positions[index].liquidation_price != old.liquidation_price
    return result


# ---------------------------------------------------------------------------- margin


def max_removable_margin(p: PositionRisk) -> float:
    """What may be taken out of an isolated position: what keeps the margin balance at or above
    the initial margin at the current leverage (notional / leverage at mark), and the position
    below liquidation (Binance's rule for removing isolated margin)."""
    spec = p.spec
    margin = spec.isolated_margin or 0.0
    keep = p.maintenance_margin + p.liquidation_fee
    lev = _leverage_of(spec)
    if lev:
        keep = max(keep, p.notional / lev)
    return max(0.0, margin + min(0.0, p.unrealized_pnl) - keep)


def add_margin(venue: Venue, specs: Sequence[PositionSpec], wallet: Wallet, index: int, amount: float) -> MarginChange:
    spec = _check_index(specs, index)
    if not math.isfinite(amount):
        raise InputError("add_margin", f"must be a finite number, got {typed(amount)}")
    if spec.margin_mode != "isolated":
        raise InputError("add_margin", "only isolated positions have their own margin (cross uses the wallet)")
    before = assess(venue, specs, wallet)
    result = MarginChange(
        kind="add_margin",
        index=index,
        before=before,
        after=before,
        amount=amount,
        max_removable=max_removable_margin(before.positions[index]),
    )
    if amount < 0 and -amount > result.max_removable + 1e-9:
        result.allowed = False
        result.reason = f"at most {result.max_removable:,.2f} can be removed"
    new_margin = (spec.isolated_margin or 0.0) + amount
    if new_margin <= 0:
        result.allowed = False
        result.reason = "the margin would fall to zero or below"
        return result
    if amount:
        new_spec = dataclasses.replace(spec, isolated_margin=new_margin)
        result.after = assess(venue, _replace(specs, index, new_spec), wallet)
    return result


# ---------------------------------------------------------------------------- shocks


def _moved_marks(
    specs: Sequence[PositionSpec], move: float, betas: Mapping[str, float] | None, symbols: set[str] | None
) -> list[float]:
    marks = []
    for s in specs:
        if symbols is not None and s.symbol not in symbols:
            marks.append(s.mark_price)
            continue
        beta = betas.get(s.symbol, 1.0) if betas else 1.0
        factor = 1.0 + beta * move
        if factor <= 0:
            raise InputError(
                "shock",
                f"a {plain(move * 100)}% move takes {s.symbol} to zero or below (beta {plain(beta)})",
            )
        marks.append(s.mark_price * factor)
    return marks


def _gap_function(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    scope: str | int,
    betas: Mapping[str, float] | None,
    symbols: set[str] | None,
    k: float,
    pool: str | None = None,
) -> tuple[GapFn, bool, bool, list[float]]:
    """g(move) = collateral + PnL - k x requirement for ``scope``: ``"cross"`` (the cross account of
    ``pool``), ``"account"`` (every position of ``pool``) or a position index (isolated). Returns
    (g, whether any position is in scope, whether g is linear in the move between bracket
    boundaries: False once an inverse position is in scope, whose legs see x = 1/P, and the moves
    at which a leg's requirement drops at a bracket boundary, see :func:`_dip_moves`)."""
    base = assess(venue, specs, wallet)
    wallets = pool_wallets(venue, specs, wallet)
    if pool is None:
        pool = venue.settle
    combined: dict[str, float] = {}
    if venue.cross_legs_share_bracket:
        counts: dict[str, int] = {}
        for s in specs:
            if s.margin_mode == "cross":
                combined[s.symbol] = combined.get(s.symbol, 0.0) + s.size
                counts[s.symbol] = counts.get(s.symbol, 0) + 1
        combined = {sym: q for sym, q in combined.items() if counts[sym] > 1}
    chosen: list[tuple[Leg, float, float]] = []
    chosen_inverse: list[tuple[Leg, float, float]] = []
    collateral = 0.0
    pooled = not isinstance(scope, int) and not single_pool(specs, venue)  # else every position is in the default pool
    for i, (spec, risk) in enumerate(zip(specs, base.positions, strict=True)):
        if scope == "cross" and spec.margin_mode != "cross":
            continue
        if isinstance(scope, int) and i != scope:
            continue
        if pooled and settle_of(spec, venue) != pool:
            continue
        beta = 0.0
        if symbols is None or spec.symbol in symbols:
            beta = betas.get(spec.symbol, 1.0) if betas else 1.0
        fixed = risk.maintenance_margin + risk.liquidation_fee if mm_at_entry(venue, spec) else None
        leg = solver_leg(venue, risk.spec, fixed)  # the table assessed (sized where the rate follows the size)
        if spec.margin_mode == "cross" and spec.symbol in combined:
            leg.tier_qty = combined[spec.symbol]
        (chosen_inverse if spec.inverse else chosen).append((leg, spec.mark_price, beta))
        if spec.margin_mode == "isolated":
            collateral += spec.isolated_margin or 0.0
    if scope != "cross" and not isinstance(scope, int):
        collateral += wallets.get(pool, 0.0)
    elif scope == "cross":
        collateral = wallets.get(pool, 0.0)

    def gap(move: float) -> tuple[float, tuple[int, ...]]:
        total = collateral
        tiers: list[int] = []
        for leg, mark, beta in chosen:
            price = mark * (1.0 + beta * move)
            total += leg.sign * leg.qty * (price - leg.entry) - k * requirement(leg, price)
            if leg.fixed_requirement is None:
                tiers.append(leg.table.position(leg.bracket_value(price)))
        for leg, mark, beta in chosen_inverse:
            x = 1.0 / (mark * (1.0 + beta * move))
            total += leg.sign * leg.qty * (x - leg.entry) - k * requirement(leg, x)
            if leg.fixed_requirement is None:
                tiers.append(leg.table.position(leg.bracket_value(x)))
        return total, tuple(tiers)

    dips = _dip_moves(chosen, inverse=False) + _dip_moves(chosen_inverse, inverse=True)
    return gap, bool(chosen or chosen_inverse), not chosen_inverse, dips


MAX_DIP_MOVES = 512
"""At most this many bracket-boundary moves are added to a shock's search grid (the nearest)."""


def _dip_moves(chosen: Sequence[tuple[Leg, float, float]], inverse: bool) -> list[float]:
    """Moves at which a leg's maintenance requirement falls discontinuously at a bracket boundary
    as the marks travel away from now (a table without maintenance amounts: OKX, Bitget). Just
    before such a boundary the gap can dip below zero and come back above it: a liquidation that
    a search on a grid of steps would step over. The searched grid includes a point just short of
    each (the nearest :data:`MAX_DIP_MOVES`), so the first crossing is the one found."""
    out: list[float] = []
    for leg, mark, beta in chosen:
        table = leg.table
        if leg.fixed_requirement is not None or table.basis != "notional" or beta == 0.0:
            continue
        q = leg.qty if leg.tier_qty is None else leg.tier_qty
        tiers = table.tiers
        for n in range(1, len(tiers)):
            lower, upper = tiers[n - 1], tiers[n]
            floor = upper.floor
            if floor <= 0:
                continue
            # the requirement in value terms on either side of the boundary: equal = continuous
            below = floor * (lower.mmr + leg.fee_rate) - lower.maint_amount
            above = floor * (upper.mmr + leg.fee_rate) - upper.maint_amount
            if abs(above - below) <= 1e-12 * max(abs(above), abs(below), 1.0):
                continue
            at = floor / q  # the leg's price (x = 1/P for an inverse leg) at the boundary
            price = 1.0 / at if inverse else at
            out.append((price / mark - 1.0) / beta)
    return out


def _cross_pools(venue: Venue, specs: Sequence[PositionSpec]) -> dict[str, list[int]]:
    """Indices of the cross positions, per settle currency."""
    out: dict[str, list[int]] = {}
    for i, s in enumerate(specs):
        if s.margin_mode == "cross":
            out.setdefault(settle_of(s, venue), []).append(i)
    return out


def _solve_move(
    gap: GapFn, limit: float, steps: int = 64, linear: bool = True, dips: Sequence[float] = ()
) -> float | None:
    """The first move between 0 and ``limit`` where gap crosses zero, exactly: step to bracket the
    crossing, bisect until both ends sit in the same brackets, then interpolate linearly (the gap
    is linear in the move between bracket boundaries). Not ``linear`` (inverse legs, whose terms
    go as 1/(1 + move)): bisect on until the interval is ~1e-13 wide, then interpolate. ``dips``:
    moves where the requirement falls at a bracket boundary (:func:`_dip_moves`); the grid gets a
    point just short of each, so a dip below zero there is not stepped over."""
    g0, _ = gap(0.0)
    if g0 <= 0:
        return 0.0
    lo, glo = 0.0, g0
    hi = None
    grid = [limit * i / steps for i in range(1, steps + 1)]
    if dips:
        near = sorted((d for d in dips if 0 < d / limit < 1), key=abs)[:MAX_DIP_MOVES]
        grid = sorted(grid + [d * (1 - 1e-12) for d in near], key=abs)
    for x in grid:
        gx, _ = gap(x)
        if gx <= 0:
            hi, ghi = x, gx
            break
        lo, glo = x, gx
    if hi is None:
        return None
    for _ in range(400):
        _, tlo = gap(lo)
        _, thi = gap(hi)
        width = abs(hi - lo)  # moves run either way: down-moves have hi < lo
        if tlo == thi and (linear or width <= 1e-13 * max(1.0, abs(hi))):
            root: float = lo + (hi - lo) * glo / (glo - ghi)
            return root
        mid = (lo + hi) / 2
        gm, _ = gap(mid)
        if gm > 0:
            lo, glo = mid, gm
        else:
            hi, ghi = mid, gm
        if abs(hi - lo) <= 1e-15 * max(1.0, abs(hi)):
            return hi  # a jump across zero at a bracket boundary
    return hi


def _move_limit(specs: Sequence[PositionSpec], betas: Mapping[str, float] | None, down: bool) -> float:
    if not down:
        return 10.0  # +1000%
    worst = max((abs(betas.get(s.symbol, 1.0)) if betas else 1.0) for s in specs) if specs else 1.0
    return -(1.0 - 1e-9) / worst


def shock(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    moves: Sequence[float],
    *,
    betas: Mapping[str, float] | None = None,
    symbols: set[str] | None = None,
) -> ShockResult:
    """The account after each move (fractions of mark: -0.1 = -10%), and the order in which
    positions liquidate as the marks travel from now to the furthest move in each direction."""
    with gc_paused():
        return _shock(venue, specs, wallet, moves, betas, symbols)


def _shock(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    moves: Sequence[float],
    betas: Mapping[str, float] | None,
    symbols: set[str] | None,
) -> ShockResult:
    order: list[LiquidationEvent] = []
    by_direction: dict[bool, list[LiquidationEvent]] = {True: [], False: []}
    for down in (True, False):
        extreme = min(moves, default=0.0) if down else max(moves, default=0.0)
        if (down and extreme >= 0) or (not down and extreme <= 0):
            continue
        events = sorted(_events(venue, specs, wallet, extreme, betas, symbols), key=lambda e: abs(e.move))
        by_direction[down] = events
        order.extend(events)
    # One pool of linear positions and a number: the wallet as given (the common, fast case);
    # otherwise each pool's wallet, resolved once from the whole account (survivors may not hold
    # every pool, and a number must keep meaning the same pool).
    wallets = (
        None if not isinstance(wallet, Mapping) and single_pool(specs, venue) else pool_wallets(venue, specs, wallet)
    )
    steps: list[ShockStep] = []
    for move in moves:
        gone: set[int] = set()
        pools_gone: set[str] = set()
        if move != 0:
            for event in by_direction[move < 0]:
                if abs(event.move) <= abs(move):
                    gone.update(event.indices)
                    if event.scope == "cross account":
                        pools_gone.add(event.pool)
        marks = _moved_marks(specs, move, betas, symbols)
        survivors = [i for i in range(len(specs)) if i not in gone]
        moved = [with_mark(specs[i], marks[i]) for i in survivors]
        left: Wallet
        if wallets is None:
            left = 0.0 if pools_gone else wallet
        else:
            left = {name: 0.0 if name in pools_gone else amount for name, amount in wallets.items()}
        risk = assess(venue, moved, left)
        steps.append(ShockStep(move=move, risk=risk, survivors=survivors, liquidated=sorted(gone)))
    return ShockResult(steps=steps, order=order)


def _events(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    extreme: float,
    betas: Mapping[str, float] | None,
    symbols: set[str] | None,
) -> list[LiquidationEvent]:
    events: list[LiquidationEvent] = []
    for i, spec in enumerate(specs):
        if spec.margin_mode != "isolated":
            continue
        gap, active, linear, dips = _gap_function(venue, specs, wallet, i, betas, symbols, 1.0)
        move = _solve_move(gap, extreme, linear=linear, dips=dips) if active else None
        if move is not None:
            events.append(LiquidationEvent(move=move, indices=[i], scope="isolated", pool=settle_of(spec, venue)))
    for pool, cross in _cross_pools(venue, specs).items():
        gap, active, linear, dips = _gap_function(venue, specs, wallet, "cross", betas, symbols, 1.0, pool)
        move = _solve_move(gap, extreme, linear=linear, dips=dips) if active else None
        if move is not None:
            events.append(LiquidationEvent(move=move, indices=cross, scope="cross account", pool=pool))
    return events


# ---------------------------------------------------------------------------- targets


def target_mark(venue: Venue, specs: Sequence[PositionSpec], wallet: Wallet, index: int, ratio: float) -> float | None:
    """The mark of position ``index``'s symbol at which its margin ratio (isolated) or its pool's
    cross account's (cross; other symbols' marks held) equals ``ratio``. Exact, like the
    liquidation price (which is ``ratio = 1``)."""
    spec = _check_index(specs, index)
    if not (ratio > 0 and math.isfinite(ratio)):
        raise InputError("target_margin_ratio", f"must be > 0, got {typed(ratio)}")
    k = 1.0 / ratio
    base = assess(venue, specs, wallet)
    if spec.margin_mode == "isolated":
        risk = base.positions[index]
        fixed = risk.maintenance_margin + risk.liquidation_fee if mm_at_entry(venue, spec) else None
        leg = solver_leg(venue, risk.spec, fixed)  # the table assessed
        price = solve_price(spec.isolated_margin or 0.0, (leg,), solver_price(spec, spec.mark_price), k)
        if price is None:
            return None
        check_covered(spec, venue, leg, price, "at the target price")
        return _back(spec, leg, price)
    pool = settle_of(spec, venue)
    one = single_pool(specs, venue)
    collateral = pool_wallets(venue, specs, wallet).get(pool, 0.0)
    legs: list[Leg] = []
    members = [i for i, s in enumerate(specs) if s.margin_mode == "cross" and s.symbol == spec.symbol]
    total_qty = sum(specs[i].size for i in members)
    for i, (s, r) in enumerate(zip(specs, base.positions, strict=True)):
        if s.margin_mode != "cross" or (not one and settle_of(s, venue) != pool):
            continue
        if i in members:
            leg = solver_leg(venue, r.spec)  # the table assessed
            if venue.cross_legs_share_bracket and len(members) > 1:
                leg.tier_qty = total_qty
            legs.append(leg)
        else:
            collateral += r.unrealized_pnl - k * (r.maintenance_margin + r.liquidation_fee)
    price = solve_price(collateral, legs, solver_price(spec, spec.mark_price), k)
    if price is None:
        return None
    for i, leg in zip(members, legs, strict=True):
        check_covered(specs[i], venue, leg, price, "at the target price")
    return _back(spec, legs[0], price)


def _back(spec: PositionSpec, leg: Leg, solved: float) -> float | None:
    """A solved price back in P (see ``liqwatch.core.engine.solver_price``); for an inverse
    position an x indistinguishable from 0 is no price at all (``engine.NEGLIGIBLE_X``)."""
    if not spec.inverse:
        return solved
    return None if solved <= NEGLIGIBLE_X * leg.entry else 1.0 / solved


def target_move(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    ratio: float,
    *,
    down: bool = True,
    betas: Mapping[str, float] | None = None,
    symbols: set[str] | None = None,
) -> float | None:
    """The common move (fraction of mark, before beta) at which the account's margin ratio first
    reaches ``ratio``: the cross account's where there are cross positions (the ratio that
    liquidates them together), else the whole account's (total requirement / margin balance).
    With several collateral pools, each pool is its own account: the first pool to get there."""
    if not (ratio > 0 and math.isfinite(ratio)):
        raise InputError("target_margin_ratio", f"must be > 0, got {typed(ratio)}")
    scope = "cross" if any(s.margin_mode == "cross" for s in specs) else "account"
    if single_pool(specs, venue):
        pools = [venue.settle]
    else:
        pools = list(
            dict.fromkeys(settle_of(s, venue) for s in specs if scope == "account" or s.margin_mode == "cross")
        )
    found: list[float] = []
    for pool in pools:
        gap, active, linear, dips = _gap_function(venue, specs, wallet, scope, betas, symbols, 1.0 / ratio, pool)
        if not active:
            continue
        move = _solve_move(gap, _move_limit(specs, betas, down), linear=linear, dips=dips)
        if move is not None:
            found.append(move)
    return min(found, key=abs) if found else None


def max_add_for_distance(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet: Wallet,
    index: int,
    distance: float,
    price: float | None = None,
) -> tuple[float, str]:
    """The most size that can be added (at ``price``, default mark) before the liquidation price
    comes within ``distance`` (fraction of mark) of the mark. Returns (size, what limits it:
    ``"distance"``, ``"bracket"`` (max leverage) or ``"already within"``). The size is one
    :func:`add_size` allows: the search stays within :func:`largest_add`."""
    spec = _check_index(specs, index)

    def dist(size: float) -> float:
        p = add_size(venue, specs, wallet, index, size, price, with_max=False).after.positions[index]
        d = p.distance_to_liquidation
        return math.inf if d is None else d

    if dist(0.0) < distance:
        return 0.0, "already within"
    lev = _leverage_of(spec)
    at = spec.mark_price if price is None else price
    cap = None if lev is None else largest_add(venue, specs, wallet, index, lev, at)
    return search_add(dist, distance, cap, spec.size)


def search_add(dist: Callable[[float], float], distance: float, cap: float | None, size: float) -> tuple[float, str]:
    """The search of :func:`max_add_for_distance` once the add-size path's largest allowed add
    ``cap`` is known (None: no bracket limit; then up to a million times the position's ``size``):
    ``dist(x)`` is the liquidation distance after adding x. Shared by every account model."""
    if dist(0.0) < distance:
        return 0.0, "already within"
    upper = cap if cap is not None else size * 1e6
    lo = 0.0
    hi = None
    for i in range(1, 65):
        x = upper * (2.0 ** (i - 64))  # geometric: fine near zero, reaches the cap
        if dist(x) < distance:
            hi = x
            break
        lo = x
    if hi is None:
        return (upper, "bracket") if cap is not None else (upper, "distance")
    for _ in range(200):
        mid = (lo + hi) / 2
        if dist(mid) >= distance:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return lo, "distance"


# ---------------------------------------------------------------------------- ladder, partial


def ladder(risk: PortfolioRisk) -> list[LadderRung]:
    """Every position's liquidation and bankruptcy prices as distances from its mark, nearest
    liquidation first (positions with none last)."""
    rungs = []
    for i, p in enumerate(risk.positions):
        mark = p.spec.mark_price
        bp = p.bankruptcy_price
        rungs.append(
            LadderRung(
                index=i,
                symbol=p.spec.symbol,
                side=p.spec.side,
                margin_mode=p.spec.margin_mode,
                mark_price=mark,
                liquidation_price=p.liquidation_price,
                bankruptcy_price=bp,
                distance_to_liquidation=p.distance_to_liquidation,
                distance_to_bankruptcy=None if bp is None else p.spec.sign * (mark - bp) / mark,
            )
        )
    rungs.sort(key=lambda r: (r.distance_to_liquidation is None, r.distance_to_liquidation or 0.0))
    return rungs


def partial_liquidation(venue: Venue, specs: Sequence[PositionSpec], wallet: Wallet, index: int) -> PartialPreview:
    """What the venue's published step-wise rule would close first at the liquidation price, and
    what remains. A model of the published rules, not the venue's engine."""
    spec = _check_index(specs, index)
    model, description = venue.partial_liquidation_rule(spec.margin_mode)
    base = assess(venue, specs, wallet)
    lp = base.positions[index].liquidation_price
    if lp is None:
        return PartialPreview(model, description, None, [], False)
    current = [with_mark(s, lp) if s.symbol == spec.symbol else s for s in specs]
    pool = settle_of(spec, venue)
    wallets = (
        None if not isinstance(wallet, Mapping) and single_pool(specs, venue) else pool_wallets(venue, specs, wallet)
    )
    wallet_now: Wallet = wallet if wallets is None else wallets
    steps: list[PartialStep] = []
    size = spec.size
    for _ in range(64):
        p = assess(venue, current, wallet_now).positions[index]
        target = venue.partial_target_size(p, lp) if model != "full" else 0.0
        if not 0 < target < size:  # the rule does not reduce this position: it is closed
            steps.append(PartialStep(size, 0.0, None, None))
            return PartialPreview(model, description, lp, steps, True)
        closed = size - target
        cur = current[index]
        # Closing at the liquidation price realises the closed part's PnL (already counted in the
        # margin balance) and pays the liquidation fee; the rest of the margin stays.
        if cur.inverse:  # in coin: PnL s*Q*(1/EP - 1/LP), fee f*Q/LP
            realised = cur.sign * closed * (1.0 / cur.entry_price - 1.0 / lp) - closed / lp * cur.fee_rate
        else:
            realised = cur.sign * closed * (lp - cur.entry_price) - closed * lp * cur.fee_rate
        if cur.margin_mode == "isolated":
            margin = (cur.isolated_margin or 0.0) + realised
            if margin <= 0:
                steps.append(PartialStep(size, 0.0, None, None))
                return PartialPreview(model, description, lp, steps, True)
            reduced = resized(cur, target, isolated_margin=margin)
        else:
            if isinstance(wallet_now, Mapping):
                wallet_now = {**wallet_now, pool: wallet_now.get(pool, 0.0) + realised}
            else:
                wallet_now += realised
            reduced = resized(cur, target)
        current = _replace(current, index, reduced)
        after = assess(venue, current, wallet_now)
        ratio = (
            after.positions[index].margin_ratio
            if cur.margin_mode == "isolated"
            else _pool_of(after, venue, cur).cross_margin_ratio
        )
        steps.append(PartialStep(closed, target, after.positions[index].tier.index, ratio))
        size = target
        if ratio is not None and ratio < 1.0:
            return PartialPreview(model, description, lp, steps, False)
    return PartialPreview(model, description, lp, steps, False)
