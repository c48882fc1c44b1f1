"""The common move of a multi-collateral account, exactly: the smallest move of every mark (or a
chosen set of symbols', each times its beta), the collateral on a moved position's base moving with
its mark, at which the account margin ratio reaches a target (1.0: the whole account liquidates).

Pure: no I/O. With every mark P_i = P_i0 (1 + b_i m) and each co-moving asset's price
p_U = p_U0 (1 + b_U m) (b_U the beta of the first moved position on its base, as
``liqwatch.collateral_calc.moved_account`` moves it), every part of

    h(m) = EffEq(m) - (trigger / R) x MM(m)          (ratio >= R  <=>  h <= 0)

is linear in the move m within one piece: a position's requirement within one bracket (its value
q P_i crosses a floor at a known m); a settle asset's equity e_S(m) = e_S0 + sum s_i Q_i P_i0 b_i m
within one haircut tier and one sign (it crosses zero or a tier floor at a known m); a co-moving
asset's value within one value tier (quantity tiers and flat ratios are proportional to its
price). So, as :func:`liqwatch.core.collateral.assess_collateral` walks one symbol's pieces, this
walks the account's: every breakpoint in the direction, in order, each piece's line solved in
closed form (no iteration to a tolerance), a jump of h across zero at a bracket floor (a table
without maintenance amounts) counted as a crossing there. Only the part whose piece changes at a
breakpoint is re-read, so a walk over many breakpoints costs one pass; the line of the segment that
crosses is re-summed from every part before it is solved.

Not linear, refused in one line: an asset that is both a settle asset (its equity moves with the
PnL) and the base of a moved position (its price moves): value = equity x price is quadratic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from math import fsum, isfinite

from liqwatch.core.collateral import (
    AccountMode,
    CollateralAsset,
    _piece,
    _Setup,
    collateral_value,
    convention,
)
from liqwatch.core.engine import check_covered
from liqwatch.core.errors import InputError
from liqwatch.core.model import PositionSpec
from liqwatch.core.solver import Leg
from liqwatch.core.venues import Venue


class NonLinearMove(InputError):
    """An asset is both a settle asset and a moved position's base: the move is not solved."""


_Line = tuple[float, float]
"""(a, c): a part's contribution a + c m to h on the piece that holds the probe move."""
_Read = Callable[[float], _Line]


