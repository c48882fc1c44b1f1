"""Solving ``equity(P) = requirement(P)`` for the mark price P.

Every venue in liqwatch triggers liquidation when the collateral behind a position (or behind the
whole cross account) falls to the venue's maintenance requirement, both evaluated at the mark price::

    h(P) = C + sum_legs [ s * Q * (P - EP) - req_leg(P) ] = 0

``C`` is the collateral that does not move with this symbol's price: the isolated margin, or for a
cross account the wallet balance plus the other symbols' unrealized PnL minus their requirements
(Binance's ``WB - TMM1 + UPNL1``). A *leg* is one position in this symbol (hedge-mode long and short
legs of one symbol share a cross liquidation price, as Binance documents). Each leg's requirement is
either a constant (Bybit isolated fixes MM at the entry price) or ``Q*P*(MMR_k + f) - cum_k`` with the
bracket k of the leg's value at P. h is piecewise linear in P, so the exact solution is found per
bracket segment, which is what Binance documents ("if the bracket at the liquidation price differs,
recompute with that bracket"); no iteration to a tolerance is involved. See docs/venues/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from liqwatch.core.tiers import TierTable


@dataclass(slots=True)
class Leg:
    sign: int
    qty: float
    entry: float
    table: TierTable
    fee_rate: float = 0.0
    fixed_requirement: float | None = None
    """A requirement that does not move with price (Bybit isolated: MM at entry + fee to close)."""
    tier_qty: float | None = None
    """Size whose value picks the bracket, when it is not the leg's own (OKX and Bitget cross mode
    put the long and short legs of one symbol in the bracket of their combined size)."""

    def bracket_value(self, price: float) -> float:
        q = self.qty if self.tier_qty is None else self.tier_qty
        return q * price if self.table.basis == "notional" else q


def requirement(leg: Leg, price: float) -> float:
    """The leg's maintenance requirement at ``price``: MM of its bracket plus liquidation fee."""
    if leg.fixed_requirement is not None:
        return leg.fixed_requirement
    table = leg.table
    tier = table.tiers[table.position(leg.bracket_value(price))]
    return leg.qty * price * (tier.mmr + leg.fee_rate) - tier.maint_amount


def _coefficients(collateral: float, legs: Sequence[Leg], probe: float, k: float) -> tuple[float, float]:
    """h(P) = a + b*P on the segment that contains ``probe`` (requirement scaled by ``k``)."""
    a = collateral
    b = 0.0
    for leg in legs:
        a -= leg.sign * leg.qty * leg.entry
        b += leg.sign * leg.qty
        if leg.fixed_requirement is not None:
            a -= k * leg.fixed_requirement
            continue
        table = leg.table
        tier = table.tiers[table.position(leg.bracket_value(probe))]
        a += k * tier.maint_amount
        b -= k * leg.qty * (tier.mmr + leg.fee_rate)
    return a, b


def _breakpoints(legs: Sequence[Leg]) -> list[float]:
    points: set[float] = set()
    for leg in legs:
        if leg.fixed_requirement is not None or leg.table.basis != "notional":
            continue
        q = leg.qty if leg.tier_qty is None else leg.tier_qty
        for tier in leg.table.tiers[1:]:
            if tier.floor > 0:
                points.add(tier.floor / q)
    return sorted(points)


def _scan(collateral: float, legs: Sequence[Leg], mark: float, k: float = 1.0) -> float | None:
    """Exact roots on every bracket segment (and at jumps of a discontinuous table); the root
    nearest to the mark wins. Roots at P <= 0 do not exist as prices."""
    points = _breakpoints(legs)
    edges = [0.0, *points, float("inf")]
    candidates: list[float] = []
    prev_right: float | None = None  # h at the left end of the current segment, from the left side
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        probe = (lo + hi) / 2 if hi != float("inf") else (lo * 2 if lo > 0 else 1.0)
        a, b = _coefficients(collateral, legs, probe, k)
        if b != 0.0:
            root = -a / b
            if lo < root <= hi or (root == lo and lo > 0):
                candidates.append(root)
        if lo > 0 and prev_right is not None:
            here = a + b * lo
            if (prev_right > 0 > here) or (prev_right < 0 < here):
                candidates.append(lo)  # h jumps across zero at a bracket boundary
        if hi != float("inf"):
            prev_right = a + b * hi
    if not candidates:
        return None
    return min(candidates, key=lambda p: abs(p - mark))


def solve_price(collateral: float, legs: Sequence[Leg], mark: float, k: float = 1.0) -> float | None:
    """The mark price at which the legs' equity equals their maintenance requirement (times ``k``:
    ``k = 1/r`` finds where the margin ratio is ``r``; ``collateral`` must then carry the other
    positions' requirements scaled by ``k`` too).

    Returns None where no positive price does it (e.g. a long whose collateral covers a fall to
    zero, or a perfectly hedged pair with no requirement growth).
    """
    if len(legs) == 1 and legs[0].tier_qty is None:
        leg = legs[0]
        s, q = leg.sign, leg.qty
        if leg.fixed_requirement is not None:
            price = leg.entry - s * (collateral - k * leg.fixed_requirement) / q
            return price if price > 0 else None
        table = leg.table
        if table.basis != "notional" or len(table.tiers) == 1:
            tier = table.tiers[table.position(q if table.basis != "notional" else 0.0)]
            denom = q * (k * (tier.mmr + leg.fee_rate) - s)
            if denom == 0.0:  # a long whose MMR + fee is 100%: requirement moves with equity
                return None
            price = (collateral - s * q * leg.entry + k * tier.maint_amount) / denom
            return price if price > 0 else None
        # Walk the brackets: solve in the bracket at the mark; if the root lies in another bracket,
        # solve there (Binance's documented re-check). For a single leg h is monotone, so this ends
        # in one or two steps; a revisit (a jump of a table without maintenance amounts) falls back
        # to the exact segment scan.
        tiers = table.tiers
        pos = table.position(q * mark)
        seen = 0
        base = collateral - s * q * leg.entry
        fee = leg.fee_rate
        for _ in range(len(tiers) + 1):
            tier = tiers[pos]
            denom = q * (k * (tier.mmr + fee) - s)
            if denom == 0.0:
                break
            price = (base + k * tier.maint_amount) / denom
            new = table.position(q * price) if price > 0 else 0
            if new == pos:
                return price if price > 0 else None
            seen |= 1 << pos
            if seen >> new & 1:
                break
            pos = new
    return _scan(collateral, legs, mark, k)


def bankruptcy_price(collateral: float, legs: Sequence[Leg]) -> float | None:
    """The price at which the legs' equity is zero (no requirement, no fee)."""
    num = -collateral
    den = 0.0
    for leg in legs:
        num += leg.sign * leg.qty * leg.entry
        den += leg.sign * leg.qty
    if den == 0.0:
        return None
    price = num / den
    return price if price > 0 else None