def common_move(
    venue: Venue,
    specs: Sequence[PositionSpec],
    collateral: Sequence[CollateralAsset],
    ratio: float,
    mode: AccountMode = "multi_assets",
    *,
    down: bool,
    limit: float,
    betas: Mapping[str, float] | None = None,
    symbols: set[str] | None = None,
    field: str = "shock",
) -> float | None:
    """The move (a fraction of each mark, before beta; negative down) nearest zero, at most
    ``limit`` in size, at which the account margin ratio reaches ``ratio`` (no effective equity
    left counts as reached): 0.0 when it is there now, None when no move within ``limit`` (or
    before a moved mark reaches zero) gets there. ``field`` names the flag in a refusal."""
    if not (isfinite(ratio) and ratio > 0.0):
        raise InputError("target_margin_ratio", f"must be > 0, got {ratio!r}")
    conv = convention(venue, mode)
    setup = _Setup(venue, specs, collateral, conv.trigger / ratio)
    k = setup.trigger
    d = -1.0 if down else 1.0
    n = len(setup.specs)
    beta = [0.0] * n
    for i, spec in enumerate(setup.specs):
        if symbols is None or spec.symbol in symbols:
            beta[i] = betas.get(spec.symbol, 1.0) if betas else 1.0
    # the furthest move before a moved mark reaches zero
    reach = abs(limit)
    for b in beta:
        if b * d < 0.0:
            reach = min(reach, (1.0 - 1e-9) / abs(b))
    factors: dict[str, float] = {}  # each base's beta: its first moved position's
    for i, spec in enumerate(setup.specs):
        if symbols is None or spec.symbol in symbols:
            factors.setdefault(setup.unders[i], beta[i])
    settles = set(setup.settles)
    slope_of: dict[str, float] = dict.fromkeys(settles, 0.0)
    for i, leg in enumerate(setup.legs):
        slope_of[setup.settles[i]] += leg.sign * leg.qty * setup.specs[i].mark_price * beta[i]

    constant = 0.0
    reads: list[_Read] = []  # per part: its line on the piece that holds a probe move
    events: list[tuple[float, int]] = []  # (t = |m|, part) where the part's piece changes

    def add_event(m: float, part: int) -> None:
        t = m * d
        if 0.0 < t < reach and isfinite(t):
            events.append((t, part))

    for name, a in setup.assets.items():
        b_u = factors.get(name, 0.0)
        e0 = setup.equity[name]
        p = a.price
        if b_u != 0.0 and name in settles:
            raise NonLinearMove(
                field,
                f"{name} is both a settle asset and the base of a moved position: its value is not linear in "
                "the move, which liqwatch does not solve; move the other markets only (--symbol)",
            )
        if name in settles and slope_of[name] != 0.0:
            slope = slope_of[name]
            part = len(reads)

            def settle_line(m: float, a: CollateralAsset = a, e0: float = e0, slope: float = slope) -> _Line:
                rate, cum_q, cum_v = _piece(a, e0 + slope * m, a.price)
                return rate * e0 * a.price - cum_q * a.price - cum_v, rate * slope * a.price

            reads.append(settle_line)
            add_event(-e0 / slope, part)
            if len(a.floors) > 1:
                scale = 1.0 / p if a.tier_basis == "value" else 1.0
                for floor in a.floors[1:]:
                    add_event((floor * scale - e0) / slope, part)
        elif b_u != 0.0:
            part = len(reads)

            def under_line(m: float, a: CollateralAsset = a, e0: float = e0, b_u: float = b_u) -> _Line:
                p0 = a.price
                rate, cum_q, cum_v = _piece(a, e0, p0 * (1.0 + b_u * m))
                unit = (rate * e0 - cum_q) * p0
                return unit - cum_v, unit * b_u

            reads.append(under_line)
            if e0 > 0.0 and a.value_basis:
                for floor in a.floors[1:]:
                    add_event((floor / (e0 * p) - 1.0) / b_u, part)
        else:
            constant += collateral_value(a, e0, p)
    for i, leg in enumerate(setup.legs):
        mark = setup.specs[i].mark_price
        b = beta[i]
        conv_s = setup.conv[setup.settles[i]]
        table = leg.table
        part = len(reads)

        def leg_line(m: float, leg: Leg = leg, mark: float = mark, b: float = b, kc: float = k * conv_s) -> _Line:
            tiers = leg.table.tiers
            tier = tiers[leg.table.position(leg.bracket_value(mark * (1.0 + b * m)))]
            per = leg.qty * mark * (tier.mmr + leg.fee_rate)
            return -kc * (per - tier.maint_amount), -kc * per * b

        reads.append(leg_line)
        if b != 0.0 and table.basis == "notional" and len(table.tiers) > 1:
            q = leg.qty if leg.tier_qty is None else leg.tier_qty
            for tier in table.tiers[1:]:
                if tier.floor > 0.0:
                    add_event((tier.floor / (q * mark) - 1.0) / b, part)

    def fresh(m: float) -> _Line:
        lines = [read(m) for read in reads]
        return constant + fsum(x[0] for x in lines), fsum(x[1] for x in lines)

    h0, _ = fresh(0.0)
    if h0 <= 0.0:  # h(0): at or past the ratio now
        return 0.0
    events.sort()
    bounds: list[float] = []
    changed: list[list[int]] = []
    for t, part in events:
        if bounds and bounds[-1] == t:
            changed[-1].append(part)
        else:
            bounds.append(t)
            changed.append([part])
    bounds.append(reach)
    changed.append([])
    lo = 0.0
    probe = d * bounds[0] / 2.0
    lines: list[_Line] = [read(probe) for read in reads]
    total_a = constant + fsum(x[0] for x in lines)
    total_c = fsum(x[1] for x in lines)
    edge: float | None = None  # h at lo from the segment below it
    for j, hi in enumerate(bounds):
        if hi > lo:
            if edge is not None and edge > 0.0 >= total_a + total_c * d * lo:
                fa, fc = fresh(d * (lo + hi) / 2.0)
                if fa + fc * d * lo <= 0.0:  # a jump across zero at a bracket floor
                    return _checked(venue, setup, beta, d * lo)
            if total_c != 0.0:
                t = -total_a / total_c * d
                if lo <= t <= hi:
                    fa, fc = fresh(d * (lo + hi) / 2.0)
                    if fc != 0.0:
                        t = -fa / fc * d
                        if lo <= t <= hi:
                            return _checked(venue, setup, beta, d * t)
            edge = total_a + total_c * d * hi
        if j + 1 == len(bounds):
            break
        nxt = bounds[j + 1]
        probe = d * (hi + nxt) / 2.0
        for part in changed[j]:
            old = lines[part]
            new = reads[part](probe)
            lines[part] = new
            total_a += new[0] - old[0]
            total_c += new[1] - old[1]
        lo = hi
    return None


def _checked(venue: Venue, setup: _Setup, beta: list[float], move: float) -> float:
    """``move``, refused where it takes a leg past the end of an incomplete bracket table."""
    for i, spec in enumerate(setup.specs):
        if beta[i] != 0.0 and not spec.tiers.complete:
            price = spec.mark_price * (1.0 + beta[i] * move)
            check_covered(spec, venue, setup.legs[i], price, "at the account's move")
    return move


__all__ = ["NonLinearMove", "common_move"]
